package sessiongen

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// format is how one application serialises its sessions. Stores written by
// real applications mix these: Python's json.dump (", " separators, every
// non-ASCII character as \uXXXX, often indent=2), JavaScript's
// JSON.stringify (compact, raw UTF-8), Go's encoding/json (compact, <, >
// and & escaped).
type format struct {
	indent bool // two spaces per level, one value per line
	spaced bool // ", " and ": " between items on one line (Python's default)
	ascii  bool // non-ASCII as \uXXXX escapes, surrogate pairs beyond the BMP
	html   bool // <, > and & as \u003c, \u003e, \u0026
}

// formats are the serialisations a session may get, with their weights.
var formats = []struct {
	f      format
	weight int
}{
	{format{spaced: true, ascii: true}, 30}, // json.dumps(obj)
	{format{indent: true, ascii: true}, 20}, // json.dump(obj, f, indent=2)
	{format{}, 25},                          // JSON.stringify(obj)
	{format{html: true}, 15},                // json.Marshal(v)
	{format{indent: true}, 10},              // json.dump(obj, f, indent=2, ensure_ascii=False)
}

// jsonWriter appends JSON text to b in its format, keeping track of commas
// and indentation. It checks nothing: the generator calls it correctly.
type jsonWriter struct {
	b        []byte
	f        format
	base     int   // nesting depth of the outermost value written
	counts   []int // values written so far in each open container
	afterKey bool  // a key was written; its value comes next
}

func (w *jsonWriter) reset(f format, base int) {
	w.b, w.f, w.base, w.counts, w.afterKey = w.b[:0], f, base, w.counts[:0], false
}

// prefix writes what comes before a value or key: a comma and a line break
// as the format wants, nothing right after a key.
func (w *jsonWriter) prefix() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if len(w.counts) == 0 {
		return
	}
	n := &w.counts[len(w.counts)-1]
	if *n > 0 {
		w.b = append(w.b, ',')
		if w.f.spaced && !w.f.indent {
			w.b = append(w.b, ' ')
		}
	}
	*n++
	if w.f.indent {
		w.newline(len(w.counts))
	}
}

func (w *jsonWriter) newline(depth int) {
	w.b = append(w.b, '\n')
	for range (w.base + depth) * 2 {
		w.b = append(w.b, ' ')
	}
}

func (w *jsonWriter) open(c byte) {
	w.prefix()
	w.b = append(w.b, c)
	w.counts = append(w.counts, 0)
}

func (w *jsonWriter) close(c byte) {
	n := w.counts[len(w.counts)-1]
	w.counts = w.counts[:len(w.counts)-1]
	if n > 0 && w.f.indent {
		w.newline(len(w.counts))
	}
	w.b = append(w.b, c)
}

func (w *jsonWriter) key(k string) {
	w.prefix()
	w.b = appendString(w.b, k, w.f)
	w.b = append(w.b, ':')
	if w.f.indent || w.f.spaced {
		w.b = append(w.b, ' ')
	}
	w.afterKey = true
}

func (w *jsonWriter) str(s string) {
	w.prefix()
	w.b = appendString(w.b, s, w.f)
}

func (w *jsonWriter) strBytes(s []byte) {
	w.prefix()
	w.b = appendString(w.b, s, w.f)
}

func (w *jsonWriter) integer(i int64) {
	w.prefix()
	w.b = strconv.AppendInt(w.b, i, 10)
}

// float writes f as Python's repr does for the values the generator
// uses: the shortest form, with ".0" on whole numbers.
func (w *jsonWriter) float(f float64) {
	w.prefix()
	start := len(w.b)
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		w.b = strconv.AppendFloat(w.b, f, 'e', -1, 64)
	} else {
		w.b = strconv.AppendFloat(w.b, f, 'f', -1, 64)
	}
	for _, c := range w.b[start:] {
		if c == '.' || c == 'e' || c == 'n' || c == 'I' {
			return
		}
	}
	w.b = append(w.b, '.', '0')
}

func (w *jsonWriter) boolean(v bool) {
	w.prefix()
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonWriter) null() {
	w.prefix()
	w.b = append(w.b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string in format f.
func appendString[T string | []byte](dst []byte, s T, f format) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			case c < 0x20, f.html && (c == '<' || c == '>' || c == '&'):
				dst = appendEscape(dst, rune(c))
			default:
				dst = append(dst, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if !f.ascii {
			dst = append(dst, s[i:i+size]...)
		} else if r >= 0x10000 {
			r -= 0x10000
			dst = appendEscape(dst, 0xd800+(r>>10))
			dst = appendEscape(dst, 0xdc00+(r&0x3ff))
		} else {
			dst = appendEscape(dst, r)
		}
		i += size
	}
	return append(dst, '"')
}

func appendEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

// tokenCounts writes the token counts of a "usage" object: prompt,
// completion and their total.
func (w *jsonWriter) tokenCounts(prompt, completion int) {
	w.key("prompt_tokens")
	w.integer(int64(prompt))
	w.key("completion_tokens")
	w.integer(int64(completion))
	w.key("total_tokens")
	w.integer(int64(prompt + completion))
}
