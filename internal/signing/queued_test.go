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

package signing

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// objectAnnotator is an Annotator with a resourceVersion per object, as the
// API server has, that reports every write it accepts.
type objectAnnotator struct {
	mu     sync.Mutex
	rv     map[types.UID]int
	writes map[types.UID][]map[string]string
	wrote  chan string
}

func newObjectAnnotator() *objectAnnotator {
	return &objectAnnotator{rv: map[types.UID]int{}, writes: map[types.UID][]map[string]string{}, wrote: make(chan string, 64)}
}

func (a *objectAnnotator) Annotate(_ context.Context, obj client.Object, set map[string]string, remove ...string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	uid := obj.GetUID()
	if obj.GetResourceVersion() != strconv.Itoa(a.rv[uid]) {
		return apierrors.NewConflict(schema.GroupResource{Resource: "certificaterequests"}, obj.GetName(), errors.New("stale"))
	}
	applyAnnotations(obj, set, remove)
	a.rv[uid]++
	obj.SetResourceVersion(strconv.Itoa(a.rv[uid]))
	a.writes[uid] = append(a.writes[uid], maps.Clone(set))
	a.wrote <- obj.GetName()
	return nil
}

// AnnotateOwn writes whatever the object's resourceVersion, as the real
// Annotator's version-less patch does.
func (a *objectAnnotator) AnnotateOwn(ctx context.Context, obj client.Object, set map[string]string) error {
	a.mu.Lock()
	obj.SetResourceVersion(strconv.Itoa(a.rv[obj.GetUID()]))
	a.mu.Unlock()
	return a.Annotate(ctx, obj, set)
}

func (a *objectAnnotator) writesOf(obj client.Object) []map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.writes[obj.GetUID()]
}

// queuedEnv is a signer with one Atlas slot, its account loaded, and an
// Annotator that tells objects apart.
func queuedEnv(t *testing.T) (*env, *objectAnnotator) {
	t.Helper()
	e := newEnv(t, fake.Options{})
	ann := newObjectAnnotator()
	e.signer.Annotator = ann
	e.signer.Limiter = NewLimiter(1, 1, e.clock)
	warm := e.request("warm.example.com", false)
	warm.Object.SetResourceVersion("0")
	if _, err := e.signer.Sign(context.Background(), warm, e.iss); err != nil {
		t.Fatal(err)
	}
	<-ann.wrote
	e.fake.Reset()
	return e, ann
}

