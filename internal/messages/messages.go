// Package messages reads the messages of a session document one at a
// time, says where its messages array lies, and tells when two messages
// are the same.
//
// Two messages are the same when their JSON values are equal: objects with
// the same members, whatever their order and the white space between them
// (of a member given twice, the last counts, as Python reads it), arrays
// with the same elements in the same order, and strings with the same text
// once unescaped ("\u00e9" is "é"; a lone surrogate "\ud800" is itself,
// not U+FFFD). Where equality is in doubt the messages are taken to differ,
// so that a merge keeps both rather than lose one: numbers are compared as
// written (1, 1.0 and 1e0 differ), NaN equals NaN (Python's NaN != NaN is
// of floats, not of messages), and a message nested deeper than 10,000
// levels is the same only as one written with the same bytes.
package messages

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ID identifies a message by its value: two messages are the same exactly
// when their IDs are equal (but for a SHA-256 collision).
type ID [16]byte

// Message is one element of a document's messages array.
type Message struct {
	// Index is its position in the array, from 0.
	Index int
	// Offset is where its first byte lies in the document.
	Offset int64
	// Raw is its JSON as the document writes it. It is the Message's own.
	Raw []byte
}

// ID returns the message's identity: the hash of its canonical form, or,
// for a message that is not one JSON value (or is nested beyond
// maxCanonDepth), of its bytes.
func (m Message) ID() ID {
	h := sha256.New()
	buf := make([]byte, 1, len(m.Raw)+1)
	buf[0] = 'v'
	if c, err := canonical(buf, m.Raw); err == nil {
		h.Write(c)
	} else {
		h.Write([]byte{'b'})
		h.Write(m.Raw)
	}
	var id ID
	copy(id[:], h.Sum(nil))
	return id
}

// value decodes the message, numbers as json.Number; nil when encoding/json
// cannot (NaN, Infinity).
func (m Message) value() any {
	var v any
	d := json.NewDecoder(bytes.NewReader(m.Raw))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return nil
	}
	return v
}

// Role is the message's "role" member when it is a string, else "".
func (m Message) Role() string {
	role, _ := m.Brief(0)
	return role
}

// Start is the beginning of the message's content, at most n runes, its
// white space runs made single spaces: its "content" member when it is a
// string, else that member's JSON, else the whole message's JSON; "…" ends
// a text cut short.
func (m Message) Start(n int) string {
	_, start := m.Brief(n)
	return start
}

// Brief is Role and Start(n) together, the message decoded once for both.
func (m Message) Brief(n int) (role, start string) {
	text := string(m.Raw)
	if o, ok := m.value().(map[string]any); ok {
		role, _ = o["role"].(string)
		if c, ok := o["content"]; ok {
			if s, ok := c.(string); ok {
				text = s
			} else if b, err := json.Marshal(c); err == nil {
				text = string(b)
			}
		}
	}
	return role, abbreviate(text, n)
}

