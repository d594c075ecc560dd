package store_test

import (
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/c0fe5641/sessionrecovery/store"
)

// FuzzValidateKey: a key that passes never leaves the directory it is
// joined to, and a key that fails says why.
func FuzzValidateKey(f *testing.F) {
	for _, seed := range []string{"a.json", "dir/a.json", "../a", "a/../b", "/abs", `a\b`, "a\x00", "..", ".", "a//b", "会话.json", ".hidden", "a/.", "..a/b.."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, key string) {
		err := store.ValidateKey(key)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid key") {
				t.Fatalf("error %q does not say the key is invalid", err)
			}
			return
		}
		if path.Clean(key) != key || path.IsAbs(key) || strings.ContainsRune(key, 0) {
			t.Fatalf("accepted %q, which is not a clean relative name", key)
		}
		root := "/store/root"
		joined := filepath.Join(root, filepath.FromSlash(key))
		if rel, err := filepath.Rel(root, joined); err != nil || rel == ".." || strings.HasPrefix(rel, "../") || rel == "." {
			t.Fatalf("accepted %q, which leads to %q outside %q", key, joined, root)
		}
	})
}
