package msgcount_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

var errBoom = errors.New("boom")

// sameAsOracle checks CountBytes and Count through several readers against
// the byte-at-a-time counter, and that CountBytes leaves doc as it was.
func sameAsOracle(t *testing.T, doc []byte, what string) {
	t.Helper()
	want := msgcount.CountBytesByte(doc)
	orig := bytes.Clone(doc)
	got := msgcount.CountBytes(doc)
	if got != want {
		t.Fatalf("%s: CountBytes = %d, oracle %d (len %d)", what, got, want, len(doc))
	}
	if !bytes.Equal(orig, doc) {
		t.Fatalf("%s: CountBytes modified its argument", what)
	}
	for _, r := range []io.Reader{
		bytes.NewReader(doc),
		iotest.HalfReader(bytes.NewReader(doc)),
		iotest.DataErrReader(bytes.NewReader(doc)),
		newPieceReader(doc, 64),
		newPieceReader(doc, 65),
		newPieceReader(doc, 63),
	} {
		got, err := msgcount.Count(r)
		if err != nil || got != want {
			t.Fatalf("%s: Count(%T) = %d, %v; oracle %d (len %d)", what, r, got, err, want, len(doc))
		}
	}
}

// Holds: every sequence of up to four bytes from a set of representative
// bytes, in a string, placed across the 16-byte lane, the 32-byte half and
// the 64-byte chunk boundaries of stage 1, in memory.
func TestAttackUTF8Brute(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	reps := []byte{0x00, 0x20, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
		0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF}
	const pre = `{"messages":["`
	buf := make([]byte, 0, 256)
	for _, off := range []int{15, 31, 47, 62, 63} {
		for n := 1; n <= 4; n++ {
			idx := make([]int, n)
			for {
				buf = append(buf[:0], pre...)
				for len(buf) < off-1 {
					buf = append(buf, 'a')
				}
				for _, i := range idx {
					buf = append(buf, reps[i])
				}
				buf = append(buf, `"]}`...)
				want := msgcount.CountBytesByte(buf)
				if got := msgcount.CountBytes(buf); got != want {
					t.Fatalf("%q: CountBytes = %d, oracle %d", buf, got, want)
				}
				k := 0
				for ; k < n; k++ {
					if idx[k]++; idx[k] < len(reps) {
						break
					}
					idx[k] = 0
				}
				if k == n {
					break
				}
			}
		}
	}
}

// The structural counter reads whole 64-byte chunks: past the first syntax
// error it reads (and waits for) at most the rest of its chunk, and answers
// from that chunk without reading further. The byte-at-a-time counter stops
// at the error itself. The package doc says so; the count is the same.
func TestReadsAtMostTheChunkOfASyntaxError(t *testing.T) {
	if !msgcount.Structural {
		t.Skip("no structural counter on this platform")
	}
	for _, doc := range []string{`{]`, `{"messages":[1,]`, `{"messages":[01]`} {
		chunk := doc + string(bytes.Repeat([]byte(" "), 64-len(doc)))
		for _, r := range []*countingReader{
			{r: io.MultiReader(bytes.NewReader([]byte(chunk)), iotest.ErrReader(errors.New("read past the chunk")))},
			{r: iotest.OneByteReader(io.MultiReader(bytes.NewReader([]byte(chunk)), iotest.ErrReader(errors.New("read past the chunk"))))},
		} {
			n, err := msgcount.Count(r)
			require.NoError(t, err, "%q", doc)
			require.Equal(t, msgcount.NotSession, n, "%q", doc)
		}
		// Before the chunk is whole, a failing read is reported (the
		// byte-at-a-time counter would not have read it).
		n, err := msgcount.Count(io.MultiReader(bytes.NewReader([]byte(doc)), iotest.ErrReader(errBoom)))
		require.ErrorIs(t, err, errBoom)
		require.Equal(t, msgcount.NotSession, n)
		n, err = msgcount.CountByte(io.MultiReader(bytes.NewReader([]byte(doc)), iotest.ErrReader(errBoom)))
		require.NoError(t, err)
		require.Equal(t, msgcount.NotSession, n)
	}
}

