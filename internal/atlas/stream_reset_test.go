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

package atlas_test

import (
	"net/http"
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// resetStream ends the call the way an HTTP/2 server or proxy that gives up
// on one request does: RST_STREAM, while the connection serves on.
func resetStream(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }

// TestHTTP2StreamResetRetried: Atlas is reached over HTTP/2, where a
// dropped call is a stream reset rather than a closed connection. A safe
// call must be repeated like after a reset connection; before, the reset
// ended the call at once, and one reset among the GETs of a lookup after a
// restart failed the whole reconcile.
func TestHTTP2StreamResetRetried(t *testing.T) {
	f := newFakeAtlas(t, true)
	f.setAPI(failThen(1, resetStream, counterAPI))
	c, _ := newClient(t, f)
	if _, err := c.CountIssued(testCtx(t)); err != nil {
		t.Fatalf("CountIssued after a stream reset: %v", err)
	}
	if _, api := f.counts(); api != 2 {
		t.Errorf("attempts = %d, want 2", api)
	}
	if !atlas.IsRetryable(&streamErr{}) {
		t.Error("IsRetryable(stream error) = false")
	}
}

// TestHTTP2StreamResetPOSTNotRepeated: the POST that creates a certificate
// reached Atlas before the reset, so it is not repeated.
func TestHTTP2StreamResetPOSTNotRepeated(t *testing.T) {
	f := newFakeAtlas(t, true)
	f.setAPI(failThen(1, resetStream, created))
	c, _ := newClient(t, f)
	if _, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{}); err == nil {
		t.Fatal("RequestCertificate succeeded after a reset: it was repeated")
	}
	if _, api := f.counts(); api != 1 {
		t.Errorf("attempts = %d, want 1", api)
	}
}

// streamErr has the message of net/http's (unexported) HTTP/2 stream error.
type streamErr struct{}

func (*streamErr) Error() string {
	return "stream error: stream ID 7; INTERNAL_ERROR; received from peer"
}
