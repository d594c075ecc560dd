package msgcount_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// TestMatchesReference checks every document of the golden data against the
// count the Python module gave it (testdata/golden/generate.py made them).
func TestMatchesReference(t *testing.T) {
	raw, err := os.ReadFile("../testdata/golden/count/cases.json")
	require.NoError(t, err)
	var cases []struct {
		Name  string `json:"name"`
		Doc   []byte `json:"doc_b64"` // base64, as encoding/json reads []byte
		Count int    `json:"count"`
	}
	require.NoError(t, json.Unmarshal(raw, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		assert.Equal(t, c.Count, msgcount.CountBytes(c.Doc), c.Name)
		n, err := msgcount.Count(iotest.OneByteReader(bytes.NewReader(c.Doc)))
		require.NoError(t, err, c.Name)
		assert.Equal(t, c.Count, n, "%s, read a byte at a time", c.Name)
	}
}