// queuedPair signs two requests with one slot: the first holds the slot
// with its POST held at the fake, and the second gets a place in line,
// writes its intent and returns as pending. Then between is called, the
// held calls go on, and once the second request is woken for its slot
// queuedPair signs it again and returns it and its bundle.
func queuedPair(t *testing.T, e *env, ann *objectAnnotator, between func()) (Request, Bundle) {
	t.Helper()
	g := holdCalls(t, e.fake)
	woken := wokenRequests(e.signer)
	first, second := e.request("first.example.com", false), e.request("second.example.com", false)
	first.Object.SetResourceVersion("0")
	second.Object.SetResourceVersion("0")

	errs := make(chan error, 1)
	go func() { _, err := e.signer.Sign(context.Background(), first, e.iss); errs <- err }()
	if name := <-ann.wrote; name != "first.example.com" {
		t.Fatalf("first write is on %s, want the slot holder's intent", name)
	}
	if op := <-g.entered; op != fake.OpRequestCertificate {
		t.Fatalf("held call = %s, want the first POST", op)
	}
	// The first request's POST is still held: the second has no slot.
	_, err := e.signer.Sign(context.Background(), second, e.iss)
	var pe signer.PendingError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "waiting for an Atlas slot") {
		t.Fatalf("Sign while the slot is held = %v, want pending for a slot", err)
	}
	if name := <-ann.wrote; name != "second.example.com" {
		t.Fatalf("write while the slot is held is on %s, want the queued request's intent", name)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 1 {
		t.Fatalf("POSTs while the slot is held = %d, want 1", n)
	}
	between()
	g.release()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if name := <-woken; name != "second.example.com" {
		t.Fatalf("woken = %s, want the request in line", name)
	}
	got, err := e.signer.Sign(context.Background(), second, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	return second, got
}

// behindHeldSlot takes the signer's only slot, as another request would,
// and returns a new request that has to queue for it, and the release of
// the slot.
func behindHeldSlot(t *testing.T, e *env) (Request, func()) {
	t.Helper()
	hold := mustSlot(t, e.signer.Limiter, e.iss.shareKey(), "holder", &wakes{}, nil)
	req := e.request("queued.example.com", false)
	req.Object.SetResourceVersion("0")
	return req, hold
}

// TestQueuedRequestWritesItsIntentBeforeItsSlot: while one request holds
// the only slot in Atlas, the next one writes its intent as it queues, and
// once it has the slot it submits with that intent, writing nothing more
// and looking nothing up.
func TestQueuedRequestWritesItsIntentBeforeItsSlot(t *testing.T) {
	e, ann := queuedEnv(t)
	second, got := queuedPair(t, e, ann, func() {})
	writes := ann.writesOf(second.Object)
	if len(writes) != 1 || writes[0][v1alpha1.IntentAnnotation] == "" {
		t.Fatalf("writes on the queued request = %v, want its intent once", writes)
	}
	intent, err := ParseIntent(writes[0][v1alpha1.IntentAnnotation])
	if err != nil {
		t.Fatal(err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 2 {
		t.Errorf("POSTs = %d, want 2", n)
	}
	if n := e.calls(fake.OpStatsIssued); n != 0 {
		t.Errorf("lookups = %d, want none", n)
	}
	if nb := leafNotBefore(t, got); !nb.Equal(intent.NotBefore) {
		t.Errorf("certificate not_before = %s, want the intent's %s", nb, intent.NotBefore)
	}
}

// TestQueuedIntentTooOldIsWrittenAgain: a request that queued longer than
// its intent may stand for writes a new intent once it has the slot, and
// submits with the new not_before.
func TestQueuedIntentTooOldIsWrittenAgain(t *testing.T) {
	e, ann := queuedEnv(t)
	second, got := queuedPair(t, e, ann, func() {
		e.clock.SetTime(e.clock.Now().Add(e.signer.LookupGrace/8 + 2*time.Second))
	})
	writes := ann.writesOf(second.Object)
	if len(writes) != 2 {
		t.Fatalf("writes on the queued request = %v, want the intent written twice", writes)
	}
	old, err := ParseIntent(writes[0][v1alpha1.IntentAnnotation])
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := ParseIntent(writes[1][v1alpha1.IntentAnnotation])
	if err != nil {
		t.Fatal(err)
	}
	if !fresh.NotBefore.After(old.NotBefore) {
		t.Fatalf("second intent %s is not newer than the first %s", fresh, old)
	}
	if nb := leafNotBefore(t, got); !nb.Equal(fresh.NotBefore) {
		t.Errorf("certificate not_before = %s, want the new intent's %s", nb, fresh.NotBefore)
	}
	if n := e.calls(fake.OpStatsIssued); n != 0 {
		t.Errorf("lookups = %d, want none", n)
	}
}

// TestQueuedIntentAfterALostPlaceNeedsNoLookup: a request that wrote its
// intent in line and then lost its place (it did not come for the slot
// granted to it) is submitted at once when it comes back, without the
// lookup and its grace; a new process, which cannot know the intent was
// never submitted, looks it up.
func TestQueuedIntentAfterALostPlaceNeedsNoLookup(t *testing.T) {
	e, ann := queuedEnv(t)
	req, hold := behindHeldSlot(t, e)
	if _, err := e.signer.Sign(context.Background(), req, e.iss); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("Sign behind the held slot = %v, want pending", err)
	}
	<-ann.wrote
	hold()
	if req.Object.GetAnnotations()[v1alpha1.IntentAnnotation] == "" {
		t.Fatal("no intent on the request after its wait")
	}
	e.clock.SetTime(e.clock.Now().Add(grantTimeout))

	restarted := *e
	restarted.newSigner()
	restarted.signer.Annotator = ann
	if _, err := restarted.signer.Sign(context.Background(), req, e.iss); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("a new process: Sign = %v, want pending within the lookup grace", err)
	}
	if n := e.calls(fake.OpStatsIssued); n == 0 {
		t.Error("a new process submitted without looking the intent up")
	}

	e.fake.Reset()
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatalf("the process that wrote the intent: Sign = %v, want the certificate at once", err)
	}
	if n := e.calls(fake.OpStatsIssued); n != 0 {
		t.Errorf("lookups = %d, want none", n)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 1 {
		t.Errorf("POSTs = %d, want 1", n)
	}
}

// TestQueuedIntentOnlyForASubmission: a queued request that follows up a
// serial, or an intent this process did not write, writes nothing while it
// queues.
func TestQueuedIntentOnlyForASubmission(t *testing.T) {
	for _, tt := range []struct {
		name string
		ann  map[string]string
	}{
		{"serial", map[string]string{v1alpha1.SerialAnnotation: "1234"}},
		{"foreign intent", map[string]string{v1alpha1.IntentAnnotation: "1/abc"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, ann := queuedEnv(t)
			req, hold := behindHeldSlot(t, e)
			req.Object.SetAnnotations(tt.ann)
			q := e.signer.intentWhileQueued(context.Background(), req, e.iss, mustClient(t, e))
			hold()
			if q != nil || len(ann.writesOf(req.Object)) != 0 {
				t.Fatalf("intentWhileQueued = %v with writes %v, want nothing", q, ann.writesOf(req.Object))
			}
		})
	}
}

func TestQueuedIntentMaxAge(t *testing.T) {
	policy := func(skew int64) *atlas.ValidationPolicy {
		return &atlas.ValidationPolicy{Validity: &atlas.ValidityPolicy{NotBeforeNegativeSkew: skew}}
	}
	for _, tt := range []struct {
		name  string
		p     *atlas.ValidationPolicy
		grace time.Duration
		want  time.Duration
	}{
		{"grace bounds", policy(600), 2 * time.Minute, 15 * time.Second},
		{"skew bounds", policy(10), 2 * time.Minute, 5 * time.Second},
		{"no skew", policy(0), 2 * time.Minute, 0},
		{"no validity", &atlas.ValidationPolicy{}, 2 * time.Minute, 0},
		{"no policy", nil, 2 * time.Minute, 0},
	} {
		if got := queuedIntentMaxAge(tt.p, tt.grace); got != tt.want {
			t.Errorf("%s: queuedIntentMaxAge = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func mustClient(t *testing.T, e *env) *atlas.Client {
	t.Helper()
	cl, _, err := e.signer.Loader.Load(context.Background(), e.iss.Secret, e.iss.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// leafNotBefore is the not_before of a bundle's leaf.
func leafNotBefore(t *testing.T, b Bundle) time.Time {
	t.Helper()
	block, _ := pem.Decode(b.ChainPEM)
	if block == nil {
		t.Fatal("no certificate in the chain")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.NotBefore
}