// The other way round: a chunk that ends in a broken UTF-8 sequence or
// escape is judged on its own, where the byte-at-a-time counter reads on
// for the rest of the sequence (and so meets the read error).
func TestJudgesAChunkWithoutReadingOn(t *testing.T) {
	if !msgcount.Structural {
		t.Skip("no structural counter on this platform")
	}
	for _, tail := range []string{"\xf0\x28", `\q`, `\u00g`} {
		doc := `{"a":"` + string(bytes.Repeat([]byte("x"), 64-6-len(tail))) + tail
		require.Len(t, doc, 64)
		mk := func() io.Reader {
			return io.MultiReader(bytes.NewReader([]byte(doc)), iotest.ErrReader(errBoom))
		}
		n, err := msgcount.Count(mk())
		require.NoError(t, err, "%q", tail)
		require.Equal(t, msgcount.NotSession, n, "%q", tail)
		n, err = msgcount.CountByte(mk())
		require.ErrorIs(t, err, errBoom, "%q", tail)
		require.Equal(t, msgcount.NotSession, n, "%q", tail)
	}
}

// windowDocs builds documents with tok placed so that it starts k bytes
// before byte 64 KiB of the document, for every k from -2 to len(tok)+2,
// led by whitespace, by a long string, or as a top-level key (tok then
// being a key body).
func windowDocs(tok string, asKey bool) [][]byte {
	const w = msgcount.BufSize
	var docs [][]byte
	for k := -2; k <= len(tok)+2; k++ {
		at := w - k
		if asKey {
			// {"x":"sss","<tok>":[1,2]}
			head := `{"x":"`
			fill := at - len(head) - len(`","`)
			doc := head + string(bytes.Repeat([]byte("s"), fill)) + `","` + tok + `":[1,2]}`
			docs = append(docs, []byte(doc))
			// and with whitespace before the key
			head = `{`
			doc = head + string(bytes.Repeat([]byte(" "), at-len(head)-1)) + `"` + tok + `":[1,2]}`
			docs = append(docs, []byte(doc))
			continue
		}
		head := `{"messages":[`
		doc := head + string(bytes.Repeat([]byte(" "), at-len(head))) + tok + `]}`
		docs = append(docs, []byte(doc))
		doc = head + `"` + string(bytes.Repeat([]byte("s"), at-len(head)-3)) + `",` + tok + `]}`
		docs = append(docs, []byte(doc))
	}
	return docs
}

var windowTokens = []string{
	"-Infinity", "Infinity", "NaN", "-12.5e+10", "0.0001E-5", "01", "1.", "-", "1e", "true", "truex", "nul", "-0", "-I",
	"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\"", "\"\xed\xa0\x80\"", "\"\xc3\"",
	`"\u00e9\u12"`, `"\u006d\u0065"`, `"\uD83D\uDE00"`, `"\u00g9"`, `"\\\\\\\"\\"`, `"a\"b"`, `"\q"`, "\"\x1f\"", "\"\x7f\"",
	"\x0c", "1\x1a", "\xff", "\xc0", "\xf5", "[[],{}]", `{"messages":[1]}`,
}

var windowKeys = []string{
	"messages", "messagesx", "message", `m\u0065ssages`, `\u006d\u0065\u0073\u0073\u0061\u0067\u0065\u0073`,
	`\u006d\u0065\u0073\u0073\u0061\u0067\u0065\u0073x`, `\u006D\u0065\u0073\u0073\u0061\u0067\u0065\u0073`,
	`\u006d\u0065\u0073\u0073\u0061\u0067\u0065\u00733`, `messages\u0000`, `\\messages`, `messag\"s`,
	`\u006d\u0065\u0073\u0073\u0061\u0067\u0065s\u0073`, "m\xc3\xa9ssages", `\u006d\u0065\u0073\u0073\u0061\u0067\u0065\u0073\\`,
}

