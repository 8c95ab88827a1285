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

package chaos

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// The lookup-failure phases: managers killed while Atlas holds the answer
// to POSTs that created their certificates, so that after the restart only
// the lookup (GET /stats/issued) can find them, while that lookup fails.
const (
	// lookupErrors: the issued stats answer 404, then 500, for about a
	// minute, then recover.
	lookupErrors = "stats_404_then_500"
	// lookupEmpty: the issued stats answer empty pages, longer than the
	// lookup grace, then recover.
	lookupEmpty = "stats_empty"
	// lookupBound: empty pages throughout, under a manager whose
	// --resubmit-undecided-after lets it submit again.
	lookupBound = "stats_empty_resubmit_bound"
)

// Sizes and timings of the lookup phases.
const (
	// lookupBatch is how many Certificates each kill mid-POST catches.
	lookupBatch = 8
	// boundBatch is the bound phase's batch: each costs a second
	// certificate on purpose.
	boundBatch = 4
	// submitHold holds a POST's answer longer than the harness needs to
	// kill the manager.
	submitHold = 2 * time.Minute
	// failingWindow is how long each lookup failure lasts after a kill.
	failingWindow = 30 * time.Second
	// emptyWindow is how long empty pages last in the empty phase: longer
	// than the managers' --lookup-grace, after which an issuer that
	// trusted the empty answer would submit again.
	emptyWindow = 45 * time.Second
	// resubmitBound is --resubmit-undecided-after in the bound phase.
	resubmitBound = 30 * time.Second
	// undecidedWords is what the condition of a request whose lookup
	// cannot decide says.
	undecidedWords = "cannot decide"
	// resubmittedReason is the event the manager posts when the bound
	// lets it submit again.
	resubmittedReason = "ResubmittedUndecided"
)

// Namespaces of the lookup phases.
var lookupNamespaces = map[string]string{
	lookupErrors: "chaos-lookup-errors",
	lookupEmpty:  "chaos-lookup-empty",
	lookupBound:  "chaos-lookup-bound",
}

// LookupPhase is what one lookup-failure phase counted.
type LookupPhase struct {
	Total      int `json:"total"`
	Ready      int `json:"ready"`
	Lost       int `json:"lost"`
	Failed     int `json:"failed"`
	Duplicates int `json:"duplicates"`
	// Kills are the managers killed while POSTs were held, and
	// KilledMidPost the certificates Atlas had created for those POSTs.
	Kills         int `json:"kills"`
	KilledMidPost int `json:"killed_mid_post"`
	// StatsFaults counts the issued-stats answers the fake failed or
	// emptied.
	StatsFaults int `json:"stats_faults"`
	// Undecided counts the requests seen Pending with "cannot decide".
	Undecided int `json:"undecided_seen"`
	// UndecidedAtEnd (empty pages, no bound): of the requests whose POST
	// was cut short, those still Pending with "cannot decide" when the
	// empty pages stopped, and SecondPosts those submitted again.
	UndecidedAtEnd int `json:"undecided_at_end,omitempty"`
	SecondPosts    int `json:"second_posts"`
	// Resubmitted (the bound): requests submitted a second time, Events
	// the ResubmittedUndecided events, Timing each one's check.
	Resubmitted int              `json:"resubmitted,omitempty"`
	Events      int              `json:"resubmitted_events,omitempty"`
	Timing      []ResubmitTiming `json:"resubmit_timing,omitempty"`
	// Messages are a few of the "cannot decide" conditions, and
	// IssuerConditions the issuer's conditions seen (Degraded says when
	// lookups have waited a while).
	Messages         []string `json:"messages,omitempty"`
	IssuerConditions []string `json:"issuer_conditions,omitempty"`
	Seconds          float64  `json:"seconds"`
	FailedRequests   []string `json:"failed_requests,omitempty"`
	NotReady         []string `json:"not_ready,omitempty"`
}

