package local

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/c0fe5641/sessionrecovery/store"
)

// validateKey applies the key rules of every store and, where the path
// separator is not '/' (Windows), refuses a key that holds it: a
// backslash, an ordinary character of a key, would name a file in another
// directory there.
func validateKey(key string) error {
	if err := store.ValidateKey(key); err != nil {
		return err
	}
	if filepath.Separator != '/' && strings.ContainsRune(key, filepath.Separator) {
		return &store.KeyError{Key: key, Reason: fmt.Sprintf("holds %q, which separates directories on %s", filepath.Separator, runtime.GOOS)}
	}
	return nil
}
