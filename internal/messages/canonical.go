package messages

import (
	"bytes"
	"errors"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// canonical appends to dst the canonical form of the JSON value raw: for
// a value encoding/json reads exactly (no NaN or Infinity, no lone
// surrogate escape, valid UTF-8), the bytes json.Marshal writes for it once
// decoded with UseNumber — members sorted by key, the last of a repeated
// key kept, strings escaped one way, numbers as written, no white space.
// Beyond that subset it stays one-to-one, where encoding/json is not: a
// lone surrogate is written \udXXX, a byte of invalid UTF-8 as itself, and
// NaN, Infinity and -Infinity as they are, none of which json.Marshal
// ever writes. So two values have the same canonical form exactly when
// they are equal as JSON values.
//
// It reads raw without decoding it into Go values, in one pass, and its
// memory is the output and a member index per open object.
func canonical(dst, raw []byte) ([]byte, error) {
	p := canonParser{in: raw}
	p.space()
	dst, err := p.value(dst, 0)
	if err != nil {
		return nil, err
	}
	if p.space(); p.i != len(p.in) {
		return nil, errCanon
	}
	return dst, nil
}

var errCanon = errors.New("messages: not a JSON value")

// maxCanonDepth bounds the nesting canonical follows; a deeper message is
// compared by its bytes.
const maxCanonDepth = 10_000

type canonParser struct {
	in []byte
	i  int
}

func (p *canonParser) space() {
	for p.i < len(p.in) {
		switch p.in[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *canonParser) value(dst []byte, depth int) ([]byte, error) {
	if p.i >= len(p.in) || depth > maxCanonDepth {
		return nil, errCanon
	}
	switch c := p.in[p.i]; {
	case c == '{':
		return p.object(dst, depth)
	case c == '[':
		return p.array(dst, depth)
	case c == '"':
		return p.string(dst)
	case c == '-' || c >= '0' && c <= '9':
		if bytes.HasPrefix(p.in[p.i:], []byte("-Infinity")) {
			return p.word(dst, "-Infinity")
		}
		return p.number(dst)
	case c == 't':
		return p.word(dst, "true")
	case c == 'f':
		return p.word(dst, "false")
	case c == 'n':
		return p.word(dst, "null")
	case c == 'N':
		return p.word(dst, "NaN")
	case c == 'I':
		return p.word(dst, "Infinity")
	}
	return nil, errCanon
}

func (p *canonParser) word(dst []byte, w string) ([]byte, error) {
	if !bytes.HasPrefix(p.in[p.i:], []byte(w)) {
		return nil, errCanon
	}
	p.i += len(w)
	return append(dst, w...), nil
}

// number copies a number as written, after checking its shape.
func (p *canonParser) number(dst []byte) ([]byte, error) {
	start := p.i
	if p.in[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.in) && p.in[p.i] >= '0' && p.in[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.i < len(p.in) && p.in[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, errCanon
	}
	if p.i < len(p.in) && p.in[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, errCanon
		}
	}
	if p.i < len(p.in) && (p.in[p.i] == 'e' || p.in[p.i] == 'E') {
		p.i++
		if p.i < len(p.in) && (p.in[p.i] == '+' || p.in[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, errCanon
		}
	}
	return append(dst, p.in[start:p.i]...), nil
}

func (p *canonParser) array(dst []byte, depth int) ([]byte, error) {
	p.i++ // '['
	dst = append(dst, '[')
	p.space()
	if p.i < len(p.in) && p.in[p.i] == ']' {
		p.i++
		return append(dst, ']'), nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			dst = append(dst, ',')
		}
		var err error
		p.space()
		if dst, err = p.value(dst, depth+1); err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.in) {
			return nil, errCanon
		}
		switch p.in[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return append(dst, ']'), nil
		default:
			return nil, errCanon
		}
	}
}

// member is one member of an object being canonicalised, by offsets into
// the output: its key's canonical string at [key, val) (with quotes), its
// value's at [val, end).
type member struct{ key, val, end int }

func (p *canonParser) object(dst []byte, depth int) ([]byte, error) {
	p.i++ // '{'
	start := len(dst)
	var members []member
	p.space()
	if p.i < len(p.in) && p.in[p.i] == '}' {
		p.i++
		return append(dst, '{', '}'), nil
	}
	for {
		p.space()
		if p.i >= len(p.in) || p.in[p.i] != '"' {
			return nil, errCanon
		}
		m := member{key: len(dst)}
		var err error
		if dst, err = p.string(dst); err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.in) || p.in[p.i] != ':' {
			return nil, errCanon
		}
		p.i++
		p.space()
		m.val = len(dst)
		if dst, err = p.value(dst, depth+1); err != nil {
			return nil, err
		}
		m.end = len(dst)
		members = append(members, m)
		p.space()
		if p.i >= len(p.in) {
			return nil, errCanon
		}
		if p.in[p.i] == '}' {
			p.i++
			break
		}
		if p.in[p.i] != ',' {
			return nil, errCanon
		}
		p.i++
	}
	// Sort by key, as encoding/json sorts a map's keys (their bytes: the
	// canonical strings order as the text they hold, but for escapes,
	// which are compared decoded below); of equal keys the last counts.
	body := slices.Clone(dst[start:])
	quoted := func(m member) []byte { return body[m.key-start : m.val-start] }
	key := func(m member) []byte { return unquote(quoted(m)) }
	// Keys that read the same text but are written apart (a lone
	// surrogate and its WTF-8 bytes) are different keys, ordered by their
	// canonical bytes.
	slices.SortStableFunc(members, func(a, b member) int {
		if c := bytes.Compare(key(a), key(b)); c != 0 {
			return c
		}
		return bytes.Compare(quoted(a), quoted(b))
	})
	dst = append(dst[:start], '{')
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(quoted(m), quoted(members[i+1])) {
			continue // a later member of the same key counts
		}
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, body[m.key-start:m.val-start]...)
		dst = append(dst, ':')
		dst = append(dst, body[m.val-start:m.end-start]...)
	}
	return append(dst, '}'), nil
}

