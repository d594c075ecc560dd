package messages

import (
	"bytes"
	"strings"
	"testing"
)

// A lone surrogate escape in a key and the raw bytes ED A0 80 (U+D800
// written as WTF-8, invalid UTF-8) are different keys: canonical writes
// them differently ("\ud800" and the three bytes as they are). But the
// object's duplicate-key check compares keys by unquote, which turns the
// escape into those very bytes, so the two count as one key and the first
// member is dropped: two different objects get one canonical form, and so
// one ID, the "false same" a merge trusts to drop a live message.
func TestCanonicalKeepsALoneSurrogateKeyApartFromItsWTF8Bytes(t *testing.T) {
	for _, p := range [][2]string{
		{"{\"\\ud800\":1,\"\xed\xa0\x80\":2}", "{\"\xed\xa0\x80\":2}"},
		{"{\"\xed\xa0\x80\":1,\"\\ud800\":2}", `{"\ud800":2}`},
		{"{\"a\\udbff\":{\"x\":1},\"a\xed\xaf\xbf\":[]}", "{\"a\xed\xaf\xbf\":[]}"},
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
			t.Errorf("%q (two members) and %q (one) have the same canonical form %q", p[0], p[1], a)
		}
		if (Message{Raw: []byte(p[0])}).ID() == (Message{Raw: []byte(p[1])}).ID() {
			t.Errorf("%q and %q have the same ID: a merge takes one for the other", p[0], p[1])
		}
	}
}

// canonical's string reader scans ahead over a run of plain bytes and
// checks the run is valid UTF-8; when it was not, it took one rune and
// scanned the same run again from the next byte: O(n²), a 160 KB message
// took ~17 s. Now it goes rune by rune through such a run, once. The time
// is BenchmarkCanonicalInvalidUTF8's to show (2–4 ms for 128 KB); here,
// that the bytes come out as they are.
func TestCanonicalKeepsInvalidUTF8AsItIs(t *testing.T) {
	const n = 128 << 10
	for name, text := range invalidUTF8Strings(n) {
		got, err := canonical(nil, []byte(`"`+text+`"`))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != `"`+text+`"` {
			t.Errorf("%s: the canonical form is not the string's bytes", name)
		}
	}
}

func invalidUTF8Strings(n int) map[string]string {
	return map[string]string{
		"ascii then 0xFF": strings.Repeat("a", n) + "\xff",
		"all 0xFF":        strings.Repeat("\xff", n),
		"é then cut rune": strings.Repeat("é", n/2) + "\xc3",
	}
}

func BenchmarkCanonicalInvalidUTF8(b *testing.B) {
	for name, text := range invalidUTF8Strings(128 << 10) {
		raw := []byte(`"` + text + `"`)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := canonical(nil, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