// ResubmitTiming is one resubmitted request: its first intent, the event,
// the second POST, and whether they came in the order and at the times the
// bound allows.
type ResubmitTiming struct {
	Request    string    `json:"request"`
	Intent     time.Time `json:"first_intent"`
	Event      time.Time `json:"event,omitzero"`
	SecondPost time.Time `json:"second_post,omitzero"`
	EventNote  string    `json:"event_message,omitempty"`
	OK         bool      `json:"ok"`
	Why        string    `json:"why,omitempty"`
}

// checkResubmit says whether a resubmission respected the bound: the
// second POST no sooner than bound after the first intent (whose time has
// whole seconds, as has an event's), and a ResubmittedUndecided event no
// sooner than that either and no later than a few seconds after the POST.
func checkResubmit(intent time.Time, bound time.Duration, event, second time.Time) (bool, string) {
	earliest := intent.Add(bound - time.Second)
	switch {
	case second.IsZero():
		return false, "no second submission"
	case second.Before(earliest):
		return false, fmt.Sprintf("submitted again %s after the intent, before the bound of %s", second.Sub(intent).Round(time.Millisecond), bound)
	case event.IsZero():
		return false, "submitted again without a " + resubmittedReason + " event"
	case event.Before(earliest):
		return false, fmt.Sprintf("event %s after the intent, before the bound of %s", event.Sub(intent).Round(time.Second), bound)
	case event.After(second.Add(5 * time.Second)):
		return false, fmt.Sprintf("event %s after the second submission", event.Sub(second).Round(time.Second))
	}
	return true, ""
}

