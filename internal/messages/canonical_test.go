package messages

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"unicode/utf8"
)

// surrogateEscape finds an escape that may be half of a surrogate pair.
var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F]`)

// Where encoding/json reads a value exactly, its canonical form is what
// json.Marshal writes for it decoded: the form identity was defined by.
func FuzzCanonicalIsJSONMarshal(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":[true,false,null],"c":{"z":"\u00e9","y":"<&>"}}`, `{"a":1,"a":2}`, `"\u2028\b\f\u0001/\/"`,
		`-0.5e+10`, `[]`, `{}`, `{"\u0061":1,"a":2}`, `{"é":1,"e":2,"\u00e9":3}`, `"\ud83d\ude00"`, ` [ 1 , 2 ] `,
		`{"a":{"b":{"c":[{"d":"\"\\"}]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := canonical(nil, raw)
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if !json.Valid(raw) || d.Decode(&v) != nil || !utf8.Valid(raw) || surrogateEscape.Match(raw) {
			return // outside the subset where the two agree
		}
		want, merr := json.Marshal(v)
		if merr != nil {
			return // a json.Number encoding/json refuses to write
		}
		if err != nil {
			t.Fatalf("canonical(%q): %v; encoding/json reads it", raw, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("canonical(%q) = %q, json.Marshal %q", raw, got, want)
		}
	})
}

// Beyond that subset the form stays one-to-one.
func TestCanonicalTellsApartWhatEncodingJSONConfuses(t *testing.T) {
	for _, p := range [][2]string{
		{`"\ud800"`, `"\ufffd"`}, {`"\ud800"`, `"\udc00"`}, {"\"\xff\"", `"\ufffd"`},
		{`{"\ud800":1,"\ufffd":2}`, `{"\ufffd":2}`}, {`NaN`, `null`}, {`[Infinity]`, `[-Infinity]`},
	} {
		a, err := canonical(nil, []byte(p[0]))
		if err != nil {
			t.Fatal(p[0], err)
		}
		b, err := canonical(nil, []byte(p[1]))
		if err != nil {
			t.Fatal(p[1], err)
		}
		if bytes.Equal(a, b) {
			t.Errorf("%s and %s have the same canonical form %q", p[0], p[1], a)
		}
	}
	for _, bad := range []string{``, `[1,]`, `{"a"}`, `01`, `"\x01"`, `[1] 2`, `{"a":1,}`, `"\u12"`, `tru`} {
		if _, err := canonical(nil, []byte(bad)); err == nil {
			t.Errorf("canonical(%q) took it for a value", bad)
		}
	}
}