// unquote is the text a canonical string holds, for ordering keys: only
// the escapes canonical writes need reading back.
func unquote(s []byte) []byte {
	s = s[1 : len(s)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			r := rune(hexVal(s[i+1])<<12 | hexVal(s[i+2])<<8 | hexVal(s[i+3])<<4 | hexVal(s[i+4]))
			i += 4
			if utf16.IsSurrogate(r) {
				// As itself (WTF-8), not U+FFFD: "\ud800" and "\ufffd"
				// are different keys.
				out = append(out, 0xE0|byte(r>>12), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
			} else {
				out = utf8.AppendRune(out, r)
			}
		default:
			out = append(out, s[i])
		}
	}
	return out
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

const hexDigits = "0123456789abcdef"

// needsEscape marks the ASCII bytes json.Marshal does not write as they
// are in a string.
var needsEscape = func() (t [utf8.RuneSelf]bool) {
	for c := range utf8.RuneSelf {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&'
	}
	return t
}()

// string reads a JSON string and writes it as json.Marshal writes a Go
// string (with its HTML escapes), but for lone surrogates and invalid
// UTF-8 (see canonical).
func (p *canonParser) string(dst []byte) ([]byte, error) {
	p.i++ // '"'
	dst = append(dst, '"')
	for {
		if p.i >= len(p.in) {
			return nil, errCanon
		}
		c := p.in[p.i]
		switch {
		case c == '"':
			p.i++
			return append(dst, '"'), nil
		case c == '\\':
			r, ok := p.escape()
			if !ok {
				return nil, errCanon
			}
			if r < 0 { // a lone surrogate, -r
				dst = append(dst, '\\', 'u', 'd', hexDigits[-r>>8&0xF], hexDigits[-r>>4&0xF], hexDigits[-r&0xF])
				continue
			}
			dst = appendRune(dst, r)
		case c < 0x20:
			return nil, errCanon
		case c < utf8.RuneSelf && !needsEscape[c] || c >= utf8.RuneSelf && c != 0xE2:
			// A run of bytes written as they are, if valid UTF-8: all
			// but the escapes, and but 0xE2, which starts U+2028 and
			// U+2029, which json.Marshal escapes.
			j := p.i + 1
			for j < len(p.in) && (p.in[j] < utf8.RuneSelf && !needsEscape[p.in[j]] || p.in[j] >= utf8.RuneSelf && p.in[j] != 0xE2) {
				j++
			}
			if run := p.in[p.i:j]; utf8.Valid(run) {
				dst = append(dst, run...)
				p.i = j
				continue
			}
			// Not valid UTF-8: rune by rune, to the end of the run.
			for p.i < j {
				r, size := utf8.DecodeRune(p.in[p.i:j])
				if r == utf8.RuneError && size == 1 {
					dst = append(dst, p.in[p.i]) // as itself: json.Marshal never writes it
				} else {
					dst = append(dst, p.in[p.i:p.i+size]...)
				}
				p.i += size
			}
		case c < utf8.RuneSelf:
			p.i++
			dst = appendRune(dst, rune(c))
		default:
			r, size := utf8.DecodeRune(p.in[p.i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, c) // as itself: json.Marshal never writes it
			case r == '\u2028' || r == '\u2029':
				dst = appendRune(dst, r)
			default:
				dst = append(dst, p.in[p.i:p.i+size]...)
			}
			p.i += size
		}
	}
}

// escape reads the escape at p.i: its rune, or -(the surrogate) for a lone
// one.
func (p *canonParser) escape() (rune, bool) {
	if p.i+1 >= len(p.in) {
		return 0, false
	}
	c := p.in[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	case 'u':
	default:
		return 0, false
	}
	r, ok := p.hex4()
	if !ok {
		return 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, true
	}
	if r < 0xDC00 && p.i+1 < len(p.in) && p.in[p.i] == '\\' && p.in[p.i+1] == 'u' {
		save := p.i
		p.i += 2
		if r2, ok := p.hex4(); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
			return utf16.DecodeRune(r, r2), true
		}
		p.i = save
	}
	return -r, true
}

func (p *canonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.in) {
		return 0, false
	}
	var r rune
	for _, c := range p.in[p.i : p.i+4] {
		v := hexVal(c)
		if v < 0 {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	p.i += 4
	return r, true
}

// appendRune writes r inside a string as json.Marshal does.
func appendRune(dst []byte, r rune) []byte {
	switch r {
	case '"', '\\':
		return append(dst, '\\', byte(r))
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '<', '>', '&', '\u2028', '\u2029':
		return append(dst, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xF])
	}
	if r == utf8.RuneError {
		return append(dst, "\ufffd"...)
	}
	return utf8.AppendRune(dst, r)
}
