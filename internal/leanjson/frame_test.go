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
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// readFrames reads every frame of stream through a framer, with a caller
// buffer of size bytes, reassembling frames split by io.ErrShortBuffer as
// apimachinery's streaming decoder does.
func readFrames(t *testing.T, fr io.ReadCloser, size int) ([]string, error) {
	t.Helper()
	var frames []string
	var cur []byte
	buf := make([]byte, size)
	for {
		n, err := fr.Read(buf)
		cur = append(cur, buf[:n]...)
		switch {
		case errors.Is(err, io.ErrShortBuffer):
			continue
		case err != nil:
			return frames, err
		}
		frames = append(frames, string(cur))
		cur = nil
	}
}

func TestFramerSplitsObjects(t *testing.T) {
	values := []string{
		`{"type":"ADDED","object":{"kind":"X","s":"}{][ \" \\ \\\"","a":[1,{"b":[]}]}}`,
		`[1,2,{"x":"]"}]`,
		`{}`,
		`{"esc":"\\\\"}`,
	}
	stream := " \n" + strings.Join(values, "\n") + "\r\n\t"
	for _, tc := range []struct {
		name   string
		reader func(io.Reader) io.Reader
		size   int
	}{
		{"whole stream, large buffer", func(r io.Reader) io.Reader { return r }, 1024},
		{"one byte at a time", iotest.OneByteReader, 1024},
		{"half at a time, tiny buffer", iotest.HalfReader, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readFrames(t, Framer.NewFrameReader(io.NopCloser(tc.reader(strings.NewReader(stream)))), tc.size)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("ended with %v, want io.EOF", err)
			}
			if strings.Join(got, "|") != strings.Join(values, "|") {
				t.Errorf("frames:\n%q\nwant\n%q", got, values)
			}
		})
	}
}

func TestFramerErrors(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		want         error
	}{
		{"cut in a string", `{"a":"b`, io.ErrUnexpectedEOF},
		{"cut after an object", `{"a":1} {"b":`, io.ErrUnexpectedEOF},
		{"a number", `{"a":1} 42`, errNotObject},
		{"nothing", "  \n", io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readFrames(t, Framer.NewFrameReader(io.NopCloser(strings.NewReader(tc.stream))), 64); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// randomValue writes a JSON object or array of random shape, with strings
// full of the characters that matter to a bracket count.
func randomValue(r *rand.Rand, b *bytes.Buffer, depth int) {
	open, shut := byte('{'), byte('}')
	if r.IntN(3) == 0 {
		open, shut = '[', ']'
	}
	b.WriteByte(open)
	for i := range r.IntN(4) {
		if i > 0 {
			b.WriteByte(',')
		}
		if open == '{' {
			writeString(r, b)
			b.WriteByte(':')
		}
		switch k := r.IntN(4); {
		case k == 0 && depth < 5:
			randomValue(r, b, depth+1)
		case k == 1:
			writeString(r, b)
		default:
			b.WriteString("12")
		}
	}
	b.WriteByte(shut)
}

func writeString(r *rand.Rand, b *bytes.Buffer) {
	const alphabet = `ab{}[]"\ ,:` + "\n\t\x01é"
	var s strings.Builder
	for range r.IntN(8) {
		s.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	enc, _ := json.Marshal(s.String())
	b.Write(enc)
}

// TestFramerMatchesApimachinery splits random streams with both framers.
func TestFramerMatchesApimachinery(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var b bytes.Buffer
		for range 1 + r.IntN(5) {
			randomValue(r, &b, 0)
			b.WriteString([]string{"", "\n", " \r\n "}[r.IntN(3)])
		}
		size := 1 + r.IntN(200)
		want, wantErr := readFrames(t, k8sjson.Framer.NewFrameReader(io.NopCloser(bytes.NewReader(b.Bytes()))), size)
		got, gotErr := readFrames(t, Framer.NewFrameReader(io.NopCloser(iotest.HalfReader(bytes.NewReader(b.Bytes())))), size)
		if !errors.Is(wantErr, io.EOF) || !errors.Is(gotErr, io.EOF) || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("stream %d %q (buffer %d):\nlean         %q %v\napimachinery %q %v", i, b.String(), size, got, gotErr, want, wantErr)
		}
	}
}

func TestSplitEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name, in, typ, object string
		ok                    bool
	}{
		{"as the API server writes it", `{"type":"ADDED","object":{"a":"}"}}`, "ADDED", `{"a":"}"}`, true},
		{"white space", " { \"type\" : \"ERROR\" , \"object\" : {\"code\":410} } \n", "ERROR", `{"code":410}`, true},
		{"another field after the object", `{"type":"ADDED","object":{},"x":{}}`, "", "", false},
		{"object first", `{"object":{},"type":"ADDED"}`, "", "", false},
		{"null object", `{"type":"ADDED","object":null}`, "", "", false},
		{"object cut short", `{"type":"ADDED","object":{"a":1}`, "", "", false},
		{"trailing garbage", `{"type":"ADDED","object":{}}x`, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, object, ok := splitEnvelope([]byte(tc.in))
			if ok != tc.ok || typ != tc.typ || string(object) != tc.object {
				t.Errorf("splitEnvelope(%q) = %q, %q, %v; want %q, %q, %v", tc.in, typ, object, ok, tc.typ, tc.object, tc.ok)
			}
		})
	}
}