// abbreviate is text on one line, cut to n runes.
func abbreviate(text string, n int) string {
	var b strings.Builder
	runes, space := 0, false
	for _, r := range text {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 || r == 0xA0 {
			space = b.Len() > 0
			continue
		}
		if runes == n {
			b.WriteString("…")
			return b.String()
		}
		if space {
			if runes++; runes == n {
				b.WriteString("…")
				return b.String()
			}
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		runes++
	}
	return b.String()
}

// ErrNotSession is returned for a document that is not a JSON object with
// a "messages" array.
var ErrNotSession = errors.New("not a session document (a JSON object with a \"messages\" array)")

// Layout is where the messages array that counts lies in a document, by
// byte offsets.
type Layout struct {
	// Count is how many elements it has.
	Count int
	// First is the offset of its first element's first byte, and End the
	// offset just past its last element; both are just past its '[' when
	// it is empty.
	First, End int64
	// Sep is what separates its first two elements (a comma and white
	// space); nil when it has fewer than two.
	Sep []byte
}

// maxSep bounds the separator Layout keeps.
const maxSep = 256

// Each reads the document from r and calls fn with each element of its
// top-level "messages" array, in order, and returns that array's Layout.
// An object that has several "messages" members is read as Python reads
// it, the last one counting: reset is called before each such array, and
// the consumer forgets what the earlier ones gave it.
//
// Each follows the document's structure (strings, nesting, the top-level
// keys) and refuses a document whose structure is not a session's, but it
// does not check every byte outside the messages: its documents have been
// counted (msgcount) as sessions, and the caller checks it read the bytes
// counted. Memory holds one message, and nothing of the rest of the
// document but a fixed buffer and a nesting depth.
func Each(r io.Reader, reset func(), fn func(Message) error) (Layout, error) {
	s := scanner{r: r, buf: make([]byte, 64<<10), reset: reset, fn: fn}
	return s.run()
}

type scanner struct {
	r     io.Reader
	buf   []byte
	reset func()
	fn    func(Message) error

	base int64 // offset of buf[0] in the document

	depth    int    // open containers
	expect   int    // at depth 1: what comes next (a key, a colon, a value, a comma)
	inKey    bool   // the string being read is a top-level key
	key      []byte // its first bytes
	isMsgKey bool   // the last top-level key read is "messages"
	inScalar bool   // a top-level member's number or literal is being read
	found    bool   // the last top-level "messages" is an array
	inMsgs   bool   // inside the latest such array, at depth 2 or more
	afterSep bool   // in the array, after a comma: an element must come

	elem    []byte // the element being read
	inElem  bool
	elemAt  int64
	elemEnd int64 // just past its last byte other than white space

	layout, last Layout
	sep          []byte // bytes since the end of the array's first element
}

const (
	wantKey = iota
	wantColon
	wantValue
	wantComma
)

// maxKey is the longest key text that can read "messages" (each letter
// escaped as \uXXXX).
const maxKey = 48

func (s *scanner) run() (Layout, error) {
	var inString, escape, started, ended bool
	for {
		n, rerr := s.r.Read(s.buf)
		if n < 0 || n > len(s.buf) {
			return Layout{}, errors.New("messages: the reader returned an invalid count")
		}
		b := s.buf[:n]
		seg := 0 // start of the current element's bytes in b
		for i := 0; i < len(b); i++ {
			c := b[i]
			if inString && s.inKey {
				// A top-level key, byte by byte: keys are short.
				switch {
				case escape:
					escape = false
				case c == '\\':
					escape = true
				case c == '"':
					inString = false
					s.endKey()
					continue
				}
				if len(s.key) <= maxKey {
					s.key = append(s.key, c)
				}
				continue
			}
			if inString {
				if escape {
					escape = false
				} else if j := nextQuoteOrBackslash(b[i:]); j < 0 {
					// Most bytes of a session are in strings: jump to the
					// next quote or backslash.
					i = len(b) - 1
				} else if i += j; b[i] == '\\' {
					escape = true
				} else {
					inString = false
				}
				if s.inElem {
					s.elemEnd = s.base + int64(i) + 1
				}
				continue
			}
			at := s.base + int64(i)
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				if s.inMsgs && s.depth == 2 && !s.inElem && s.layout.Count == 1 && len(s.sep) <= maxSep {
					s.sep = append(s.sep, c)
				}
				continue
			}
			if ended {
				return Layout{}, fmt.Errorf("messages: data after the document at byte %d: %w", at, ErrNotSession)
			}
			if !started {
				if c != '{' {
					return Layout{}, ErrNotSession
				}
				started = true
			}
			if s.inMsgs && s.depth == 2 {
				// An element of the messages array starts or ends here.
				switch {
				case c == ',' || c == ']':
					if s.inElem {
						s.elem = append(s.elem, b[seg:i]...)
						if err := s.endElem(); err != nil {
							return Layout{}, err
						}
					} else if c == ',' || s.afterSep {
						return Layout{}, fmt.Errorf("messages: an element is missing at byte %d: %w", at, ErrNotSession)
					}
					s.afterSep = c == ','
					if c == ',' && s.layout.Count == 1 {
						s.sep = append(s.sep[:0], ',')
					}
				case !s.inElem:
					s.inElem, s.afterSep, s.elemAt, seg = true, false, at, i
					switch s.layout.Count {
					case 0:
						s.layout.First = at
					case 1:
						s.layout.Sep = []byte{','}
						if len(s.sep) <= maxSep {
							s.layout.Sep = bytes.Clone(s.sep)
						}
					}
				}
			}
			if s.inElem {
				s.elemEnd = at + 1
			}
			if s.depth == 1 {
				if err := s.topLevel(c); err != nil {
					return Layout{}, err
				}
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				s.depth++
				if s.depth == 2 && s.isMsgKey && s.expect == wantComma && c == '[' {
					s.startArray(at)
				}
				if s.depth == 1 {
					s.expect = wantKey
				}
			case '}', ']':
				s.depth--
				switch s.depth {
				case -1:
					return Layout{}, fmt.Errorf("messages: an unopened %q at byte %d: %w", c, at, ErrNotSession)
				case 1:
					if s.inMsgs {
						s.inMsgs = false
						s.last = s.layout
					}
				case 0:
					ended = true
				}
			}
		}
		if s.inElem {
			s.elem = append(s.elem, b[seg:]...)
		}
		s.base += int64(n)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return Layout{}, fmt.Errorf("messages: %w", rerr)
		}
	}
	if !ended {
		return Layout{}, fmt.Errorf("messages: the document ends early: %w", ErrNotSession)
	}
	if !s.found {
		return Layout{}, ErrNotSession
	}
	return s.last, nil
}

