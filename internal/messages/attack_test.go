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
