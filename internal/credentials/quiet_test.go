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

package credentials

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// clientsetReader reads Secrets through client-go's REST client, which is
// what logs request and response bodies at verbosity 8 with the logger of
// the call's context.
type clientsetReader struct{ cs kubernetes.Interface }

func (r clientsetReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	s, err := r.cs.CoreV1().Secrets(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	s.DeepCopyInto(obj.(*corev1.Secret))
	return nil
}

func (clientsetReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	panic("not used")
}

// TestLoadLogsNoSecretData: at the most verbose log level (--zap-log-level
// 10) client-go logs every response body with the reconcile's logger; the
// Secret that Load reads must never be among them. Before the fix, its
// API secret and private key appeared in the manager's log.
func TestLoadLogsNoSecretData(t *testing.T) {
	m := newMaterial(t, now.Add(90*24*time.Hour))
	const apiSecret = "canary-api-secret-0f9e8d7c6b5a4938"
	sec := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "atlas", UID: "uid-1", ResourceVersion: "1"},
		Data: map[string][]byte{KeyAPIKey: []byte("key"), KeyAPISecret: []byte(apiSecret),
			KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/ns/secrets/atlas" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(sec)
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var logged strings.Builder
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logged.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10})
	ctx := logr.NewContext(context.Background(), logger)

	l := &Loader{Cache: NewCache(atlas.Config{}), API: clientsetReader{cs}, Clock: clocktesting.NewFakePassiveClock(now)}
	if _, _, err := l.Load(ctx, types.NamespacedName{Namespace: "ns", Name: "atlas"}, Endpoint{URL: "https://atlas.example/v2"}); err != nil {
		t.Fatal(err)
	}
	logger.V(8).Info("the context's logger still logs at verbosity 8")

	mu.Lock()
	out := logged.String()
	mu.Unlock()
	if !strings.Contains(out, "still logs") {
		t.Fatalf("the test's logger logged nothing at V(8): %q", out)
	}
	for what, s := range map[string]string{
		"API secret":            apiSecret,
		"API secret in base64":  base64.StdEncoding.EncodeToString([]byte(apiSecret))[:32],
		"private key in base64": base64.StdEncoding.EncodeToString(m.keyPEM)[40:100],
	} {
		if strings.Contains(out, s) {
			t.Errorf("the log holds the %s:\n%s", what, out)
		}
	}
}
