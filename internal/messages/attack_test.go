package messages

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// A top-level member whose value is a scalar of more than one byte (a
// number such as 12 or 1712345678, true, false, null) must not stop Each:
// topLevel moves to wantComma on the value's first byte and refuses the
// second.
func TestEachReadsTopLevelScalars(t *testing.T) {
	for _, doc := range []string{
		`{"messages":[1],"n":12}`, `{"x":true,"messages":[1]}`, `{"x":false,"messages":[1]}`,
		`{"x":null,"messages":[1]}`, `{"x":-1,"messages":[1]}`, `{"created_at":1712345678.25,"messages":[1]}`,
		`{"x":1e10 ,"messages":[1]}`,
	} {
		require.Equal(t, 1, msgcount.CountBytes([]byte(doc)), doc)
		l, err := Each(strings.NewReader(doc), func() {}, func(Message) error { return nil })
		if assert.NoError(t, err, doc) {
			assert.Equal(t, 1, l.Count, doc)
		}
	}
}

// Keys, escapes and elements that straddle the scanner's 64 KiB buffer, at
// every alignment.
func TestEachAtBufferBoundaries(t *testing.T) {
	const bufSize = 64 << 10
	for _, tail := range []string{
		`","m\u0065ssages":["a\"b\\",{"c":"]\\\""}, 2,[[]],"messages"],"x":"\\"}`,
		`","messages":[],"m":"\"\\\""}`,
		"\",\n\"messages\"\t:\r\n[\n\"\\\\\"\n,\n{}\n]\n}\n",
	} {
		for shift := 0; shift < 60; shift++ {
			pad := strings.Repeat(`\"`, (bufSize-20)/2) + strings.Repeat("x", shift)
			doc := `{"pad":"` + pad + tail
			n := msgcount.CountBytes([]byte(doc))
			require.GreaterOrEqual(t, n, 0)
			var raws []string
			l, err := Each(strings.NewReader(doc), func() { raws = nil }, func(m Message) error {
				raws = append(raws, string(m.Raw))
				require.Equal(t, string(m.Raw), doc[m.Offset:m.Offset+int64(len(m.Raw))])
				return nil
			})
			require.NoError(t, err, "shift %d", shift)
			require.Equal(t, n, l.Count)
			require.Len(t, raws, n)
		}
	}
}
