package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

func TestValidateKey(t *testing.T) {
	for _, key := range []string{"a.json", "dir/a.json", "..a", "a..b", ".hidden", "with space", "ünï/会话.json", "a.", "x/y/z", `a\b.json`} {
		assert.NoError(t, store.ValidateKey(key), key)
	}
	for key, reason := range map[string]string{
		"":         "empty",
		"/a.json":  "absolute",
		"..":       `".." segment`,
		"../a":     `".." segment`,
		"a/../b":   `".." segment`,
		".":        `"." segment`,
		"a/./b":    `"." segment`,
		"a//b":     "empty segment",
		"a/":       "empty segment",
		"a\x00.js": "NUL",
	} {
		err := store.ValidateKey(key)
		var ke *store.KeyError
		require.ErrorAs(t, err, &ke, "%q", key)
		assert.Equal(t, key, ke.Key)
		assert.Contains(t, err.Error(), reason, "%q", key)
		assert.Contains(t, err.Error(), "invalid key")
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, prefix := range []string{"", "a", "dir/", "dir/se", "a.json", `a\`} {
		assert.NoError(t, store.ValidatePrefix(prefix), prefix)
	}
	for _, prefix := range []string{"/", "/a", "../", "a//", "./x"} {
		assert.Error(t, store.ValidatePrefix(prefix), prefix)
	}
}