// parseIntentTime reads the time of an intent annotation,
// "<unix seconds>/<fingerprint>".
func parseIntentTime(s string) (time.Time, bool) {
	secs, _, ok := strings.Cut(s, "/")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// requestFingerprint is the fingerprint of a request's CSR key, as the fake
// records it.
func requestFingerprint(cr *cmapi.CertificateRequest) string {
	block, _ := pem.Decode(cr.Spec.Request)
	if block == nil {
		return ""
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return ""
	}
	fp, err := fake.PublicKeyFingerprint(csr.PublicKey)
	if err != nil {
		return ""
	}
	return fp
}

// eventTime is when an event happened, as precisely as it says.
func eventTime(ev *corev1.Event) time.Time {
	switch {
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	case !ev.FirstTimestamp.IsZero():
		return ev.FirstTimestamp.Time
	}
	return ev.CreationTimestamp.Time
}

// undecidedWatch follows a namespace's requests and remembers those seen
// Pending with "cannot decide".
type undecidedWatch struct {
	mu       sync.Mutex
	seen     map[string]bool
	messages []string
	conds    conditionLog
	quit     chan struct{}
	done     chan struct{}
}

func (r *run) watchUndecided(ctx context.Context, ns string, issuer client.Object) *undecidedWatch {
	w := &undecidedWatch{seen: map[string]bool{}, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			if i%4 == 0 {
				w.conds.read(ctx, r, []client.Object{issuer})
			}
			var crs cmapi.CertificateRequestList
			if err := r.watch.List(ctx, &crs, client.InNamespace(ns)); err == nil {
				w.mu.Lock()
				for i := range crs.Items {
					if c := readyCondition(&crs.Items[i]); isUndecided(c) && !w.seen[crs.Items[i].Name] {
						w.seen[crs.Items[i].Name] = true
						if len(w.messages) < 3 {
							w.messages = append(w.messages, crs.Items[i].Name+": "+c.Message)
						}
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-w.quit:
				return
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *undecidedWatch) stop() (seen int, messages, conditions []string) {
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen), w.messages, w.conds.list()
}

// isUndecided reports a Ready condition of a request waiting on a lookup
// that cannot decide.
func isUndecided(c *cmapi.CertificateRequestCondition) bool {
	return c != nil && c.Status == cmmeta.ConditionFalse && c.Reason == cmapi.CertificateRequestReasonPending &&
		strings.Contains(c.Message, undecidedWords)
}

// lookupPhases runs the three lookup-failure phases against a fake of
// their own.
func (r *run) lookupPhases(ctx context.Context) error {
	// Only the phase's own manager may sign from here on.
	if err := r.env.Manager().Stop(15 * time.Second); err != nil {
		return err
	}
	f, err := r.extraFake(ctx, "fake-atlas-lookup")
	if err != nil {
		return err
	}
	r.report.LookupFailure = map[string]*LookupPhase{}
	for _, phase := range []struct {
		name string
		run  func(context.Context, *framework.Fake, *supervisor, *LookupPhase) error
		args []string
	}{
		{lookupErrors, r.lookupErrorsPhase, nil},
		{lookupEmpty, r.lookupEmptyPhase, nil},
		{lookupBound, r.lookupBoundPhase, []string{"--resubmit-undecided-after=" + resubmitBound.String()}},
	} {
		if r.cfg.Skip[phase.name] {
			continue
		}
		start := time.Now()
		ns := lookupNamespaces[phase.name]
		p := &LookupPhase{}
		r.report.LookupFailure[phase.name] = p
		if err := r.phaseIssuer(ctx, ns, f); err != nil {
			return err
		}
		sup, err := r.supervise("manager-"+ns, nil, phase.args...)
		if err != nil {
			return err
		}
		issuer := &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas"}}
		if err := r.issuerReady(ctx, issuer, 2*time.Minute); err != nil {
			sup.stop()
			return err
		}
		before, err := f.Admin.Stats(ctx)
		if err != nil {
			sup.stop()
			return err
		}
		undecided := r.watchUndecided(ctx, ns, issuer)
		err = phase.run(ctx, f, sup, p)
		p.Undecided, p.Messages, p.IssuerConditions = undecided.stop()
		_ = f.Admin.SetFaults(context.WithoutCancel(ctx), fake.Faults{})
		sup.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", phase.name, err)
		}
		after, err := f.Admin.Stats(ctx)
		if err != nil {
			return err
		}
		p.Duplicates = after.Duplicates - before.Duplicates
		p.StatsFaults = after.FaultsInjected[fake.FaultStatsIssued] - before.FaultsInjected[fake.FaultStatsIssued]
		p.Seconds = time.Since(start).Seconds()
		r.report.Lost += p.Lost
		r.report.Failed += p.Failed
		r.logf("lookup %s: %d/%d Ready, %d failed, %d duplicates, %d killed mid-POST in %d kills, %d undecided seen, %d stats faults, in %s",
			phase.name, p.Ready, p.Total, p.Failed, p.Duplicates, p.KilledMidPost, p.Kills, p.Undecided, p.StatsFaults, time.Since(start).Round(time.Second))
		if exits := sup.exited(); len(exits) > 0 {
			r.report.Details.UnexpectedExits = append(r.report.Details.UnexpectedExits, exits...)
		}
	}
	return nil
}

// extraFake starts one more fake Atlas for the run, with the canary
// credentials, and adds it to the fakes every count covers.
func (r *run) extraFake(ctx context.Context, name string) (*framework.Fake, error) {
	f, err := r.env.StartExtraFake(name, "--api-key", r.canaries.apiKey, "--api-secret", r.canaries.apiSecret)
	if err != nil {
		return nil, err
	}
	r.track(f.Process)
	r.fakes = append(r.fakes, f)
	key, err := os.ReadFile(filepath.Join(f.CredentialsDir, "tls.key"))
	if err != nil {
		return nil, err
	}
	r.canaries.addKey(key)
	return f, ctx.Err()
}

// phaseIssuer makes namespace ns with an AtlasIssuer "atlas" on fake f.
func (r *run) phaseIssuer(ctx context.Context, ns string, f *framework.Fake) error {
	if err := r.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	sec, err := f.CredentialsSecret(ns, "atlas-credentials")
	if err != nil {
		return err
	}
	if err := r.env.Client.Create(ctx, sec); err != nil {
		return err
	}
	spec, err := f.IssuerSpec(sec.Name)
	if err != nil {
		return err
	}
	return r.env.Client.Create(ctx, &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas"}, Spec: spec})
}

// killMidPost creates Certificates from..to in ns while the fake holds
// every POST's answer after creating its certificate, waits until want
// POSTs are held, then switches the hold off (the held ones stay held) and
// kills the manager, which the supervisor starts again. It returns the
// certificates Atlas created in ns by then: those the manager never
// learnt the serial of.
func (r *run) killMidPost(ctx context.Context, f *framework.Fake, sup *supervisor, ns, prefix string, from, to, want int, stats string) ([]fake.IssuedCertificate, error) {
	if err := f.Admin.SetFaults(ctx, fake.Faults{SubmitHold: submitHold, StatsIssued: stats}); err != nil {
		return nil, err
	}
	before, err := issuedIn(ctx, f, ns)
	if err != nil {
		return nil, err
	}
	if err := r.createCertificates(ctx, ns, prefix, "AtlasIssuer", "atlas", from, to, 0); err != nil {
		return nil, err
	}
	if err := waitHeld(ctx, f, ns, len(before)+want, want, 90*time.Second); err != nil {
		r.logf("%s: %v; killing anyway", ns, err)
	}
	if err := f.Admin.SetFaults(ctx, fake.Faults{StatsIssued: stats}); err != nil {
		return nil, err
	}
	sup.kill()
	return issuedIn(ctx, f, ns)
}

// issuedIn lists the certificates a fake accepted for names in namespace
// ns.
func issuedIn(ctx context.Context, f *framework.Fake, ns string) ([]fake.IssuedCertificate, error) {
	all, err := f.Admin.Issued(ctx)
	if err != nil {
		return nil, err
	}
	var out []fake.IssuedCertificate
	for _, c := range all {
		if inNamespace(ns)("", c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// waitHeld waits until the fake has accepted certificates for names in ns
// up to issued in all and is holding the answers of at least held POSTs:
// the certificates exist and their answers are not out yet.
func waitHeld(ctx context.Context, f *framework.Fake, ns string, issued, held int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var n, inFlight int
	for {
		st, err := f.Admin.Stats(ctx)
		if err == nil {
			inFlight = st.InFlightByOp[fake.OpRequestCertificate]
			if inFlight >= held {
				got, err := issuedIn(ctx, f, ns)
				if err == nil {
					n = len(got)
				}
				if n >= issued {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d certificates of %d accepted and %d POSTs of %d held after %s", n, issued, inFlight, held, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sleepCtx waits d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// finishLookupPhase waits for the phase's Certificates and records how
// they ended.
func (r *run) finishLookupPhase(ctx context.Context, ns string, total int, p *LookupPhase) error {
	prog, err := r.waitReady(ctx, ns, total, time.Now().Add(3*time.Minute), nil)
	if err != nil {
		return err
	}
	p.Total, p.Ready = total, prog.ready
	p.Lost = total - prog.ready
	p.Failed = len(prog.failed)
	p.FailedRequests, p.NotReady = head(prog.failed, 10), head(prog.notReady, 10)
	return nil
}

// lookupErrorsPhase: a kill mid-POST while the issued stats answer 404,
// half a minute of it, a second kill while they answer 500, half a minute
// of that, then recovery: every request must end Ready with its first
// certificate.
func (r *run) lookupErrorsPhase(ctx context.Context, f *framework.Fake, sup *supervisor, p *LookupPhase) error {
	ns := lookupNamespaces[lookupErrors]
	for i, mode := range []string{fake.StatsNotFound, fake.StatsServerError} {
		from := i * lookupBatch
		cut, err := r.killMidPost(ctx, f, sup, ns, "lookup", from, from+lookupBatch, lookupBatch, mode)
		if err != nil {
			return err
		}
		p.Kills++
		p.KilledMidPost = len(cut)
		r.logf("lookup %s: killed the manager with %d certificates created and unanswered; stats answer %s for %s", lookupErrors, len(cut), mode, failingWindow)
		if err := sleepCtx(ctx, failingWindow); err != nil {
			return err
		}
	}
	if err := f.Admin.SetFaults(ctx, fake.Faults{}); err != nil {
		return err
	}
	return r.finishLookupPhase(ctx, ns, 2*lookupBatch, p)
}

// lookupEmptyPhase: a kill mid-POST while the issued stats answer empty
// pages, for longer than the lookup grace. Without the bound the requests
// must wait, Pending and saying they cannot decide, with no second POST;
// once the pages are whole again they collect their first certificates.
func (r *run) lookupEmptyPhase(ctx context.Context, f *framework.Fake, sup *supervisor, p *LookupPhase) error {
	ns := lookupNamespaces[lookupEmpty]
	cut, err := r.killMidPost(ctx, f, sup, ns, "empty", 0, lookupBatch, lookupBatch, fake.StatsEmpty)
	if err != nil {
		return err
	}
	p.Kills++
	p.KilledMidPost = len(cut)
	r.logf("lookup %s: killed the manager with %d certificates created and unanswered; empty pages for %s", lookupEmpty, len(cut), emptyWindow)
	if err := sleepCtx(ctx, emptyWindow); err != nil {
		return err
	}
	cutKeys := map[string]bool{}
	for _, c := range cut {
		cutKeys[c.Fingerprint] = true
	}
	var crs cmapi.CertificateRequestList
	if err := r.env.Client.List(ctx, &crs, client.InNamespace(ns)); err != nil {
		return err
	}
	for i := range crs.Items {
		if cutKeys[requestFingerprint(&crs.Items[i])] && isUndecided(readyCondition(&crs.Items[i])) {
			p.UndecidedAtEnd++
		}
	}
	st, err := f.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	for fp := range cutKeys {
		if st.IssuedPerKey[fp] > 1 {
			p.SecondPosts++
		}
	}
	if err := f.Admin.SetFaults(ctx, fake.Faults{}); err != nil {
		return err
	}
	return r.finishLookupPhase(ctx, ns, lookupBatch, p)
}

// lookupBoundPhase: the same cut with empty pages throughout, under a
// manager started with --resubmit-undecided-after: each request cut short
// is submitted a second time, no sooner than the bound after its first
// intent, with a ResubmittedUndecided event.
func (r *run) lookupBoundPhase(ctx context.Context, f *framework.Fake, sup *supervisor, p *LookupPhase) error {
	ns := lookupNamespaces[lookupBound]
	cut, err := r.killMidPost(ctx, f, sup, ns, "bound", 0, boundBatch, boundBatch, fake.StatsEmpty)
	if err != nil {
		return err
	}
	p.Kills++
	p.KilledMidPost = len(cut)
	// The first intents, before a resubmission writes new ones.
	var crs cmapi.CertificateRequestList
	if err := r.env.Client.List(ctx, &crs, client.InNamespace(ns)); err != nil {
		return err
	}
	cutKeys := map[string]bool{}
	for _, c := range cut {
		cutKeys[c.Fingerprint] = true
	}
	type first struct {
		request string
		intent  time.Time
	}
	firsts := map[string]first{} // by key fingerprint
	for i := range crs.Items {
		fp := requestFingerprint(&crs.Items[i])
		if !cutKeys[fp] {
			continue
		}
		t, ok := parseIntentTime(crs.Items[i].Annotations[v1alpha1.IntentAnnotation])
		if !ok {
			return fmt.Errorf("request %s, whose POST was cut short, has no intent", crs.Items[i].Name)
		}
		firsts[fp] = first{crs.Items[i].Name, t}
	}
	r.logf("lookup %s: killed the manager with %d certificates created and unanswered; empty pages until every request is Ready", lookupBound, len(cut))
	if err := r.finishLookupPhase(ctx, ns, boundBatch, p); err != nil {
		return err
	}
	issued, err := f.Admin.Issued(ctx)
	if err != nil {
		return err
	}
	seconds := map[string]time.Time{}
	perKey := map[string]int{}
	for _, c := range issued {
		if _, ok := firsts[c.Fingerprint]; !ok {
			continue
		}
		perKey[c.Fingerprint]++
		if perKey[c.Fingerprint] == 2 {
			seconds[c.Fingerprint] = c.AcceptedAt
		}
	}
	var events corev1.EventList
	if err := r.env.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
		return err
	}
	eventsBy := map[string]*corev1.Event{}
	for i := range events.Items {
		ev := &events.Items[i]
		if ev.Reason != resubmittedReason || ev.InvolvedObject.Kind != "CertificateRequest" {
			continue
		}
		p.Events++
		if prev := eventsBy[ev.InvolvedObject.Name]; prev == nil || eventTime(ev).Before(eventTime(prev)) {
			eventsBy[ev.InvolvedObject.Name] = ev
		}
	}
	fps := make([]string, 0, len(firsts))
	for fp := range firsts {
		fps = append(fps, fp)
	}
	sort.Slice(fps, func(i, j int) bool { return firsts[fps[i]].request < firsts[fps[j]].request })
	for _, fp := range fps {
		fr := firsts[fp]
		t := ResubmitTiming{Request: fr.request, Intent: fr.intent, SecondPost: seconds[fp]}
		if ev := eventsBy[fr.request]; ev != nil {
			t.Event, t.EventNote = eventTime(ev), ev.Message
		}
		if perKey[fp] > 1 {
			p.Resubmitted++
			r.resubmittedKeys = append(r.resubmittedKeys, fp)
		}
		if perKey[fp] > 2 {
			t.Why = fmt.Sprintf("%d certificates for one request; ", perKey[fp])
		}
		ok, why := checkResubmit(t.Intent, resubmitBound, t.Event, t.SecondPost)
		t.OK = ok && perKey[fp] == 2
		t.Why += why
		p.Timing = append(p.Timing, t)
	}
	return nil
}

// judgeLookup checks each lookup phase against its goals.
func (r *Report) judgeLookup() {
	if r.LookupFailure == nil {
		r.Goals = append(r.Goals, "the lookup-failure phases did not run")
		return
	}
	for _, name := range []string{lookupErrors, lookupEmpty, lookupBound} {
		p := r.LookupFailure[name]
		if p == nil {
			r.Goals = append(r.Goals, "lookup phase "+name+" did not run")
			continue
		}
		key := "lookup_failure." + name
		r.check(key, "every request Ready, 0 failed, after kills mid-POST while the lookup cannot decide",
			p.Total > 0 && p.Ready == p.Total && p.Failed == 0 && p.KilledMidPost > 0 && p.StatsFaults > 0 && p.Undecided > 0,
			"lookup %s: %d of %d Ready, %d failed, %d certificates cut short, %d stats faults, %d requests seen undecided",
			name, p.Ready, p.Total, p.Failed, p.KilledMidPost, p.StatsFaults, p.Undecided)
		switch name {
		case lookupErrors, lookupEmpty:
			r.check(key+".duplicates", "0", p.Duplicates == 0, "lookup %s: %d duplicates", name, p.Duplicates)
		}
		if name == lookupEmpty {
			r.check(key+".waited", "every request cut short Pending with \"cannot decide\" after the lookup grace, none submitted again",
				p.KilledMidPost > 0 && p.UndecidedAtEnd == p.KilledMidPost && p.SecondPosts == 0,
				"lookup %s: %d of %d requests cut short were Pending with %q when the empty pages stopped; %d were submitted again",
				name, p.UndecidedAtEnd, p.KilledMidPost, undecidedWords, p.SecondPosts)
		}
		if name == lookupBound {
			var bad []string
			for _, t := range p.Timing {
				if !t.OK {
					bad = append(bad, t.Request+": "+t.Why)
				}
			}
			r.check(key+".resubmitted", fmt.Sprintf("each request cut short submitted once more, no sooner than %s after its intent, with a %s event", resubmitBound, resubmittedReason),
				p.KilledMidPost > 0 && len(p.Timing) == p.KilledMidPost && len(bad) == 0 && p.Resubmitted == p.KilledMidPost && p.Duplicates == p.Resubmitted,
				"lookup %s: %d of %d resubmitted (%d duplicates), %d events; %v", name, p.Resubmitted, p.KilledMidPost, p.Duplicates, p.Events, bad)
		}
	}
}