// topLevel follows the members of the top-level object through c, a byte
// other than white space met at depth 1 outside strings.
func (s *scanner) topLevel(c byte) error {
	switch {
	case c == '}':
		if s.expect == wantKey || s.expect == wantComma {
			s.inScalar = false
			return nil
		}
	case s.expect == wantKey:
		if c == '"' {
			s.inKey, s.key = true, s.key[:0]
			return nil
		}
	case s.expect == wantColon:
		if c == ':' {
			s.expect = wantValue
			return nil
		}
	case s.expect == wantValue:
		if s.isMsgKey && c != '[' {
			s.found = false // the last "messages" is not an array
		}
		s.expect = wantComma
		s.inScalar = c != '"' && c != '[' && c != '{'
		return nil
	case c == ',':
		s.expect, s.inScalar = wantKey, false
		return nil
	case s.inScalar:
		return nil // the rest of a number or a literal
	}
	return fmt.Errorf("messages: unexpected %q in the top-level object: %w", c, ErrNotSession)
}

// startArray begins a top-level "messages" array whose '[' is at at.
func (s *scanner) startArray(at int64) {
	s.found, s.inMsgs, s.afterSep = true, true, false
	s.layout = Layout{First: at + 1, End: at + 1}
	s.sep = s.sep[:0]
	s.reset()
}

// endKey notes whether the top-level key just read is "messages".
func (s *scanner) endKey() {
	s.inKey = false
	s.isMsgKey = len(s.key) <= maxKey && keyIsMessages(s.key)
	s.expect = wantColon
}

// nextQuoteOrBackslash is the index of the first '"' or '\\' in b, or -1:
// two vectorised searches, the second only as far as the first found.
func nextQuoteOrBackslash(b []byte) int {
	q := bytes.IndexByte(b, '"')
	if q < 0 {
		q = len(b)
	}
	if bs := bytes.IndexByte(b[:q], '\\'); bs >= 0 {
		return bs
	}
	if q == len(b) {
		return -1
	}
	return q
}

// keyIsMessages reports whether the key's JSON text (without quotes) reads
// "messages".
func keyIsMessages(text []byte) bool {
	if bytes.IndexByte(text, '\\') < 0 {
		return string(text) == "messages"
	}
	var k string
	return json.Unmarshal(append(append([]byte{'"'}, text...), '"'), &k) == nil && k == "messages"
}

// endElem hands the element read to the consumer.
func (s *scanner) endElem() error {
	raw := s.elem[:s.elemEnd-s.elemAt]
	m := Message{Index: s.layout.Count, Offset: s.elemAt, Raw: bytes.Clone(raw)}
	s.elem, s.inElem = s.elem[:0], false
	s.layout.Count++
	s.layout.End = s.elemEnd
	return s.fn(m)
}
