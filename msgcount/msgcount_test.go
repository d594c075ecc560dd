package msgcount_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

const not = msgcount.NotSession

type countCase struct {
	name string
	in   string
	want int
}

// wrap puts v as the only element of a messages array: the document counts
// 1 when v is a valid value and NotSession when it is not.
func wrap(v string) string { return `{"messages":[` + v + `]}` }

// str puts s in a string that is the only message.
func str(s string) string { return wrap(`"` + s + `"`) }

// The wanted counts are what CPython 3.11 gives with
//
//	data = json.loads(raw.decode('utf-8'))
//	msgs = data.get('messages') if isinstance(data, dict) else None
//	return len(msgs) if isinstance(msgs, list) else -1
//
// (-1 on ValueError), except that nesting deeper than Python's recursion
// limit is valid here.
var countCases = []countCase{
	// Counting.
	{"empty messages", `{"messages":[]}`, 0},
	{"one message", `{"messages":[{"role":"user","content":"hi"}]}`, 1},
	{"three messages of any type", `{"messages":[1,"two",{"three":[3]}]}`, 3},
	{"nested arrays are one element each", `{"messages":[[1,2],[3],[]]}`, 3},
	{"messages inside a message not counted", `{"messages":[{"messages":[1,2,3]},2]}`, 2},
	{"messages only below top level", `{"a":{"messages":[1,2]}}`, not},
	{"messages among other keys", `{"id":"x","messages":[1,2],"meta":{"n":1}}`, 2},
	{"no messages key", `{}`, not},
	{"message is not messages", `{"message":[1]}`, not},

	// messages of another type.
	{"messages object", `{"messages":{}}`, not},
	{"messages string", `{"messages":"[1,2]"}`, not},
	{"messages null", `{"messages":null}`, not},
	{"messages number", `{"messages":3}`, not},
	{"messages true", `{"messages":true}`, not},

	// Top level not an object.
	{"top-level array", `[{"messages":[]}]`, not},
	{"top-level string", `"messages"`, not},
	{"top-level number", `1`, not},
	{"top-level null", `null`, not},
	{"top-level garbage", `x{"messages":[]}`, not},

	// Duplicate keys: the last wins.
	{"array then object", `{"messages":[1],"messages":{}}`, not},
	{"object then array", `{"messages":{},"messages":[1]}`, 1},
	{"array then array", `{"messages":[1],"messages":[1,2]}`, 2},
	{"array then null", `{"messages":[1,2],"x":0,"messages":null}`, not},
	{"null then array", `{"messages":null,"x":0,"messages":[]}`, 0},

	// Keys compare after unescaping.
	{"escaped e", `{"messag\u0065s":[1]}`, 1},
	{"escaped first letters", `{"\u006d\u0065ssages":[1,2]}`, 2},
	{"upper-case hex in escape", `{"\u006D\u0065ssages":[1]}`, 1},
	{"escaped uppercase letter", `{"messag\u0045s":[1]}`, not},
	{"capitalised key", `{"Messages":[1]}`, not},
	{"trailing space in key", `{"messages ":[1]}`, not},
	{"key too long", `{"messagess":[1]}`, not},
	{"key too short", `{"message":[1]}`, not},
	{"escaped NUL after key", `{"messages\u0000":[1]}`, not},
	{"non-ASCII escape in key", `{"m\u00e9ssages":[1]}`, not},
	{"simple escape in key", `{"messages\/":[1]}`, not},
	{"escaped and plain duplicates", `{"m\u0065ssages":[1],"messages\u0000":[1,2]}`, 1},
	{"UTF-8 in key", "{\"m\xc3\xa9ssages\":[1]}", not},
	{"bad escape in top-level key", `{"\q":1,"messages":[]}`, not},

	// Byte order mark.
	{"BOM", "\xef\xbb\xbf{\"messages\":[]}", not},
	{"BOM after whitespace", " \xef\xbb\xbf{\"messages\":[]}", not},
	{"BOM inside a string", str("\xef\xbb\xbf"), 1},

	// UTF-8 in strings.
	{"2-byte character", str("caf\xc3\xa9"), 1},
	{"3-byte character", str("\xe2\x82\xac \xe6\x97\xa5"), 1},
	{"4-byte character", str("\xf0\x9f\x98\x80"), 1},
	{"last before surrogates", str("\xed\x9f\xbf"), 1},
	{"first after surrogates", str("\xee\x80\x80"), 1},
	{"U+FFFD", str("\xef\xbf\xbd"), 1},
	{"U+10FFFF", str("\xf4\x8f\xbf\xbf"), 1},
	{"DEL", str("\x7f"), 1},
	{"overlong 2-byte C0", str("\xc0\x80"), not},
	{"overlong 2-byte C1", str("\xc1\xbf"), not},
	{"overlong 3-byte", str("\xe0\x9f\xbf"), not},
	{"overlong 4-byte", str("\xf0\x8f\xbf\xbf"), not},
	{"encoded high surrogate", str("\xed\xa0\x80"), not},
	{"encoded low surrogate", str("\xed\xbf\xbf"), not},
	{"beyond U+10FFFF", str("\xf4\x90\x80\x80"), not},
	{"lead byte F5", str("\xf5\x80\x80\x80"), not},
	{"byte FF", str("\xff"), not},
	{"truncated 2-byte", str("\xc3"), not},
	{"truncated 3-byte", str("\xe2\x82"), not},
	{"truncated 4-byte", str("\xf0\x9f\x98"), not},
	{"bad continuation", str("\xe2\x28\xa1"), not},
	{"stray continuation", str("a\x80b"), not},
	{"stray continuation BF", str("\xbf"), not},
	{"truncated at end of document", "{\"messages\":[\"\xc3", not},
	{"invalid UTF-8 in nested key", "{\"messages\":[{\"\xc0\x80\":1}]}", not},
	{"invalid UTF-8 in later string", "{\"messages\":[],\"x\":\"\xed\xa0\x80\"}", not},
	{"non-ASCII outside strings", wrap("\xc3\xa9"), not},

	// Control characters.
	{"raw NUL in string", str("\x00"), not},
	{"raw 0x1F in string", str("\x1f"), not},
	{"raw tab in string", str("\t"), not},
	{"raw newline in string", str("\n"), not},

	// Escapes.
	{"escaped quote", str(`\"`), 1},
	{"escaped backslash", str(`\\`), 1},
	{"escaped slash", str(`\/`), 1},
	{"escaped b", str(`\b`), 1},
	{"escaped f", str(`\f`), 1},
	{"escaped n", str(`\n`), 1},
	{"escaped r", str(`\r`), 1},
	{"escaped t", str(`\t`), 1},
	{"all escapes together", str(`a\"\\\/\b\f\n\r\t\u0041z`), 1},
	{"escape a", str(`\a`), not},
	{"escape x", str(`\x41`), not},
	{"escape U", str(`\U0041`), not},
	{"escape apostrophe", str(`\'`), not},
	{"escape 0", str(`\0`), not},
	{"escaped raw newline", str("\\\n"), not},
	{"backslash before closing quote", `{"messages":["\"]}`, not},
	{`\u lower hex`, str(`\u00e9`), 1},
	{`\u upper hex`, str(`\u00E9\uABCD`), 1},
	{`\u three digits`, str(`\u123`), not},
	{`\u non-hex`, str(`\u12G4`), not},
	{`\u sign`, str(`\u-123`), not},
	{`\u space`, str(`\u 123`), not},
	{`\u at end of document`, `{"messages":["\u12`, not},
	{"lone high surrogate", str(`\ud800`), 1},
	{"lone low surrogate", str(`\udc00`), 1},
	{"reversed surrogates", str(`\udc00\ud800`), 1},
	{"surrogate pair", str(`\ud83d\ude00`), 1},
	{"unterminated string", `{"messages":["abc]}`, not},

	// Numbers.
	{"zero", wrap(`0`), 1},
	{"minus zero", wrap(`-0`), 1},
	{"integers", wrap(`1,-1,123,-9876543210`), 4},
	{"fractions", wrap(`1.5,-1.5,0.0,-0.25`), 4},
	{"exponents", wrap(`1e5,1E5,1e+5,1e-5,1.5e10,-0.0e-0,0e0,0E+00`), 8},
	{"number before bracket", `{"n":12,"messages":[1.5e3]}`, 1},
	{"leading zero", wrap(`01`), not},
	{"minus leading zero", wrap(`-01`), not},
	{"double zero", wrap(`00`), not},
	{"trailing dot", wrap(`1.`), not},
	{"leading dot", wrap(`.5`), not},
	{"plus sign", wrap(`+1`), not},
	{"bare e", wrap(`1e`), not},
	{"e with sign only", wrap(`1e+`), not},
	{"bare minus", wrap(`-`), not},
	{"double minus", wrap(`--1`), not},
	{"dot then e", wrap(`1.e5`), not},
	{"hex", wrap(`0x1`), not},
	{"two dots", wrap(`1.5.5`), not},
	{"fractional exponent", wrap(`1e5.5`), not},
	{"underscore", wrap(`1_000`), not},
	{"minus space", wrap(`- 1`), not},
	{"bad number as object value", `{"messages":[],"n":1.}`, not},
	{"bad number at end of document", `{"messages":[]}1.`, not},
	{"4300-digit integer", wrap(strings.Repeat("1", 4300)), 1},
	{"4301-digit integer", wrap(strings.Repeat("1", 4301)), not},
	{"negative 4300-digit integer", wrap("-" + strings.Repeat("1", 4300)), 1},
	{"negative 4301-digit integer", wrap("-" + strings.Repeat("1", 4301)), not},
	{"4301-digit integer elsewhere", `{"messages":[],"n":` + strings.Repeat("9", 4301) + `}`, not},
	{"4301-digit integer part of a fraction", wrap(strings.Repeat("1", 4301) + ".0"), 1},
	{"4301-digit integer part with exponent", wrap(strings.Repeat("1", 4301) + "e0"), 1},
	{"long fraction", wrap("0." + strings.Repeat("1", 10000)), 1},
	{"long float", wrap(strings.Repeat("7", 10000) + ".5e-3"), 1},
	{"long exponent", wrap("1e" + strings.Repeat("9", 10000)), 1},

	// Python's non-standard constants.
	{"NaN", wrap(`NaN`), 1},
	{"Infinity", wrap(`Infinity`), 1},
	{"minus Infinity", wrap(`-Infinity`), 1},
	{"constants as values", `{"a":NaN,"b":-Infinity,"messages":[Infinity,NaN]}`, 2},
	{"minus NaN", wrap(`-NaN`), not},
	{"plus Infinity", wrap(`+Infinity`), not},
	{"lower-case nan", wrap(`nan`), not},
	{"inf", wrap(`inf`), not},
	{"lower-case infinity", wrap(`infinity`), not},
	{"short Infinity", wrap(`Infinit`), not},
	{"short minus Infinity", wrap(`-Inf`), not},
	{"NaN with suffix", wrap(`NaNa`), not},
	{"top-level NaN", `NaN`, not},

	// Literals.
	{"true false null", wrap(`true,false,null`), 3},
	{"True", wrap(`True`), not},
	{"short null", wrap(`nul`), not},
	{"short true", wrap(`tru`), not},
	{"long null", wrap(`nulll`), not},
	{"literal at end of document", `{"messages":[]}null`, not},
	{"truncated literal at end of document", `{"messages":[fals`, not},

	// After the top-level value.
	{"trailing garbage", `{"messages":[]}x`, not},
	{"second value", `{"messages":[]} {}`, not},
	{"extra bracket", `{"messages":[]}]`, not},
	{"extra brace", `{"messages":[]}}`, not},
	{"trailing comma at top level", `{"messages":[]},`, not},
	{"form feed after value", "{\"messages\":[]}\f", not},
	{"NUL after value", "{\"messages\":[]}\x00", not},

	// Whitespace.
	{"whitespace around", " \t\r\n{\"messages\":[1]} \t\r\n", 1},
	{"whitespace everywhere", "{ \"messages\" \n:\r[\t1 , 2 ] , \"x\" : { } }", 2},
	{"form feed inside", "{\"messages\":[\f]}", not},
	{"form feed before", "\f{\"messages\":[]}", not},
	{"vertical tab", "{\"messages\":[\v]}", not},
	{"no-break space", "{\"messages\":[\xc2\xa0]}", not},
	{"empty document", ``, not},
	{"only whitespace", " \t\r\n ", not},

	// Commas and structure.
	{"trailing comma in array", wrap(`1,`), not},
	{"trailing comma in object", `{"messages":[],}`, not},
	{"trailing comma in nested object", `{"messages":[{"a":1,}]}`, not},
	{"lone comma in array", wrap(`,`), not},
	{"lone comma in object", `{"messages":[{,}]}`, not},
	{"leading comma", wrap(`,1`), not},
	{"double comma", wrap(`1,,2`), not},
	{"missing comma", wrap(`1 2`), not},
	{"missing comma in object", `{"a":1 "messages":[]}`, not},
	{"number key", `{1:2,"messages":[]}`, not},
	{"bare key", wrap(`{a:1}`), not},
	{"missing colon", `{"messages" []}`, not},
	{"missing value", `{"messages":}`, not},
	{"key without value", `{"messages"}`, not},
	{"colon in array", wrap(`1:2`), not},
	{"unclosed object", `{"messages":[]`, not},
	{"unclosed array", `{"messages":[1,2}`, not},
	{"mismatched brackets", wrap(`[}`), not},
	{"empty containers", wrap(`{},[],{ },[ ]`), 4},
	{"only a brace", `{`, not},

	// Nesting.
	{"deep arrays", wrap(strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)), 1},
	{"deep objects", wrap(strings.Repeat(`{"a":`, 1_000_000) + "1" + strings.Repeat("}", 1_000_000)), 1},
	{"deep mixed", wrap(strings.Repeat(`[{"a":`, 500_000) + "[]" + strings.Repeat("}]", 500_000)), 1},
	{"deep arrays unclosed", wrap(strings.Repeat("[", 1_000_000) + strings.Repeat("]", 999_999)), not},
	{"deep objects unclosed", wrap(strings.Repeat(`{"a":`, 1_000_000) + "1" + strings.Repeat("}", 999_999)), not},
	{"deep mismatch", wrap(strings.Repeat("[", 1_000_000) + "}" + strings.Repeat("]", 999_999)), not},
	{"deep elements counted", wrap(strings.Repeat(
		strings.Repeat(`[{"messages":[`, 100)+"0"+strings.Repeat("]}]", 100)+",", 2) + `{"x":[]}`), 3},
	{"messages after deep value", `{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `,"messages":[1,[[2]]]}`, 2},
}

func TestCount(t *testing.T) {
	for _, tc := range countCases {
		t.Run(tc.name, func(t *testing.T) {
			checkAllReaders(t, []byte(tc.in), tc.want)
		})
	}
}

// checkAllReaders checks the count of doc in memory, from a plain reader,
// one byte at a time, in random chunks and through a fresh Counter.
func checkAllReaders(t *testing.T, doc []byte, want int) {
	t.Helper()
	assert.Equal(t, want, msgcount.CountBytes(doc), "CountBytes")

	readers := []struct {
		name string
		r    io.Reader
	}{
		{"bytes.Reader", bytes.NewReader(doc)},
		{"OneByteReader", iotest.OneByteReader(bytes.NewReader(doc))},
		{"random chunks", newChunkReader(doc, uint64(len(doc)))},
		{"DataErrReader", iotest.DataErrReader(newChunkReader(doc, 7))},
	}
	for _, rc := range readers {
		got, err := msgcount.Count(rc.r)
		require.NoError(t, err, rc.name)
		assert.Equal(t, want, got, rc.name)
	}

	var c msgcount.Counter
	got, err := c.Count(bytes.NewReader(doc))
	require.NoError(t, err)
	assert.Equal(t, want, got, "Counter.Count")
}

// chunkReader returns its bytes in random chunks of 1 to 16 bytes, now and
// then returning nothing at all.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
}

func newChunkReader(data []byte, seed uint64) *chunkReader {
	return &chunkReader{data: data, rng: rand.New(rand.NewPCG(seed, 1))}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := r.rng.IntN(17)
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// TestCountTokenAtEverySplit splits documents at every byte into two reads,
// so that every token is cut at every place.
func TestCountTokenAtEverySplit(t *testing.T) {
	docs := []countCase{
		{"all kinds of tokens", "{\"m\\u0065ssages\" : [\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"\\u00e9\\n\\\"\"," +
			"-Infinity,Infinity,NaN,true,false,null,-12.5e+3,0,[{}]]}", 11},
		{"invalid UTF-8 at the end of a string", "{\"messages\":[\"ab\xf0\x9f\x98\"]}", not},
		{"bad escape", `{"messages":["ab\u00g0"]}`, not},
		{"too many digits", wrap(strings.Repeat("1", 4301)), not},
	}
	for _, tc := range docs {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte(tc.in)
			for i := range len(doc) + 1 {
				r := io.MultiReader(bytes.NewReader(doc[:i]), bytes.NewReader(doc[i:]))
				got, err := msgcount.Count(r)
				require.NoError(t, err)
				require.Equal(t, tc.want, got, "split at %d", i)
			}
		})
	}
}

// TestCountTokenAcrossBuffer puts tokens across the end of the read buffer
// at every offset, read through an ordinary reader.
func TestCountTokenAcrossBuffer(t *testing.T) {
	tokens := []countCase{
		{"UTF-8", "\"\xf0\x9f\x98\x80\xe2\x82\xac\xc3\xa9\"", 1},
		{"escape", `"\u00e9\n"`, 1},
		{"minus Infinity", `-Infinity`, 1},
		{"number", `-12.5e+10`, 1},
		{"literal", `false`, 1},
		{"bad UTF-8", "\"\xf0\x9f\x98\"", not},
		{"bad escape", `"\u00x9"`, not},
	}
	const bufSize = msgcount.BufSize
	for _, tc := range tokens {
		t.Run(tc.name, func(t *testing.T) {
			for pad := bufSize - 16; pad < bufSize+4; pad++ {
				// Whitespace and a long string body both lead up to the token.
				prefix := `{"messages":[`
				ws := prefix + strings.Repeat(" ", pad-len(prefix)) + tc.in + "]}"
				long := prefix + `"` + strings.Repeat("a", pad-len(prefix)-3) + `",` + tc.in + "]}"
				for _, doc := range []string{ws, long} {
					want := tc.want
					if doc == long && want != not {
						want++
					}
					got, err := msgcount.Count(strings.NewReader(doc))
					require.NoError(t, err)
					require.Equal(t, want, got, "pad %d", pad)
				}
			}
		})
	}
}

func TestCountReadErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"error mid-document", io.MultiReader(strings.NewReader(`{"messages":[1`), iotest.ErrReader(boom)), boom},
		{"error with data", &errAfter{data: []byte(`{"messages":[1`), err: boom}, boom},
		{"error after a whole document", io.MultiReader(strings.NewReader(`{"messages":[]}`), iotest.ErrReader(boom)), boom},
		{"unexpected EOF is an error", io.MultiReader(strings.NewReader(`{"messages":[]}`), iotest.ErrReader(io.ErrUnexpectedEOF)), io.ErrUnexpectedEOF},
		{"error inside a string", io.MultiReader(strings.NewReader(`{"messages":["ab`), iotest.ErrReader(boom)), boom},
		{"error inside an escape", io.MultiReader(strings.NewReader(`{"messages":["\u0`), iotest.ErrReader(boom)), boom},
		{"error inside a number", io.MultiReader(strings.NewReader(`{"messages":[12`), iotest.ErrReader(boom)), boom},
		{"error inside a literal", io.MultiReader(strings.NewReader(`{"messages":[tr`), iotest.ErrReader(boom)), boom},
		{"error before any byte", iotest.ErrReader(boom), boom},
		{"timeout", iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(`{"messages":[]}`))), iotest.ErrTimeout},
		{"no progress", emptyReader{}, io.ErrNoProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := msgcount.Count(tt.r)
			require.ErrorIs(t, err, tt.want)
			assert.Equal(t, not, n)
		})
	}
}

// errAfter returns all its data and err in the same call.
type errAfter struct {
	data []byte
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, r.err
}

// badReader claims to have read more than it was given.
type badReader struct{}

func (badReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func TestCountReaderBadCount(t *testing.T) {
	n, err := msgcount.Count(badReader{})
	require.Error(t, err)
	assert.Equal(t, not, n)
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestCountEOFWithData(t *testing.T) {
	n, err := msgcount.Count(&errAfter{data: []byte(`{"messages":[1,2]}`), err: io.EOF})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

// TestCountStopsAtNonObject checks that a document whose first token is not
// '{' is answered without reading further.
func TestCountStopsAtNonObject(t *testing.T) {
	for _, doc := range []string{"[", " \n\"", "1", "\xef"} {
		r := &countingReader{r: io.MultiReader(strings.NewReader(doc), iotest.ErrReader(errors.New("read too far")))}
		n, err := msgcount.Count(r)
		require.NoError(t, err)
		assert.Equal(t, not, n)
		assert.Equal(t, 1, r.reads)
	}
}

type countingReader struct {
	r     io.Reader
	reads int
}

func (r *countingReader) Read(p []byte) (int, error) {
	r.reads++
	return r.r.Read(p)
}

// TestCounterReuse checks that nothing from one document leaks into the next.
func TestCounterReuse(t *testing.T) {
	deepObjects := wrap(strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000))
	deepArrays := wrap(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000))
	docs := []struct {
		doc  string
		fail bool // read through a reader that then fails
		want int
	}{
		{`{"messages":[1,2,3]}`, false, 3},
		{deepObjects, false, 1},
		{deepArrays, false, 1},
		{`{"messages":[1,2`, true, not},
		{`{"messages":[1,2]}`, false, 2},
		{`{"messages":[1,2`, false, not},
		{`{"other":[1]}`, false, not},
		{`{"messages":[]}`, false, 0},
		{deepObjects[:len(deepObjects)-5], false, not},
		{`{"messages":[[],{}]}`, false, 2},
		{"\"\xc3", false, not},
		{`{"messages":["x"]}`, false, 1},
	}
	var c msgcount.Counter
	for i, d := range docs {
		if i%2 == 0 {
			assert.Equal(t, d.want, c.CountBytes([]byte(d.doc)), "doc %d in memory", i)
		}
		var r io.Reader = iotest.HalfReader(strings.NewReader(d.doc))
		if d.fail {
			r = io.MultiReader(r, iotest.ErrReader(io.ErrUnexpectedEOF))
		}
		n, err := c.Count(r)
		if d.fail {
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "doc %d", i)
			continue
		}
		require.NoError(t, err, "doc %d", i)
		assert.Equal(t, d.want, n, "doc %d", i)
	}
}

// TestCounterDoesNotAllocate checks that a warmed-up Counter counts a large
// document without allocating: memory does not grow with document size.
func TestCounterDoesNotAllocate(t *testing.T) {
	doc := []byte(benchDocument(4<<20, 5))
	var c msgcount.Counter
	want, err := c.Count(bytes.NewReader(doc))
	require.NoError(t, err)
	require.Positive(t, want)

	r := bytes.NewReader(doc)
	allocs := testing.AllocsPerRun(5, func() {
		r.Reset(doc)
		n, err := c.Count(r)
		if err != nil || n != want {
			t.Errorf("Count = %d, %v; want %d", n, err, want)
		}
	})
	assert.Zero(t, allocs)
}

// TestCountConcurrent runs the pooled package-level functions from many
// goroutines at once.
func TestCountConcurrent(t *testing.T) {
	doc := []byte(benchDocument(256<<10, 5))
	want := msgcount.CountBytes(doc)
	require.Positive(t, want)

	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			for range 20 {
				n, err := msgcount.Count(iotest.HalfReader(bytes.NewReader(doc)))
				if err == nil && n != want {
					err = errors.New("wrong count")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range cap(errs) {
		require.NoError(t, <-errs)
	}
}
