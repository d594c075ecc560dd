package local_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/c0fe5641/sessionrecovery/store"
)

// On Windows a backslash separates directories, so a key holding one is
// refused rather than taken for a file in a subdirectory.
func TestBackslashKeyRefusedOnWindows(t *testing.T) {
	s := open(t, newDir(t, map[string][]byte{"a.json": []byte("{}")}))
	_, err := s.Open(context.Background(), `x\a.json`)
	var ke *store.KeyError
	assert.ErrorAs(t, err, &ke)
	err = s.Write(context.Background(), `x\b.json`, strings.NewReader("{}"), store.WriteOptions{})
	assert.ErrorAs(t, err, &ke)
}