// Holds: tokens and top-level keys across the 64 KiB window boundary.
func TestAttackTokensAcrossWindow(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	for _, tok := range windowTokens {
		for i, doc := range windowDocs(tok, false) {
			sameAsOracle(t, doc, tok+" #"+string(rune('0'+i%10)))
		}
	}
	for _, key := range windowKeys {
		for _, doc := range windowDocs(key, true) {
			sameAsOracle(t, doc, "key "+key)
		}
	}
}

// Holds: integers of 4299 to 4302 digits (signed or not, with a fraction or
// an exponent or not) crossing the 64 KiB window and 64-byte chunks.
func TestAttackLongIntegersAcrossWindow(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	for _, digits := range []int{4299, 4300, 4301, 4302} {
		num := string(bytes.Repeat([]byte("7"), digits))
		for _, tok := range []string{num, "-" + num, num + ".5", num + "e1", "-" + num + "E-1", num + "x"} {
			head := `{"messages":[`
			for _, at := range []int{msgcount.BufSize - len(tok) - 1, msgcount.BufSize - len(tok), msgcount.BufSize - len(tok) + 1,
				msgcount.BufSize - 4300, msgcount.BufSize - 1, msgcount.BufSize, 100, 64 - len(head)} {
				pad := at - len(head)
				if pad < 0 {
					pad = 0
				}
				doc := head + string(bytes.Repeat([]byte(" "), pad)) + tok + `,1]}`
				sameAsOracle(t, []byte(doc), tok[:3])
			}
		}
	}
}

// Holds: documents of exactly n bytes for n around multiples of 64 and of
// 64 KiB, ending in whitespace, in a cut UTF-8 sequence, a cut escape, a
// number or a word.
func TestAttackDocumentLengths(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	ends := []string{"]}", "]} ", "]}\n\t\r ", "]}\f", "]}\x1a", "]}\xc3", "]}\xe2\x82", "]}\xf0\x9f\x98", "]}\xc3\xa9",
		`]}"`, `]}\`, "]", "", `,1]}`, `,-]}`, `,tru`, `,"\u00e`, `,"\`, "],\"messages\":[]}", "],\"messages\":7}"}
	for _, n := range []int{63, 64, 65, 127, 128, 129, msgcount.BufSize - 1, msgcount.BufSize, msgcount.BufSize + 1,
		msgcount.BufSize + 63, msgcount.BufSize + 64, 2 * msgcount.BufSize, 2*msgcount.BufSize + 1} {
		for _, e := range ends {
			head := `{"messages":["`
			fill := n - len(head) - 1 - len(e)
			if fill < 0 {
				continue
			}
			doc := []byte(head + string(bytes.Repeat([]byte("a"), fill)) + `"` + e)
			require.Len(t, doc, n)
			sameAsOracle(t, doc, e)
			// And the same with the whole tail being whitespace.
			doc = []byte(`{"messages":[1]}` + string(bytes.Repeat([]byte(" "), max(0, n-16-len(e)))) + e)
			sameAsOracle(t, doc, "ws "+e)
		}
	}
	sameAsOracle(t, nil, "empty")
	sameAsOracle(t, []byte("   "), "spaces")
	sameAsOracle(t, []byte("{"), "{")
	sameAsOracle(t, bytes.Repeat([]byte(" "), msgcount.BufSize+10), "spaces over a window")
	sameAsOracle(t, append(bytes.Repeat([]byte(" "), msgcount.BufSize+10), `{"messages":[]}`...), "ws lead over a window")
}

// Holds: nesting of more than 64 levels (more than one stack word) across
// windows, closing with the wrong bracket at every depth around 64.
func TestAttackDeepNesting(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	for _, depth := range []int{62, 63, 64, 65, 127, 128, 129, 20000} {
		var open, shut []byte
		for i := 0; i < depth; i++ {
			if i%3 == 0 {
				open = append(open, `{"k":`...)
				shut = append([]byte{'}'}, shut...)
			} else {
				open = append(open, '[')
				shut = append([]byte{']'}, shut...)
			}
		}
		doc := []byte(`{"messages":[` + string(open) + "1" + string(shut) + `,2]}`)
		sameAsOracle(t, doc, "deep")
		for _, at := range []int{60, 61, 62, 63, 64, 65} {
			if at < len(shut) {
				bad := bytes.Clone(doc)
				i := bytes.Index(bad, shut) + at
				if bad[i] == '}' {
					bad[i] = ']'
				} else {
					bad[i] = '}'
				}
				sameAsOracle(t, bad, "deep wrong closer")
			}
		}
	}
}

