package local_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Once a bug: where the hard link is refused, the kept copy is now written with
// store.Writer.Write, which gives a new file mode 0644, so a private (0600)
// session's replaced bytes become readable by every user. Before this
// change the copy was a Replace, which gives a new file its source's mode
// ("a copy is never more widely readable than its source").
func TestKeptCopyIsNoMoreReadableThanTheLiveDocument(t *testing.T) {
	for _, how := range []string{"LinkRefused", "LiveIsSymlink"} {
		t.Run(how, func(t *testing.T) {
			dir := newDir(t, map[string][]byte{"s.json.bak": longDoc})
			live := "s.json"
			if how == "LiveIsSymlink" {
				live = "target"
				require.NoError(t, os.Symlink("target", filepath.Join(dir, "s.json")))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, live), shortDoc, 0o600))
			require.NoError(t, os.Chmod(filepath.Join(dir, live), 0o600))
			s := &spyStore{Store: open(t, dir)}
			if how == "LinkRefused" {
				s.linkErr = fmt.Errorf("%w: operation not permitted", errors.ErrUnsupported)
			}
			st := recoverS(t, s)
			require.NoError(t, st.Err)
			require.True(t, st.Restored)
			fi := stat(t, dir, st.PreservedKey)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the kept copy of a 0600 session")
		})
	}
}
