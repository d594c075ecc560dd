//go:build unix

package local_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The user a store's files belong to in these tests (nobody:nogroup), and
// another one.
const (
	appUID, appGID     = 65534, 65534
	otherUID, otherGID = 1000, 1001
)

// attrs is what a restore must keep of a file: its owner, group and mode.
type attrs struct {
	UID, GID uint32
	Perm     os.FileMode
}

func attrsOf(t *testing.T, dir, name string) attrs {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, name))
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return attrs{UID: st.Uid, GID: st.Gid, Perm: fi.Mode().Perm()}
}

// needRoot skips a test that gives files to other users.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give the store's files to other users")
	}
}

// ownedFile writes name in dir with the given owner, group and mode.
func ownedFile(t *testing.T, dir, name string, data []byte, a attrs) {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, a.Perm))
	require.NoError(t, os.Chown(p, int(a.UID), int(a.GID)))
	require.NoError(t, os.Chmod(p, a.Perm)) // past the umask
}

// A store of the application's user, recovered by root: each write keeps
// the owner, group and mode of the file it replaces, a new file copied
// from another gets that one's, and only a new file with nothing to copy
// is the process's.
func TestWritesKeepOwnerGroupAndMode(t *testing.T) {
	needRoot(t)
	app600 := attrs{appUID, appGID, 0o600}
	app640 := attrs{appUID, appGID, 0o640}
	other644 := attrs{otherUID, otherGID, 0o644}
	other640 := attrs{otherUID, otherGID, 0o640}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		files map[string]attrs // all but "src.json" hold shortDoc
		write func(s *spyStore, version string) error
		key   string
		want  attrs
	}{
		{
			name:  "ReplaceOverLive",
			files: map[string]attrs{"s.json": app600, "src.json": other644},
			write: func(s *spyStore, _ string) error { return s.Replace(ctx, "s.json", "src.json") },
			key:   "s.json", want: app600,
		},
		{
			name:  "ReplaceOverLive0640",
			files: map[string]attrs{"s.json": app640, "src.json": other644},
			write: func(s *spyStore, _ string) error { return s.Replace(ctx, "s.json", "src.json") },
			key:   "s.json", want: app640,
		},
		{
			name:  "WriteIfVersionOverLive",
			files: map[string]attrs{"s.json": app600},
			write: func(s *spyStore, v string) error {
				return s.Write(ctx, "s.json", strings.NewReader("new"), store.WriteOptions{IfVersion: v})
			},
			key: "s.json", want: app600,
		},
		{
			name:  "WriteIfVersionOverLive0640",
			files: map[string]attrs{"s.json": app640},
			write: func(s *spyStore, v string) error {
				return s.Write(ctx, "s.json", strings.NewReader("new"), store.WriteOptions{IfVersion: v})
			},
			key: "s.json", want: app640,
		},
		{
			name:  "KeptCopyGetsTheLiveFiles",
			files: map[string]attrs{"s.json": app600},
			write: func(s *spyStore, _ string) error {
				return s.Write(ctx, "s.json.replaced", strings.NewReader("old"), store.WriteOptions{IfNotExist: true, PermOf: "s.json"})
			},
			key: "s.json.replaced", want: app600,
		},
		{
			name:  "ReplaceToNewKeyGetsTheSources",
			files: map[string]attrs{"src.json": other640},
			write: func(s *spyStore, _ string) error { return s.Replace(ctx, "s.json", "src.json") },
			key:   "s.json", want: other640,
		},
		{
			name:  "NewKeyWithNothingToCopyIsTheProcesss",
			files: map[string]attrs{"s.json": app600},
			write: func(s *spyStore, _ string) error {
				return s.Write(ctx, "new.json", strings.NewReader("new"), store.WriteOptions{IfNotExist: true})
			},
			key: "new.json", want: attrs{uint32(os.Geteuid()), uint32(os.Getegid()), 0o644},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.Chown(dir, appUID, appGID))
			for name, a := range tc.files {
				data := shortDoc
				if name == "src.json" {
					data = longDoc
				}
				ownedFile(t, dir, name, data, a)
			}
			s := &spyStore{Store: open(t, dir)}
			version := ""
			if _, ok := tc.files["s.json"]; ok {
				version = versionOf(t, s, "s.json")
			}
			require.NoError(t, tc.write(s, version))
			assert.Equal(t, tc.want, attrsOf(t, dir, tc.key), "owner, group and mode of %s", tc.key)
		})
	}
}

// versionOf is key's version as Open reports it.
func versionOf(t *testing.T, s store.Store, key string) string {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	require.NoError(t, err)
	defer rc.Close()
	v := store.Version(rc)
	require.NotEmpty(t, v, "a local reader reports its version")
	return v
}

// Root recovers a session of nobody's, mode 0600: the restored document
// and the kept copy of the replaced one are still nobody's, mode 0600,
// whether the copy is a hard link or, where linking is refused, a copy.
func TestRecoveryKeepsOwnerGroupAndMode(t *testing.T) {
	needRoot(t)
	app600 := attrs{appUID, appGID, 0o600}
	for _, how := range []string{"HardLink", "LinkRefused"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.Chown(dir, appUID, appGID))
			ownedFile(t, dir, "s.json", shortDoc, app600)
			ownedFile(t, dir, "s.json.bak", longDoc, app600)
			s := &spyStore{Store: open(t, dir)}
			if how == "LinkRefused" {
				s.linkErr = fmt.Errorf("%w: operation not permitted", errors.ErrUnsupported)
			}
			st := recoverS(t, s)
			require.NoError(t, st.Err)
			require.True(t, st.Restored)
			assert.Equal(t, app600, attrsOf(t, dir, "s.json"), "the restored document")
			assert.Equal(t, app600, attrsOf(t, dir, st.PreservedKey), "the kept copy")
			assert.Equal(t, app600, attrsOf(t, dir, "s.json.bak"), "the backup, untouched")
		})
	}
}

// An orphan (a backup whose live document is missing) restored with
// RestoreOrphans is a new file: it takes the backup's owner, group and
// mode, never the process's and 0644, so that a private session is not
// made readable by every user.
func TestRestoredOrphanIsNoMoreReadableThanItsBackup(t *testing.T) {
	needRoot(t)
	app600 := attrs{appUID, appGID, 0o600}
	dir := t.TempDir()
	require.NoError(t, os.Chown(dir, appUID, appGID))
	ownedFile(t, dir, "s.json.bak", longDoc, app600)
	st, err := recovery.Recover(context.Background(), open(t, dir), "s", recovery.Options{RestoreOrphans: true})
	require.NoError(t, err)
	require.NoError(t, st.Err)
	require.True(t, st.Restored)
	assert.Equal(t, app600, attrsOf(t, dir, "s.json"), "the restored orphan")
}
