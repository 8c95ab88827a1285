/*
Copyright 2026 The atlas-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// printedColumns is the row `kubectl get` prints for an issuer, column name
// to cell, as the API server renders it from the CRD's printer columns
// (priority-1 columns, shown by -o wide, included).
func printedColumns(ctx context.Context, g Gomega, iss issuerapi.Issuer) map[string]string {
	path := "/apis/" + v1alpha1.GroupVersion.String()
	if iss.GetNamespace() != "" {
		path += "/namespaces/" + iss.GetNamespace()
	}
	resource := "atlasissuers"
	if _, cluster := iss.(*v1alpha1.AtlasClusterIssuer); cluster {
		resource = "atlasclusterissuers"
	}
	raw, err := clientset.CoreV1().RESTClient().Get().AbsPath(path, resource, iss.GetName()).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	var table metav1.Table
	g.Expect(json.Unmarshal(raw, &table)).To(Succeed())
	g.Expect(table.Rows).To(HaveLen(1))
	cells := map[string]string{}
	for i, col := range table.ColumnDefinitions {
		cells[col.Name] = fmt.Sprint(table.Rows[0].Cells[i])
	}
	return cells
}

// expectPrintedReason waits until kubectl get's Reason column shows want.
func expectPrintedReason(ctx context.Context, iss issuerapi.Issuer, timeout time.Duration, want string) map[string]string {
	var cells map[string]string
	Eventually(func(g Gomega) {
		cells = printedColumns(ctx, g, iss)
		g.Expect(cells).To(HaveKeyWithValue("Reason", want))
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(polling).Should(Succeed())
	return cells
}
