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
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
)

// Framer splits a stream of JSON objects, such as a watch, into one frame
// per object. apimachinery's JSON framer runs the standard library's
// decoder over every frame twice (once to find its end, once to copy it);
// this one finds the end by counting brackets outside strings, a single
// pass. It does not check the JSON otherwise: the decoder that reads the
// frame does.
var Framer runtime.Framer = framer{}

type framer struct{}

// NewFrameReader returns a reader whose every Read returns one whole JSON
// object of r, or, when data is too short for it, as much as fits with
// io.ErrShortBuffer and the rest on the next Reads (the contract of
// apimachinery's JSON framer, which its streaming decoder relies on).
func (framer) NewFrameReader(r io.ReadCloser) io.ReadCloser {
	return &frameReader{r: r}
}

// NewFrameWriter writes frames as they are: JSON objects delimit
// themselves.
func (framer) NewFrameWriter(w io.Writer) io.Writer { return w }

// readChunk is how much the frame reader asks its stream for at a time.
const readChunk = 32 << 10

type frameReader struct {
	r io.ReadCloser
	// buf[start:] is read but not yet returned; the scan state covers
	// buf[start:start+scanned].
	buf     []byte
	start   int
	scanned int
	state   scanState
	// remaining is the rest of a frame that did not fit the caller's
	// buffer.
	remaining []byte
	err       error
}

// scanState is where a bracket count stands inside a partly read value.
type scanState struct {
	depth    int
	inString bool
	escaped  bool
	begun    bool
}

var errNotObject = errors.New("leanjson: the stream holds something other than a JSON object or array")

func (f *frameReader) Read(data []byte) (int, error) {
	if len(f.remaining) > 0 {
		n := copy(data, f.remaining)
		f.remaining = f.remaining[n:]
		if len(f.remaining) > 0 {
			return n, io.ErrShortBuffer
		}
		f.remaining = nil
		return n, nil
	}
	frame, err := f.next()
	if err != nil {
		return 0, err
	}
	n := copy(data, frame)
	if n < len(frame) {
		f.remaining = append([]byte(nil), frame[n:]...)
		return n, io.ErrShortBuffer
	}
	return n, nil
}

// next returns the next whole value, valid until the following call.
func (f *frameReader) next() ([]byte, error) {
	for {
		if end, ok, err := f.scan(); err != nil {
			return nil, err
		} else if ok {
			frame := f.buf[f.start:end]
			f.start, f.scanned, f.state = end, 0, scanState{}
			return frame, nil
		}
		if f.err != nil {
			if errors.Is(f.err, io.EOF) && f.state.begun {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, f.err
		}
		f.fill()
	}
}

// fill reads more of the stream, first moving what is left to the front.
func (f *frameReader) fill() {
	if f.start > 0 {
		n := copy(f.buf, f.buf[f.start:])
		f.buf = f.buf[:n]
		f.start = 0
	}
	if cap(f.buf)-len(f.buf) < readChunk {
		grown := make([]byte, len(f.buf), 2*cap(f.buf)+readChunk)
		copy(grown, f.buf)
		f.buf = grown
	}
	n, err := f.r.Read(f.buf[len(f.buf):cap(f.buf)])
	f.buf = f.buf[:len(f.buf)+n]
	if err != nil {
		f.err = err
	}
}

// scan advances the bracket count over what has been read and returns the
// end of the value when it is complete. White space before a value is
// skipped and dropped.
func (f *frameReader) scan() (end int, ok bool, err error) {
	s := &f.state
	for i := f.start + f.scanned; i < len(f.buf); i++ {
		c := f.buf[i]
		if s.begun {
			if s.step(c) {
				return i + 1, true, nil
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			f.start = i + 1
		case '{', '[':
			*s = scanState{begun: true, depth: 1}
		default:
			return 0, false, fmt.Errorf("%w: %q", errNotObject, c)
		}
	}
	f.scanned = len(f.buf) - f.start
	return 0, false, nil
}

// step counts one more byte of a begun value and reports whether it closed
// the value.
func (s *scanState) step(c byte) bool {
	switch {
	case s.inString:
		switch {
		case s.escaped:
			s.escaped = false
		case c == '\\':
			s.escaped = true
		case c == '"':
			s.inString = false
		}
	case c == '"':
		s.inString = true
	case c == '{' || c == '[':
		s.depth++
	case c == '}' || c == ']':
		s.depth--
		return s.depth == 0
	}
	return false
}

func (f *frameReader) Close() error { return f.r.Close() }

// valueEnd returns the index just past the JSON object or array that
// starts at data[i], by the same bracket count as the frame reader, or
// false when data ends first or no object or array starts there.
func valueEnd(data []byte, i int) (int, bool) {
	if i >= len(data) || (data[i] != '{' && data[i] != '[') {
		return 0, false
	}
	s := scanState{begun: true, depth: 1}
	for i++; i < len(data); i++ {
		if s.step(data[i]) {
			return i + 1, true
		}
	}
	return 0, false
}
