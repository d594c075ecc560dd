// Package messages reads the messages of a session document one at a
// time, and tells when two messages are the same.
//
// Two messages are the same when their JSON values are equal: objects with
// the same members, whatever their order and the white space between them
// (of a member given twice, the last counts, as Python reads it), arrays
// with the same elements in the same order, strings with the same text
// once unescaped ("\u00e9" is "é"), and numbers written the same way (1
// and 1.0 differ: Python reads one as an int, the other as a float).
package messages

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ID identifies a message by its value: two messages are the same exactly
// when their IDs are equal (but for a SHA-256 collision).
type ID [16]byte

// Message is one element of a document's messages array.
type Message struct {
	// Index is its position in the array, from 0.
	Index int
	// Raw is its JSON as the document writes it.
	Raw json.RawMessage
	value any // decoded, numbers as json.Number
}

// ID returns the message's identity.
func (m Message) ID() ID {
	canonical, err := json.Marshal(m.value) // members sorted, strings escaped one way
	if err != nil {
		// A decoded value always encodes; should it not, the raw bytes
		// still tell equal messages apart from most others.
		canonical = m.Raw
	}
	sum := sha256.Sum256(canonical)
	return ID(sum[:16])
}

// Role is the message's "role" member when it is a string, else "".
func (m Message) Role() string {
	if o, ok := m.value.(map[string]any); ok {
		if r, ok := o["role"].(string); ok {
			return r
		}
	}
	return ""
}

// Start is the beginning of the message's content, at most n runes: its
// "content" member when it is a string, else that member's JSON, else the
// whole message's JSON; "…" ends a text cut short.
func (m Message) Start(n int) string {
	text := string(m.Raw)
	if o, ok := m.value.(map[string]any); ok {
		if c, ok := o["content"]; ok {
			if s, ok := c.(string); ok {
				text = s
			} else if b, err := json.Marshal(c); err == nil {
				text = string(b)
			}
		}
	}
	text = strings.Join(strings.Fields(text), " ") // one line
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)
	return string(runes[:n]) + "…"
}

// ErrNotSession is returned for a document that is not a JSON object with
// a "messages" array.
var ErrNotSession = errors.New("not a session document (a JSON object with a \"messages\" array)")

// Each reads the document from r and calls fn with each element of its
// top-level "messages" array, in order. An object that has several
// "messages" members is read as Python reads it, the last one counting:
// reset is called before each such array, and the consumer forgets what
// the earlier ones gave it.
//
// Memory holds one message at a time, and no more of the rest of the
// document than one of its tokens. The document must be standard JSON:
// Python's NaN and Infinity, which a session may hold, are refused here.
func Each(r io.Reader, reset func(), fn func(Message) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if t, err := dec.Token(); err != nil {
		return readError(err)
	} else if t != json.Delim('{') {
		return ErrNotSession
	}
	found := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return readError(err)
		}
		if t != "messages" {
			if err := skip(dec); err != nil {
				return err
			}
			continue
		}
		t, err = dec.Token()
		if err != nil {
			return readError(err)
		}
		if t != json.Delim('[') {
			found = false // the last "messages" is not an array
			if d, ok := t.(json.Delim); ok {
				if err := skipRest(dec, d); err != nil {
					return err
				}
			}
			continue
		}
		found = true
		reset()
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return readError(err)
			}
			m := Message{Index: i, Raw: raw}
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := d.Decode(&m.value); err != nil {
				return readError(err)
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return readError(err)
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return readError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("messages: data after the document")
	}
	if !found {
		return ErrNotSession
	}
	return nil
}

// skip reads one value, token by token.
func skip(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return readError(err)
	}
	if d, ok := t.(json.Delim); ok {
		return skipRest(dec, d)
	}
	return nil
}

// skipRest reads the rest of the array or object that d opened.
func skipRest(dec *json.Decoder, d json.Delim) error {
	if d != '[' && d != '{' {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return readError(err)
		}
		switch t {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
	return nil
}

// readError is err from reading or parsing the document.
func readError(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("messages: not standard JSON (%v): %w", err, ErrNotSession)
	}
	return fmt.Errorf("messages: %w", err)
}
