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

package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	cminformers "github.com/cert-manager/cert-manager/pkg/client/informers/externalversions"
	"k8s.io/client-go/tools/cache"
)

// tracker records when each object of one kind in one namespace was first
// seen Ready, from an informer: one watch for the whole run instead of a
// poll per object.
type tracker struct {
	what string
	want int

	mu     sync.Mutex
	seen   map[string]bool
	ready  map[string]time.Time
	failed map[string]string
	last   time.Time
	done   chan struct{}
	closed bool

	stop chan struct{}
}

// state is what the tracker needs of an object.
type state struct {
	name     string
	ready    bool
	failed   bool
	message  string
	isTarget bool
}

func (t *tracker) observe(s state) {
	if !s.isTarget {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seen[s.name] = true
	if s.failed {
		t.failed[s.name] = s.message
	}
	if !s.ready {
		return
	}
	if _, seen := t.ready[s.name]; seen {
		return
	}
	t.ready[s.name] = now
	if now.After(t.last) {
		t.last = now
	}
	if len(t.ready) >= t.want && !t.closed {
		t.closed = true
		close(t.done)
	}
}

// wait blocks until want objects are Ready and returns the time the last
// one was seen Ready.
func (t *tracker) wait(ctx context.Context, timeout time.Duration) (time.Time, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done:
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.last, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	msg := ""
	for name, m := range t.failed {
		msg = fmt.Sprintf("; e.g. %s failed: %s", name, m)
		break
	}
	why := fmt.Sprintf("after %s", timeout)
	if ctx.Err() != nil {
		why = "when interrupted"
	}
	return time.Time{}, fmt.Errorf("%d of %d %s Ready %s (%d failed)%s", len(t.ready), t.want, t.what, why, len(t.failed), msg)
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ready)
}

// seenCount is how many objects the informer has seen, Ready or not.
func (t *tracker) seenCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.seen)
}

func (t *tracker) close() { close(t.stop) }

func newTracker(what string, want int) *tracker {
	return &tracker{what: what, want: want, seen: map[string]bool{}, ready: map[string]time.Time{}, failed: map[string]string{}, done: make(chan struct{}), stop: make(chan struct{})}
}

func (t *tracker) run(ctx context.Context, inf cache.SharedIndexInformer, conv func(any) state) error {
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(conv(obj)) },
		UpdateFunc: func(_, obj any) { t.observe(conv(obj)) },
	}); err != nil {
		return err
	}
	go inf.Run(t.stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.close()
		return fmt.Errorf("informer for %s did not sync", t.what)
	}
	return nil
}

// trackCertificates follows the Certificates in ns whose names start with
// prefix.
func trackCertificates(ctx context.Context, cs cmclient.Interface, ns, prefix string, want int) (*tracker, error) {
	t := newTracker("Certificates", want)
	f := cminformers.NewSharedInformerFactoryWithOptions(cs, 0, cminformers.WithNamespace(ns))
	inf := f.Certmanager().V1().Certificates().Informer()
	return t, t.run(ctx, inf, func(obj any) state {
		c, ok := obj.(*cmapi.Certificate)
		if !ok {
			return state{}
		}
		s := state{name: c.Name, isTarget: strings.HasPrefix(c.Name, prefix)}
		for _, cond := range c.Status.Conditions {
			if cond.Type == cmapi.CertificateConditionReady && cond.Status == cmmeta.ConditionTrue {
				s.ready = true
			}
			if cond.Type == cmapi.CertificateConditionIssuing && cond.Status == cmmeta.ConditionFalse && cond.Reason == "Failed" {
				s.failed, s.message = true, cond.Message
			}
		}
		return s
	})
}

// trackRequests follows the CertificateRequests in ns whose names start
// with prefix.
func trackRequests(ctx context.Context, cs cmclient.Interface, ns, prefix string, want int) (*tracker, error) {
	t := newTracker("CertificateRequests", want)
	f := cminformers.NewSharedInformerFactoryWithOptions(cs, 0, cminformers.WithNamespace(ns))
	inf := f.Certmanager().V1().CertificateRequests().Informer()
	return t, t.run(ctx, inf, func(obj any) state {
		cr, ok := obj.(*cmapi.CertificateRequest)
		if !ok {
			return state{}
		}
		s := state{name: cr.Name, isTarget: strings.HasPrefix(cr.Name, prefix)}
		for _, cond := range cr.Status.Conditions {
			if cond.Type != cmapi.CertificateRequestConditionReady {
				continue
			}
			s.ready = cond.Status == cmmeta.ConditionTrue
			if cond.Reason == cmapi.CertificateRequestReasonFailed {
				s.failed, s.message = true, cond.Message
			}
		}
		return s
	})
}