// Holds: one Counter, in memory and from readers, through documents that
// stop in every kind of state (in a string, after a backslash, in a \u
// escape, in a number, in a key carried across windows, in a UTF-8
// sequence, deep), each followed by documents that would go wrong if any of
// it leaked.
func TestAttackCounterReuse(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	w := msgcount.BufSize
	sp := func(n int) string { return string(bytes.Repeat([]byte(" "), n)) }
	stoppers := []string{
		`{"messages":["abc` + sp(100) + "\x01",
		`{"messages":["ab\` + sp(0),
		`{"messages":["\u00`,
		`{"messages":[123`,
		`{"messages":[-`,
		`{"messages":[tr`,
		`{"x":1,` + sp(w-10) + `"messa`,
		`{"x":1,` + sp(w-10) + `"\u006d\u0065\u0073\u0073\u0061\u0067\u0065`,
		`{"messages":["` + sp(w-20) + "\xf0\x9f",
		`{"messages":[` + string(bytes.Repeat([]byte("["), 200)) + `1,}`,
		`{"messages":[1]}x` + sp(w),
		`{"messages":[` + sp(w-14) + `"` + string(bytes.Repeat([]byte(`\`), 7)),
		`{"a":"` + string(bytes.Repeat([]byte("z"), 57)) + `\u` + "\xff",
	}
	followers := []string{
		`{"messages":[1,2]}`,
		`{"ssages":[1]}`,
		`{"messages":[1,2],"x":"\\"}`,
		`{"a":"}","messages":[3,4,5]}`,
		`{"messages":[u0041"]}`,
		`{"messages":[1]}` + sp(w),
		`{"messages":[` + sp(w-20) + `"\u0041",7]}`,
		"{\"messages\":[\"\xa9\"]}",
		`{"messages":[` + string(bytes.Repeat([]byte("]"), 3)) + `}`,
		`{"messages":[9` + sp(w) + `]}`,
	}
	var c msgcount.Counter
	for _, s := range stoppers {
		for _, f := range followers {
			for _, doc := range []string{s, f} {
				want := msgcount.CountBytesByte([]byte(doc))
				require.Equal(t, want, c.CountBytes([]byte(doc)), "after %.40q: %.40q", s, doc)
				for _, r := range []io.Reader{
					newPieceReader([]byte(doc), 64),
					iotest.HalfReader(bytes.NewReader([]byte(doc))),
					io.MultiReader(bytes.NewReader([]byte(doc)), iotest.ErrReader(errBoom)),
				} {
					got, err := c.Count(r)
					if err != nil {
						got = -2
					}
					wgot, werr := msgcount.CountByte(bytes.NewReader([]byte(doc)))
					require.NoError(t, werr)
					if got != -2 {
						require.Equal(t, wgot, got, "after %.40q: %.40q", s, doc)
					}
				}
			}
		}
	}
}

// Holds: a warmed-up Counter allocates nothing per document, in memory or
// from a reader, and neither do the package-level functions.
func TestAttackNoAllocs(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	docs := [][]byte{
		[]byte(`{"messages":[1,2,3]}`),
		append(append([]byte(`{"messages":["`), bytes.Repeat([]byte("\xc3\xa9\\n"), 70000)...), `"]}`...),
		append([]byte(`{"x":1,`+string(bytes.Repeat([]byte(" "), msgcount.BufSize-10))), `"\u006d\u0065\u0073\u0073\u0061\u0067\u0065\u0073":[1]}`...),
		[]byte(`{"messages":[` + string(bytes.Repeat([]byte("["), 3000)) + string(bytes.Repeat([]byte("]"), 3000)) + `]}`),
	}
	var c msgcount.Counter
	for _, d := range docs {
		c.CountBytes(d)
		c.Count(bytes.NewReader(d))
	}
	r := bytes.NewReader(nil)
	allocs := testing.AllocsPerRun(10, func() {
		for _, d := range docs {
			c.CountBytes(d)
			r.Reset(d)
			c.Count(r)
		}
	})
	// (Not the package-level functions: their sync.Pool may drop a Counter
	// at any time, and does so at random under the race detector.)
	require.Zero(t, allocs)
}

// eofReader gives its data in reads of the given sizes (the last repeated),
// returning io.EOF with the last bytes, and empty reads every so often.
type eofReader struct {
	data  []byte
	sizes []int
	empty int // empty reads before each read with data
	leftE int
}

func (r *eofReader) Read(p []byte) (int, error) {
	if r.leftE > 0 {
		r.leftE--
		return 0, nil
	}
	r.leftE = r.empty
	n := r.sizes[0]
	if len(r.sizes) > 1 {
		r.sizes = r.sizes[1:]
	}
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// Holds: a reader that fills the buffer exactly and says io.EOF in the same
// call, at and around the 64 KiB window; 99 empty reads before every read;
// documents whose last token ends the read.
func TestAttackReaderEOFAtWindow(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	w := msgcount.BufSize
	for _, n := range []int{w - 1, w, w + 1, w + 63, w + 64, 2 * w} {
		for _, e := range []string{`]}`, `1]}`, `"]}`, "\"\xc3\xa9\"]}", `,"\u0041"]}`, `,-Infinity]}`, "]}\xc3", `,tru]}`} {
			head := `{"messages":[0`
			doc := []byte(head + string(bytes.Repeat([]byte(" "), n-len(head)-len(e))) + e)
			require.Len(t, doc, n)
			want := msgcount.CountBytesByte(doc)
			for _, r := range []io.Reader{
				&eofReader{data: doc, sizes: []int{n}},
				&eofReader{data: doc, sizes: []int{w, w}},
				&eofReader{data: doc, sizes: []int{w - 1, 1, w}},
				&eofReader{data: doc, sizes: []int{64, w}},
				&eofReader{data: doc, sizes: []int{1000, 7}, empty: 99},
			} {
				got, err := msgcount.Count(r)
				require.NoError(t, err)
				require.Equal(t, want, got, "len %d, end %q", n, e)
			}
		}
	}
}

// Holds: every snippet of three bytes from an alphabet of JSON's sharp
// edges, across the first 64-byte chunk (which in memory is also the end of
// the first window, and from a 64-byte reader the end of every window), as
// a value, in a string, as a top-level key and between values.
func TestAttackSnippetsAcrossChunk(t *testing.T) {
	if !msgcount.Structural {
		t.Skip()
	}
	alpha := []byte("\"\\u0-1eE.I]}[{:, \x0c\x1a\xc3\xa9\xffa")
	templates := [][2]string{{`{"messages":[`, `]}`}, {`{"messages":[` + "\x00", `"]}`}, {`{"x":1,` + "\x00", `":[1]}`}, {`{"messages":[1,`, `,2]}`}}
	var snip [3]byte
	for _, a := range alpha {
		for _, b := range alpha {
			for _, c := range alpha {
				snip = [3]byte{a, b, c}
				for _, tp := range templates {
					for cross := 1; cross <= 3; cross++ {
						head := tp[0]
						quote := ""
						if head[len(head)-1] == 0 {
							head, quote = head[:len(head)-1], `"`
						}
						fill := 64 - cross - len(head) - len(quote)
						doc := []byte(head + string(bytes.Repeat([]byte(" "), fill)) + quote + string(snip[:]) + tp[1])
						want := msgcount.CountBytesByte(doc)
						if got := msgcount.CountBytes(doc); got != want {
							t.Fatalf("%q: CountBytes = %d, oracle %d", doc, got, want)
						}
						got, err := msgcount.Count(newPieceReader(doc, 64))
						if err != nil || got != want {
							t.Fatalf("%q: Count = %d, %v, oracle %d", doc, got, err, want)
						}
					}
				}
			}
		}
	}
}
