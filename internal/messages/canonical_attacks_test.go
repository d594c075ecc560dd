package messages

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
// checks the run is valid UTF-8; when it is not, it takes one rune and
// scans the same run again from the next byte. A string of n plain bytes
// with one invalid byte at its end (or n invalid bytes) costs O(n²): a
// 160 KB message takes ~17 s, a 1 MB one many minutes, in the preview of
// GET /sessions/{id}, the audit's ?diff=true and every merge. A string
// scans in linear time, like a valid one.
func TestCanonicalIsLinearOnInvalidUTF8(t *testing.T) {
	const n = 128 << 10
	for name, raw := range map[string]string{
		"ascii then 0xFF": `"` + strings.Repeat("a", n) + "\xff\"",
		"all 0xFF":        `"` + strings.Repeat("\xff", n) + `"`,
		"é then cut rune": `"` + strings.Repeat("é", n/2) + "\xc3\"",
	} {
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := canonical(nil, []byte(raw))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s: canonical of a %d-byte string still runs after %v (a valid one takes well under a millisecond)", name, len(raw), time.Since(start).Round(time.Millisecond))
		}
	}
}
