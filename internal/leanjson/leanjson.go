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

// Package leanjson is a JSON serializer for client-go's REST clients that
// decodes the objects of a watch or a list in fewer passes over their
// bytes than apimachinery's.
//
// apimachinery's JSON serializer finds an object's kind by unmarshalling
// the whole document into a two-field struct (two more passes over it,
// with the standard library's decoder) before it decodes the object, and a
// watch event is its envelope decoded that way and then its object again.
// The API server writes kind and apiVersion as the first two fields of every
// object it sends, so reading them off the front is enough; anything else,
// or a kind the scheme does not know, goes to apimachinery's serializer
// unchanged. The decoded objects are the same: the same case-sensitive
// decoder, which keeps integers as int64, fills them.
package leanjson

import (
	"io"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	sigsjson "sigs.k8s.io/json"
)

// Serializer decodes JSON objects of the scheme's kinds. It encodes, and
// decodes what it does not recognise, with apimachinery's JSON serializer.
type Serializer struct {
	scheme   *runtime.Scheme
	fallback *k8sjson.Serializer
	// cuts are the members left out of every object decoded on the fast
	// path, each a path of keys from the top.
	cuts [][]string
}

// Option changes what a Serializer keeps.
type Option func(*Serializer)

// WithoutManagedFields leaves metadata.managedFields out of the objects it
// decodes on its fast path, for a cache whose transform drops them anyway:
// they are a sixth of a CertificateRequest's bytes and, with a timestamp
// to parse in every entry, more of its decoding.
func WithoutManagedFields() Option {
	return WithoutMembers("metadata", "managedFields")
}

// WithoutMembers leaves the member at path (keys from the top of the
// object, such as "status", "certificate") out of the objects it decodes on
// its fast path, for a cache that never reads it. Paths must not nest in
// one another.
func WithoutMembers(path ...string) Option {
	return func(s *Serializer) { s.cuts = append(s.cuts, path) }
}

var _ runtime.Serializer = (*Serializer)(nil)

// NewSerializer returns a Serializer for the scheme's kinds.
func NewSerializer(scheme *runtime.Scheme, opts ...Option) *Serializer {
	s := &Serializer{
		scheme:   scheme,
		fallback: k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme, scheme, k8sjson.SerializerOptions{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Decode decodes data into into, or into a new object of the kind data
// names when into is nil. A watch event's envelope, which names no kind, is
// decoded straight into the metav1.WatchEvent client-go passes.
func (s *Serializer) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if ev, ok := into.(*metav1.WatchEvent); ok {
		*ev = metav1.WatchEvent{}
		gvk := metav1.SchemeGroupVersion.WithKind("WatchEvent")
		if typ, object, ok := splitEnvelope(data); ok {
			// Not copied: client-go decodes the event's object before it
			// reads the next frame into the same buffer, and the decoder
			// copies whatever it keeps of it.
			ev.Type, ev.Object.Raw = typ, object
			return ev, &gvk, nil
		}
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, ev); err != nil {
			return nil, nil, err
		}
		return ev, &gvk, nil
	}
	gvk, ok := LeadingKind(data)
	if !ok {
		return s.fallback.Decode(data, defaults, into)
	}
	obj, ok := s.target(gvk, into)
	if !ok {
		return s.fallback.Decode(data, defaults, into)
	}
	data = cutMembers(data, s.cuts)
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, obj); err != nil {
		return nil, &gvk, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, &gvk, nil
}

// target returns the object to decode a gvk into: into emptied, when the
// scheme says into is of that kind, or a new one when into is nil. ok is
// false for anything else, which the fallback then judges.
func (s *Serializer) target(gvk schema.GroupVersionKind, into runtime.Object) (runtime.Object, bool) {
	if into == nil {
		obj, err := s.scheme.New(gvk)
		if err != nil {
			return nil, false
		}
		return obj, true
	}
	if _, isUnstructured := into.(runtime.Unstructured); isUnstructured {
		return nil, false
	}
	kinds, _, err := s.scheme.ObjectKinds(into)
	if err != nil || len(kinds) != 1 || kinds[0] != gvk {
		return nil, false
	}
	// Like apimachinery's decoder into a reused object, but without the
	// fields of the previous object leaking into the new one.
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, false
	}
	v.Elem().SetZero()
	return into, true
}

// Encode writes obj with apimachinery's JSON serializer.
func (s *Serializer) Encode(obj runtime.Object, w io.Writer) error {
	return s.fallback.Encode(obj, w)
}

// Identifier tells client-go's caches that this serializer's output is
// apimachinery's JSON.
func (s *Serializer) Identifier() runtime.Identifier {
	return s.fallback.Identifier()
}

// LeadingKind reads the group, version and kind off the front of a JSON
// object whose first two fields are kind and apiVersion, in either order,
// with plain string values, as the API server writes every object. ok is
// false for anything else; the caller then reads the document in full.
func LeadingKind(data []byte) (gvk schema.GroupVersionKind, ok bool) {
	p := scanner{data: data}
	if !p.consume('{') {
		return gvk, false
	}
	var kind, apiVersion string
	for i := range 2 {
		if i > 0 && !p.consume(',') {
			return gvk, false
		}
		key, ok := p.str()
		if !ok || !p.consume(':') {
			return gvk, false
		}
		val, ok := p.str()
		if !ok {
			return gvk, false
		}
		switch {
		case key == "kind" && kind == "":
			kind = val
		case key == "apiVersion" && apiVersion == "":
			apiVersion = val
		default:
			return gvk, false
		}
	}
	if kind == "" || apiVersion == "" {
		return gvk, false
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return gvk, false
	}
	return gv.WithKind(kind), true
}

