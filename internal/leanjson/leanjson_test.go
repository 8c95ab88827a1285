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

package leanjson

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

func testScheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := cmapi.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

var crGVK = cmapi.SchemeGroupVersion.WithKind("CertificateRequest")

func TestLeadingKind(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want schema.GroupVersionKind
		ok   bool
	}{
		{"apiVersion first, as for custom resources", `{"apiVersion":"cert-manager.io/v1","kind":"CertificateRequest","metadata":{}}`, crGVK, true},
		{"kind first, as for built-in types", `{"kind":"Status","apiVersion":"v1","status":"Failure"}`, schema.GroupVersionKind{Version: "v1", Kind: "Status"}, true},
		{"white space", " {\n  \"kind\" : \"Status\",\n  \"apiVersion\" : \"v1\"\n}", schema.GroupVersionKind{Version: "v1", Kind: "Status"}, true},
		{"only one of the two", `{"apiVersion":"v1","items":[],"kind":"List"}`, schema.GroupVersionKind{}, false},
		{"the same key twice", `{"kind":"A","kind":"B"}`, schema.GroupVersionKind{}, false},
		{"an escape", `{"kind":"Cert\u0069ficateRequest","apiVersion":"cert-manager.io/v1"}`, schema.GroupVersionKind{}, false},
		{"a value that is not a string", `{"kind":1,"apiVersion":"v1"}`, schema.GroupVersionKind{}, false},
		{"empty kind", `{"kind":"","apiVersion":"v1"}`, schema.GroupVersionKind{}, false},
		{"a bad group version", `{"kind":"X","apiVersion":"a/b/c"}`, schema.GroupVersionKind{}, false},
		{"a watch envelope", `{"type":"ADDED","object":{}}`, schema.GroupVersionKind{}, false},
		{"not an object", `["kind","apiVersion"]`, schema.GroupVersionKind{}, false},
		{"cut short", `{"kind":"Stat`, schema.GroupVersionKind{}, false},
		{"empty", ``, schema.GroupVersionKind{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := LeadingKind([]byte(tc.in))
			if ok != tc.ok || got != tc.want {
				t.Errorf("LeadingKind(%s) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// request is a CertificateRequest as the API server writes it: keys in
// the order of an unstructured object's JSON (sorted), managedFields
// included.
const request = `{"apiVersion":"cert-manager.io/v1","kind":"CertificateRequest","metadata":{"annotations":{"cert-manager.io/certificate-name":"www"},"creationTimestamp":"2026-11-27T17:46:14Z","generation":1,"managedFields":[{"apiVersion":"cert-manager.io/v1","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:request":{}}},"manager":"cert-manager","operation":"Update","time":"2026-11-27T17:46:14Z"}],"name":"www-1","namespace":"demo","ownerReferences":[{"apiVersion":"cert-manager.io/v1","blockOwnerDeletion":true,"controller":true,"kind":"Certificate","name":"www","uid":"7633be3c"}],"resourceVersion":"254","uid":"b5f03908"},"spec":{"duration":"2160h0m0s","extra":{"k":["v"]},"groups":["system:authenticated"],"issuerRef":{"group":"hvca.globalsign.com","kind":"AtlasIssuer","name":"atlas"},"request":"LS0tLS1CRUdJTg==","usages":["digital signature"],"username":"system:serviceaccount:cert-manager:cert-manager"},"status":{"certificate":"Y2VydA==","conditions":[{"lastTransitionTime":"2026-11-27T17:46:14Z","message":"approved","reason":"cert-manager.io","status":"True","type":"Approved"}]}}`

// apimachineryDecoder is the decoder controller-runtime gives its typed
// REST clients, less its zeroing of the target (the inputs here go into
// fresh objects).
func apimachineryDecoder(scheme *runtime.Scheme) runtime.Decoder {
	codecs := serializer.WithoutConversionCodecFactory{CodecFactory: serializer.NewCodecFactory(scheme)}
	info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	return codecs.DecoderToVersion(info.Serializer, nil)
}

func leanDecoder(scheme *runtime.Scheme, opts ...Option) runtime.Decoder {
	n := NegotiatedSerializer(scheme, opts...)
	info, _ := runtime.SerializerInfoForMediaType(n.SupportedMediaTypes(), runtime.ContentTypeJSON)
	return n.DecoderToVersion(info.Serializer, nil)
}

func TestDecodeMatchesApimachinery(t *testing.T) {
	scheme := testScheme(t)
	lean, std := leanDecoder(scheme), apimachineryDecoder(scheme)
	status := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old","reason":"Expired","code":410}`
	for _, tc := range []struct {
		name string
		data string
		into func() runtime.Object
	}{
		{"request, kind from the data", request, nil},
		{"request into a request", request, func() runtime.Object { return &cmapi.CertificateRequest{} }},
		{"status, kind from the data", status, nil},
		{"status into a status", status, func() runtime.Object { return &metav1.Status{} }},
		{"request into a status (client-go's error probe)", request, func() runtime.Object { return &metav1.Status{} }},
		{"list with the kind after the items", `{"apiVersion":"cert-manager.io/v1","items":[` + request + `],"kind":"CertificateRequestList","metadata":{"resourceVersion":"9"}}`, func() runtime.Object { return &cmapi.CertificateRequestList{} }},
		{"watch envelope", `{"type":"MODIFIED","object":` + request + `}`, func() runtime.Object { return &metav1.WatchEvent{} }},
		{"unknown kind", `{"apiVersion":"example.com/v1","kind":"Nothing"}`, nil},
		{"not JSON after the kind", `{"apiVersion":"cert-manager.io/v1","kind":"CertificateRequest","metadata":`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var intoLean, intoStd runtime.Object
			if tc.into != nil {
				intoLean, intoStd = tc.into(), tc.into()
			}
			gotLean, gvkLean, errLean := lean.Decode([]byte(tc.data), nil, intoLean)
			gotStd, gvkStd, errStd := std.Decode([]byte(tc.data), nil, intoStd)
			if (errLean == nil) != (errStd == nil) {
				t.Fatalf("errors differ: lean %v, apimachinery %v", errLean, errStd)
			}
			if errStd != nil {
				return
			}
			if !reflect.DeepEqual(gotLean, gotStd) {
				t.Errorf("objects differ:\nlean         %#v\napimachinery %#v", gotLean, gotStd)
			}
			if _, envelope := intoStd.(*metav1.WatchEvent); !envelope && !reflect.DeepEqual(gvkLean, gvkStd) {
				t.Errorf("kinds differ: lean %v, apimachinery %v", gvkLean, gvkStd)
			}
		})
	}
}

func TestDecodeEmptiesAReusedTarget(t *testing.T) {
	scheme := testScheme(t)
	into := &cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{IsCA: true}}
	into.Status.FailureTime = &metav1.Time{}
	got, _, err := leanDecoder(scheme).Decode([]byte(request), nil, into)
	if err != nil {
		t.Fatal(err)
	}
	cr := got.(*cmapi.CertificateRequest)
	if cr != into || cr.Spec.IsCA || cr.Status.FailureTime != nil || cr.Name != "www-1" {
		t.Errorf("decoded into %p (target %p): isCA %v failureTime %v name %q", cr, into, cr.Spec.IsCA, cr.Status.FailureTime, cr.Name)
	}
}

// TestWatchThroughClientGo runs a watch of requests through client-go's
// REST client with this serializer: added, bookmark and an expired-watch
// error, as the reflector gets them.
func TestWatchThroughClientGo(t *testing.T) {
	scheme := testScheme(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") != "true" {
			http.Error(w, "watch only", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", request)
		fmt.Fprint(w, `{"type":"BOOKMARK","object":{"apiVersion":"cert-manager.io/v1","kind":"CertificateRequest","metadata":{"resourceVersion":"300","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n")
		fmt.Fprint(w, `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old","reason":"Expired","code":410}}`+"\n")
	}))
	defer srv.Close()
	gv := cmapi.SchemeGroupVersion
	rc, err := rest.RESTClientFor(&rest.Config{Host: srv.URL, APIPath: "/apis", ContentConfig: rest.ContentConfig{
		GroupVersion: &gv, NegotiatedSerializer: NegotiatedSerializer(scheme), ContentType: runtime.ContentTypeJSON,
	}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := rc.Get().Resource("certificaterequests").VersionedParams(&metav1.ListOptions{Watch: true}, metav1.ParameterCodec).Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var got []watch.Event
	for ev := range w.ResultChan() {
		got = append(got, ev)
	}
	if len(got) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(got), got)
	}
	if cr, ok := got[0].Object.(*cmapi.CertificateRequest); got[0].Type != watch.Added || !ok || cr.Name != "www-1" || string(cr.Spec.Request) != "-----BEGIN" || cr.Kind != "" {
		t.Errorf("first event = %s %#v", got[0].Type, got[0].Object)
	}
	if cr, ok := got[1].Object.(*cmapi.CertificateRequest); got[1].Type != watch.Bookmark || !ok || cr.ResourceVersion != "300" {
		t.Errorf("second event = %s %#v", got[1].Type, got[1].Object)
	}
	if st, ok := got[2].Object.(*metav1.Status); got[2].Type != watch.Error || !ok || st.Code != http.StatusGone {
		t.Errorf("third event = %s %#v", got[2].Type, got[2].Object)
	}
}

// BenchmarkWatchStream decodes a watch stream of 100 request events as
// client-go does: frames, each frame's envelope, then its object.
func BenchmarkWatchStream(b *testing.B) {
	scheme := testScheme(b)
	var stream bytes.Buffer
	for range 100 {
		stream.WriteString(`{"type":"MODIFIED","object":` + request + "}\n")
	}
	for _, bc := range []struct {
		name   string
		framer runtime.Framer
		dec    runtime.Decoder
	}{
		{"apimachinery", k8sjson.Framer, apimachineryDecoder(scheme)},
		{"lean decoder", k8sjson.Framer, leanDecoder(scheme)},
		{"lean", Framer, leanDecoder(scheme)},
		{"lean without managedFields", Framer, leanDecoder(scheme, WithoutManagedFields())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				frames := streaming.NewDecoder(bc.framer.NewFrameReader(io.NopCloser(bytes.NewReader(stream.Bytes()))), bc.dec)
				for range 100 {
					var ev metav1.WatchEvent
					if _, _, err := frames.Decode(nil, &ev); err != nil {
						b.Fatal(err)
					}
					if _, err := runtime.Decode(bc.dec, ev.Object.Raw); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func TestCutManagedFields(t *testing.T) {
	mf := `"managedFields":[{"manager":"m","fieldsV1":{"f:a":{}},"time":"2026-01-01T00:00:00Z"}]`
	for _, tc := range []struct{ name, in, want string }{
		{"first of several", `{"kind":"X","metadata":{` + mf + `,"name":"n"}}`, `{"kind":"X","metadata":{"name":"n"}}`},
		{"last of several", `{"metadata":{"name":"n", ` + mf + ` },"spec":{}}`, `{"metadata":{"name":"n" },"spec":{}}`},
		{"the only one", `{"metadata":{` + mf + `}}`, `{"metadata":{}}`},
		{"none", `{"metadata":{"name":"n"},"spec":{"managedFields":[]}}`, `{"metadata":{"name":"n"},"spec":{"managedFields":[]}}`},
		{"an escaped key on the way", `{"a\"b":1,"metadata":{` + mf + `}}`, `{"a\"b":1,"metadata":{` + mf + `}}`},
		{"values of every kind before it", `{"n":-1.5e3,"t":true,"z":null,"s":"x\"}","metadata":{"l":[1,"]"],` + mf + `}}`, `{"n":-1.5e3,"t":true,"z":null,"s":"x\"}","metadata":{"l":[1,"]"]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(cutMembers([]byte(tc.in), [][]string{{"metadata", "managedFields"}})); got != tc.want {
				t.Errorf("cutMembers(%s)\n = %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

// Two members of one object, cut one after the other, leave valid JSON
// whatever their order and neighbours.
func TestCutMembers(t *testing.T) {
	paths := [][]string{{"status", "certificate"}, {"status", "ca"}}
	for _, tc := range []struct{ name, in, want string }{
		{"adjacent, first", `{"status":{"ca":"x","certificate":"y","conditions":[]}}`, `{"status":{"conditions":[]}}`},
		{"adjacent, last", `{"status":{"conditions":[],"certificate":"y","ca":"x"}}`, `{"status":{"conditions":[]}}`},
		{"the only two", `{"status":{"ca":"x","certificate":"y"}}`, `{"status":{}}`},
		{"apart", `{"status":{"ca":"x","conditions":[{"certificate":"in a condition"}],"certificate":"y"}}`, `{"status":{"conditions":[{"certificate":"in a condition"}]}}`},
		{"one of them", `{"spec":{"ca":"spec"},"status":{"certificate":"y","conditions":[]}}`, `{"spec":{"ca":"spec"},"status":{"conditions":[]}}`},
		{"neither", `{"spec":{"certificate":"spec"},"status":{"conditions":[]}}`, `{"spec":{"certificate":"spec"},"status":{"conditions":[]}}`},
		{"no status", `{"spec":{}}`, `{"spec":{}}`},
		{"status not an object", `{"status":"certificate"}`, `{"status":"certificate"}`},
		{"an escaped key on the way", `{"a\"b":1,"status":{"ca":"x"}}`, `{"a\"b":1,"status":{"ca":"x"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(cutMembers([]byte(tc.in), paths)); got != tc.want {
				t.Errorf("cutMembers(%s)\n = %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

// A serializer that leaves members out decodes everything else as
// apimachinery does.
func TestWithoutMembersDecodesTheRest(t *testing.T) {
	scheme := testScheme(t)
	withCA := strings.Replace(request, `"status":{`, `"status":{"ca":"Y2E=",`, 1)
	for _, tc := range []struct {
		name string
		opts []Option
		// cut clears on the full decoding what opts leave out, and reports
		// whether it was there to leave out.
		cut func(*cmapi.CertificateRequest) bool
	}{
		{"managedFields", []Option{WithoutManagedFields()}, func(cr *cmapi.CertificateRequest) bool {
			had := len(cr.ManagedFields) > 0
			cr.ManagedFields = nil
			return had
		}},
		{"certificate and CA", []Option{WithoutMembers("status", "certificate"), WithoutMembers("status", "ca")}, func(cr *cmapi.CertificateRequest) bool {
			had := len(cr.Status.Certificate) > 0 && len(cr.Status.CA) > 0 && len(cr.Status.Conditions) > 0
			cr.Status.Certificate, cr.Status.CA = nil, nil
			return had
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := NegotiatedSerializer(scheme, tc.opts...)
			info, _ := runtime.SerializerInfoForMediaType(n.SupportedMediaTypes(), runtime.ContentTypeJSON)
			got, err := runtime.Decode(n.DecoderToVersion(info.Serializer, nil), []byte(withCA))
			if err != nil {
				t.Fatal(err)
			}
			want, err := runtime.Decode(apimachineryDecoder(scheme), []byte(withCA))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.cut(want.(*cmapi.CertificateRequest)) {
				t.Fatal("the test request lacks what is to be left out")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%#v\nwant\n%#v", got, want)
			}
		})
	}
}
