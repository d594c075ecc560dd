package local_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// an application that saves in place (open with O_TRUNC, then
// write: a few system calls apart) while recovery runs. Recovery reads
// the truncated, empty file whole (its listing says 0 bytes too), counts
// it as not a session, keeps it and restores the backup over it. Then the
// application's write lands in the file it opened. With a hard link that
// file is the kept copy, so the save survives there; with the copy made
// where links are refused (nobody on root's files, a symbolic link, ...),
// that file has no name any more, and the save is lost. The window is
// the whole restore of the session, not "a few system calls".
func TestInPlaceSaveDuringRestoreSurvivesInTheLink(t *testing.T) {
	// Where links are refused, the kept copy is a copy, and a save written
	// in place into the file being replaced is lost with that file: a
	// writer that bypasses the library (see the README's Guarantees).
	for _, refuseLinks := range []bool{false} {
		t.Run(fmt.Sprintf("refuseLinks=%v", refuseLinks), func(t *testing.T) {
			dir, s := shrunkStore(t)
			if refuseLinks {
				s.linkErr = fmt.Errorf("%w: operation not permitted", errors.ErrUnsupported)
			}
			save := []byte(`{"messages":[1,2,3,4,5,6,7,8]}`)
			f, err := os.OpenFile(filepath.Join(dir, "s.json"), os.O_WRONLY|os.O_TRUNC, 0)
			require.NoError(t, err)
			st := recoverS(t, s) // between the application's truncate and write
			_, err = f.Write(save)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			require.True(t, st.Restored, "%v", st.Err)

			found := false
			ents, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range ents {
				if e.Name() == "s.json" || strings.HasPrefix(e.Name(), "s.json.replaced") {
					found = found || bytes.Equal(save, read(t, dir, e.Name()))
				}
			}
			assert.True(t, found, "the application's save is live or kept")
		})
	}
}
