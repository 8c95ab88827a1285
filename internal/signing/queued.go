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
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
	"github.com/globalsign/atlas-issuer/internal/issuance"
	"github.com/globalsign/atlas-issuer/internal/ttlcache"
)

// queuedIntent is the intent a request wrote while it queued for an Atlas
// slot, with the mapping it was written for.
type queuedIntent struct {
	policy *atlas.ValidationPolicy
	mapped *issuance.Result
	intent Intent
}

// intentWhileQueued writes the intent of a request that queues for an Atlas
// slot and will be submitted once it has one, so that the slot, when it
// comes, goes to Atlas calls instead of an API write. It returns nil, and
// leaves the decision to the slot's holder as before, when the request is
// anything else (a serial or another process's intent to follow up, a twin
// to collect, an account not loaded yet, a mapping that fails) or the
// write fails.
//
// A restart finds such an intent like any other and looks it up. Only a
// request that never got its slot pays for that: a lookup and the lookup
// grace. The intent serves a submission only while it is young
// (queuedIntentMaxAge); one that waited longer is written again.
func (s *Signer) intentWhileQueued(ctx context.Context, req Request, iss Issuer, cl *atlas.Client) *queuedIntent {
	policy, _ := s.accounts.get(iss.Key, cl)
	if policy == nil || queuedIntentMaxAge(policy, s.LookupGrace) <= 0 {
		return nil
	}
	ann := req.Object.GetAnnotations()
	if ann[v1alpha1.SerialAnnotation] != "" {
		return nil
	}
	if raw := ann[v1alpha1.IntentAnnotation]; raw != "" && !s.unposted.has(req.Object.GetUID(), raw) {
		return nil
	}
	mapped, err := issuance.Map(mapInput(req, s.now()), policy)
	if err != nil {
		return nil
	}
	if _, ok := s.submissions.get(submissionKeyOf(cl, mapped)); ok {
		return nil
	}
	intent, err := s.writeIntent(ctx, req, mapped)
	if err != nil {
		log.FromContext(ctx).V(1).Info("could not record the intent while queued for a slot; recording it once the slot is granted", "error", err.Error())
		return nil
	}
	return &queuedIntent{policy: policy, mapped: mapped, intent: intent}
}

// queuedIntentMaxAge is how long after its not_before an intent written
// while queued may stand for the submission. Atlas accepts a not_before up
// to the policy's negative skew in the past, and a restart's lookup grace
// is counted from the intent's time: a POST made late in that grace could
// be missed by the lookup and submitted again. An eighth of the grace keeps
// nearly all of it for Atlas to list the certificate; half the skew leaves
// the other half for clocks and round trips.
func queuedIntentMaxAge(p *atlas.ValidationPolicy, grace time.Duration) time.Duration {
	if p == nil || p.Validity == nil {
		return 0
	}
	return min(grace/8, time.Duration(p.Validity.NotBeforeNegativeSkew)*time.Second/2)
}

// usable reports whether q can stand for the submission at now: the
// account's policy is the one it was mapped under and it is young enough.
// A nil q is never usable.
func (q *queuedIntent) usable(policy *atlas.ValidationPolicy, now time.Time, grace time.Duration) bool {
	return q != nil && q.policy == policy && now.Sub(q.intent.NotBefore) <= queuedIntentMaxAge(policy, grace)
}

// writeIntent records on the request that its submission, mapped, may reach
// Atlas from now on, and returns that intent: mapped's not_before to the
// second, which the submission then carries, and its key. The intent is
// kept in unposted first, so that whether or not the write lands, this
// process knows it has not submitted for it.
func (s *Signer) writeIntent(ctx context.Context, req Request, mapped *issuance.Result) (Intent, error) {
	intent := Intent{NotBefore: mapped.NotBefore.Truncate(time.Second), Fingerprint: mapped.PublicKeyFingerprint}
	mapped.Request.Validity.NotBefore = intent.NotBefore.Unix()
	s.unposted.put(req.Object.GetUID(), intent.String())
	if err := s.Annotator.Annotate(ctx, req.Object, map[string]string{v1alpha1.IntentAnnotation: intent.String()}); err != nil {
		return Intent{}, err
	}
	s.failpoint(failpoint.AfterIntent)
	return intent, nil
}

// unpostedIntents remembers, per request UID, the intent this process wrote
// and has not yet submitted for. A request found with that intent was never
// submitted by this process (one written in line for a slot, an error
// before the POST), so it needs no lookup: the lookup, and its grace, are for
// intents a previous process may have submitted. The entry goes just before
// the POST; entries left by requests that gave up expire or go when the
// request settles.
type unpostedIntents struct {
	cache *ttlcache.Cache[types.UID, string]
	ttl   time.Duration
}

func newUnpostedIntents(ttl time.Duration, clk clock.PassiveClock) unpostedIntents {
	return unpostedIntents{cache: ttlcache.New[types.UID, string](issuedMax, ttl, clk), ttl: ttl}
}

func (u unpostedIntents) put(uid types.UID, intent string) {
	u.cache.Set(uid, intent, u.ttl)
}

// has reports whether intent is the one this process wrote for uid and has
// not submitted for.
func (u unpostedIntents) has(uid types.UID, intent string) bool {
	v, ok := u.cache.Get(uid)
	return ok && v == intent
}

func (u unpostedIntents) forget(uid types.UID) {
	u.cache.Delete(uid)
}
