package msgcount_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// FuzzStructural compares the structural counter with the byte-at-a-time
// one, its oracle, on arbitrary bytes (NaN, Infinity, long integers and
// invalid UTF-8 included), in memory and read in pieces of every size the
// fuzzer's seed picks.
func FuzzStructural(f *testing.F) {
	if !msgcount.Structural {
		f.Skip("no structural counter on this platform")
	}
	for _, seed := range structuralSeeds() {
		f.Add([]byte(seed), uint8(7))
	}
	f.Fuzz(func(t *testing.T, doc []byte, piece uint8) {
		want := msgcount.CountBytesByte(doc)
		if got := msgcount.CountBytes(doc); got != want {
			t.Fatalf("CountBytes = %d, the byte-at-a-time counter says %d", got, want)
		}
		r := iotest.HalfReader(newPieceReader(doc, int(piece)+1))
		got, err := msgcount.Count(r)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Count in pieces of %d = %d, the byte-at-a-time counter says %d", int(piece)+1, got, want)
		}
	})
}

// pieceReader returns its bytes n at a time.
type pieceReader struct {
	data []byte
	n    int
}

func newPieceReader(data []byte, n int) *pieceReader { return &pieceReader{data, n} }

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[k:]
	return k, nil
}

func structuralSeeds() []string {
	long := bytes.Repeat([]byte("x"), 70)
	return []string{
		`{"messages":[]}`,
		`{"messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00"},2,[3]]}`,
		`{"messag\u0065s":[1],"messages":{}}`,
		`{"\u006d\u0065\u0073\u0073\u0061\u0067\u0065\u0073":[1,2,3]}`,
		` {"messages" : [ -1.5e+3 , 0 , true , false , null, NaN, -Infinity, Infinity ] } `,
		"{\"messages\":[\"\xe2\x82\xac\xf0\x9f\x98\x80\"]}",
		"{\"messages\":[\"\xed\xa0\x80\"]}",
		`{"messages":["a\\\"b\\\\","\\\\\\"]}`,
		`{"messages":[1,]}`,
		`{"messages":[01]}`,
		`{"messages":[1true]}`,
		`{"messages":["\u12"]}`,
		`{"messages":["` + string(long) + `\"` + string(long) + `"]}`,
		`{"x":"` + string(long) + `\\` + `","messages":[` + string(long[:10]) + `]}`,
		"{\"messages\":[]}\f",
		"{\"messages\":[\"\x1f\"]}",
		"{\"messages\":[]\x0c}",
		"{\"messages\":[1\x1a]}",
	}
}

// TestStructuralTokenAcrossChunks puts every kind of token at every offset
// across the 64-byte chunks of stage 1 (three chunks' worth), led by
// whitespace or by a string, and compares the structural counter with the
// byte-at-a-time one, in memory and read a byte at a time.
func TestStructuralTokenAcrossChunks(t *testing.T) {
	if !msgcount.Structural {
		t.Skip("no structural counter on this platform")
	}
	tokens := []string{
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
		"\"\xf0\x9f\x98\"", "\"\xed\xa0\x80\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xf4\x90\x80\x80\"",
		`"\u00e9\u12"`, `"\u00E9x"`, `"\uD83D\uDE00"`, `"\u00g9"`,
		`"\\"`, `"\\\""`, `"\\\\\\\\"`, `"\\\\\\\"\\"`, `"a\"b"`, `"\q"`, `"\/\b\f\n\r\t"`,
		"\"\x1f\"", "\"\x7f\"", "\"a\tb\"",
		`-Infinity`, `Infinity`, `NaN`, `-12.5e+10`, `0.0001E-5`, `01`, `1.`, `-`, `1e`, `true`, `truex`, `nul`,
		`{"m\u0065ssages":[1]}`, `{"a":[{}],"b":{}}`, `[[],[[]]]`, "\f", "\x0c1", "1\x1a",
	}
	for _, tok := range tokens {
		for off := 0; off < 3*64; off++ {
			ws := `{"messages":[` + strings.Repeat(" ", off) + tok + `]}`
			str := `{"x":"` + strings.Repeat("s", off) + `","messages":[` + tok + `,` + tok + `]}`
			key := `{` + strings.Repeat("\n", off) + `"m\u0065ssages":[` + tok + `]}`
			for _, doc := range []string{ws, str, key} {
				want := msgcount.CountBytesByte([]byte(doc))
				require.Equal(t, want, msgcount.CountBytes([]byte(doc)), "CountBytes of %q", doc)
				got, err := msgcount.Count(iotest.OneByteReader(strings.NewReader(doc)))
				require.NoError(t, err)
				require.Equal(t, want, got, "Count a byte at a time of %q", doc)
			}
		}
	}
}

// TestStructuralBackslashRuns checks runs of backslashes of every length
// ending at every place around a chunk's end: whether the quote after them
// closes the string decides the count.
func TestStructuralBackslashRuns(t *testing.T) {
	if !msgcount.Structural {
		t.Skip("no structural counter on this platform")
	}
	for run := 0; run < 140; run++ {
		for off := 0; off < 70; off++ {
			doc := `{"messages":["` + strings.Repeat("a", off) + strings.Repeat(`\`, run) + `", 1]}`
			want := msgcount.CountBytesByte([]byte(doc))
			require.Equal(t, want, msgcount.CountBytes([]byte(doc)), "run %d at %d", run, off)
		}
	}
}