// splitEnvelope reads a watch event written as the API server writes it,
// {"type":"...","object":{...}}, without decoding the object: its end is
// found by counting brackets, and its decoder checks it. ok is false for
// any other shape, which is then decoded in full.
func splitEnvelope(data []byte) (typ string, object []byte, ok bool) {
	p := scanner{data: data}
	if !p.consume('{') {
		return "", nil, false
	}
	if key, ok := p.str(); !ok || key != "type" || !p.consume(':') {
		return "", nil, false
	}
	if typ, ok = p.str(); !ok || !p.consume(',') {
		return "", nil, false
	}
	if key, ok := p.str(); !ok || key != "object" || !p.consume(':') {
		return "", nil, false
	}
	p.skipSpace()
	start := p.pos
	end, ok := valueEnd(data, start)
	if !ok {
		return "", nil, false
	}
	p.pos = end
	if !p.consume('}') {
		return "", nil, false
	}
	if p.skipSpace(); p.pos != len(data) {
		return "", nil, false
	}
	return typ, data[start:end], true
}

// cutMembers returns data without the members at paths, or data itself
// when it has none of them. A path any key of which on the way has an
// escape, or whose parent is not an object, is left in. Each cut copies
// what is left once: a copy costs far less than decoding what it cuts.
func cutMembers(data []byte, paths [][]string) []byte {
	for _, path := range paths {
		data = cutMember(data, path)
	}
	return data
}

func cutMember(data []byte, path []string) []byte {
	if len(path) == 0 {
		return data
	}
	obj := 0
	for _, key := range path[:len(path)-1] {
		var ok bool
		if _, obj, _, ok = member(data, obj, key); !ok {
			return data
		}
	}
	from, to, ok := memberWithComma(data, obj, path[len(path)-1])
	if !ok {
		return data
	}
	out := make([]byte, 0, len(data)-(to-from))
	out = append(out, data[:from]...)
	return append(out, data[to:]...)
}

// member finds the member key of the object at data[obj]: where its key
// starts and where its value starts and ends.
func member(data []byte, obj int, key string) (keyStart, start, end int, ok bool) {
	p := scanner{data: data, pos: obj}
	if !p.consume('{') {
		return 0, 0, 0, false
	}
	for {
		p.skipSpace()
		keyStart = p.pos
		k, ok := p.str()
		if !ok || !p.consume(':') {
			return 0, 0, 0, false
		}
		p.skipSpace()
		start = p.pos
		if end, ok = skipValue(data, start); !ok {
			return 0, 0, 0, false
		}
		if k == key {
			return keyStart, start, end, true
		}
		p.pos = end
		if !p.consume(',') {
			return 0, 0, 0, false
		}
	}
}

// memberWithComma is the span to delete to remove the member key of the
// object at data[obj]: the member and the comma after it, or, for the last
// member, the comma before it.
func memberWithComma(data []byte, obj int, key string) (from, to int, ok bool) {
	keyStart, _, end, ok := member(data, obj, key)
	if !ok {
		return 0, 0, false
	}
	p := scanner{data: data, pos: end}
	if p.consume(',') {
		p.skipSpace()
		return keyStart, p.pos, true
	}
	from = keyStart
	for from > obj && data[from-1] != ',' && data[from-1] != '{' {
		from--
	}
	if data[from-1] == ',' {
		from--
	}
	return from, end, true
}

// skipValue returns the index just past the JSON value at data[i].
func skipValue(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}
	switch data[i] {
	case '{', '[':
		return valueEnd(data, i)
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1, true
			}
		}
		return 0, false
	}
	for j := i; j < len(data); j++ {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j, j > i
		}
	}
	return len(data), len(data) > i
}

// scanner reads the few JSON tokens LeadingKind and splitEnvelope need.
type scanner struct {
	data []byte
	pos  int
}

func (p *scanner) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *scanner) consume(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// str reads a string without escapes; a string with one is refused rather
// than unescaped, since no kind or apiVersion has one.
func (p *scanner) str() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	start := p.pos
	for p.pos < len(p.data) {
		switch c := p.data[p.pos]; {
		case c == '"':
			s := string(p.data[start:p.pos])
			p.pos++
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		}
		p.pos++
	}
	return "", false
}

// NegotiatedSerializer offers only JSON, decoded by a Serializer, for a
// rest.Config's NegotiatedSerializer. Like controller-runtime's own, it
// converts nothing: objects are decoded as the server sent them, and typed
// objects come out with their kind cleared, as client-go's caches keep
// them.
func NegotiatedSerializer(scheme *runtime.Scheme, opts ...Option) runtime.NegotiatedSerializer {
	s := NewSerializer(scheme, opts...)
	return negotiated{scheme: scheme, info: runtime.SerializerInfo{
		MediaType:        runtime.ContentTypeJSON,
		MediaTypeType:    "application",
		MediaTypeSubType: "json",
		EncodesAsText:    true,
		Serializer:       s,
		StreamSerializer: &runtime.StreamSerializerInfo{
			EncodesAsText: true,
			Serializer:    s,
			Framer:        Framer,
		},
	}}
}

type negotiated struct {
	scheme *runtime.Scheme
	info   runtime.SerializerInfo
}

func (n negotiated) SupportedMediaTypes() []runtime.SerializerInfo {
	return []runtime.SerializerInfo{n.info}
}

func (n negotiated) EncoderForVersion(e runtime.Encoder, gv runtime.GroupVersioner) runtime.Encoder {
	return runtime.WithVersionEncoder{Version: gv, Encoder: e, ObjectTyper: n.scheme}
}

func (negotiated) DecoderToVersion(d runtime.Decoder, _ runtime.GroupVersioner) runtime.Decoder {
	return runtime.WithoutVersionDecoder{Decoder: d}
}
