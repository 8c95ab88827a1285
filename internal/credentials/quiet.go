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

	"github.com/go-logr/logr"
)

// maxSecretReadVerbosity is the most verbose level logged while a Secret is
// read. client-go traces every API call with the logger of its context:
// URLs at 6, headers at 7 and whole request and response bodies at 8, and
// a Secret's body is its API secret, private key and key password. Levels
// up to 5 stay, so that an operator at --zap-log-level=10 loses nothing but
// that tracing.
const maxSecretReadVerbosity = 5

// quiet returns ctx with its logger capped at maxSecretReadVerbosity, for
// the calls that read Secret data.
func quiet(ctx context.Context) context.Context {
	l, err := logr.FromContext(ctx)
	if err != nil || l.GetSink() == nil {
		return ctx
	}
	return logr.NewContext(ctx, logr.New(&cappedSink{sink: l.GetSink(), max: maxSecretReadVerbosity}))
}

// cappedSink drops info lines above max; errors always pass.
type cappedSink struct {
	sink logr.LogSink
	max  int
}

func (s *cappedSink) Init(info logr.RuntimeInfo) {
	// One more frame: this wrapper.
	info.CallDepth++
	s.sink.Init(info)
}

func (s *cappedSink) Enabled(level int) bool { return level <= s.max && s.sink.Enabled(level) }

func (s *cappedSink) Info(level int, msg string, kv ...any) {
	if level <= s.max {
		s.sink.Info(level, msg, kv...)
	}
}

func (s *cappedSink) Error(err error, msg string, kv ...any) { s.sink.Error(err, msg, kv...) }

func (s *cappedSink) WithValues(kv ...any) logr.LogSink {
	return &cappedSink{sink: s.sink.WithValues(kv...), max: s.max}
}

func (s *cappedSink) WithName(name string) logr.LogSink {
	return &cappedSink{sink: s.sink.WithName(name), max: s.max}
}
