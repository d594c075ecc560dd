//go:build linux

package local

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

// specialFile makes a file of kind ("fifo", or "device": a character
// device like /dev/null, as root only) at name.
func specialFile(t *testing.T, kind, name string) {
	t.Helper()
	switch kind {
	case "fifo":
		require.NoError(t, syscall.Mkfifo(name, 0o644))
	case "device":
		if os.Geteuid() != 0 {
			t.Skip("making a device node needs root")
		}
		require.NoError(t, syscall.Mknod(name, syscall.S_IFCHR|0o644, 1<<8|3)) // 1:3, as /dev/null
	default:
		t.Fatalf("no such kind %q", kind)
	}
}

// openProbe reports whether the file at name is ever opened from now on,
// whatever name it has by then: inotify's IN_OPEN on its inode, queued by
// the open itself, so read once the opener has returned.
func openProbe(t *testing.T, name string) (opened func() bool) {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	_, err = syscall.InotifyAddWatch(fd, name, syscall.IN_OPEN)
	require.NoError(t, err)
	return func() bool {
		buf := make([]byte, 4096)
		n, err := syscall.Read(fd, buf)
		if errors.Is(err, syscall.EAGAIN) {
			return false
		}
		require.NoError(t, err)
		return n > 0
	}
}

// The file Open reads is the file it checked: a FIFO or a device renamed
// over the key after the check is never opened (opening a device can have
// effects: a tape rewinds, a modem hangs up), and the bytes read are those
// of the regular file checked, held since the check. Also through a
// symbolic link inside the directory.
func TestOpenReadsTheFileItChecked(t *testing.T) {
	for _, kind := range []string{"fifo", "device"} {
		for _, key := range []string{"s.json", "link.json"} {
			t.Run(kind+"/"+key, func(t *testing.T) {
				dir := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), []byte("checked"), 0o644))
				require.NoError(t, os.Symlink("s.json", filepath.Join(dir, "link.json")))
				special := filepath.Join(dir, ".special")
				specialFile(t, kind, special)
				opened := openProbe(t, special)
				s, err := New(dir)
				require.NoError(t, err)
				defer s.Close()
				swaps := 0
				s.checked = func(name string) {
					swaps++
					require.NoError(t, os.Rename(special, filepath.Join(dir, "s.json")))
				}

				rc, err := s.Open(context.Background(), key)
				assert.False(t, opened(), "the %s renamed over the file checked was opened", kind)
				require.NoError(t, err)
				defer rc.Close()
				b, err := io.ReadAll(rc)
				require.NoError(t, err)
				assert.Equal(t, "checked", string(b))
				assert.Equal(t, 1, swaps, "the hook ran once, between the check and the open")
			})
		}
	}
}

// Without /proc (a chroot, a container lacking it) Open still reads
// regular files, and refuses what is renamed over the file checked: a
// FIFO or a device as not a regular file, naming the key, and another
// regular file as a change. (Here the special file is opened before it is
// refused: the window the package documentation admits.)
func TestOpenWithoutProc(t *testing.T) {
	newStore := func(t *testing.T) (*Store, string) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), []byte("checked"), 0o644))
		s, err := New(dir)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		s.reopenDir = filepath.Join(t.TempDir(), "no-proc")
		return s, dir
	}
	ctx := context.Background()

	t.Run("regular", func(t *testing.T) {
		s, _ := newStore(t)
		rc, err := s.Open(ctx, "s.json")
		require.NoError(t, err)
		defer rc.Close()
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		assert.Equal(t, "checked", string(b))
	})
	for _, kind := range []string{"fifo", "device"} {
		t.Run(kind, func(t *testing.T) {
			s, dir := newStore(t)
			special := filepath.Join(dir, ".special")
			specialFile(t, kind, special)
			s.checked = func(string) { require.NoError(t, os.Rename(special, filepath.Join(dir, "s.json"))) }
			_, err := s.Open(ctx, "s.json")
			require.Error(t, err)
			assert.Contains(t, err.Error(), `local: open "s.json": not a regular file`)
		})
	}
	t.Run("another regular file", func(t *testing.T) {
		s, dir := newStore(t)
		other := filepath.Join(dir, ".other")
		require.NoError(t, os.WriteFile(other, []byte("other"), 0o644))
		s.checked = func(string) { require.NoError(t, os.Rename(other, filepath.Join(dir, "s.json"))) }
		_, err := s.Open(ctx, "s.json")
		require.ErrorIs(t, err, store.ErrChanged)
		assert.Contains(t, err.Error(), `"s.json"`)
	})
}

// A special file at the key, or a link inside the directory to one, is
// refused as not a regular file, the key named, by Open and as the
// source of a Replace, and is never opened for reading.
func TestOpenRefusesSpecialFiles(t *testing.T) {
	for _, kind := range []string{"fifo", "device"} {
		for _, key := range []string{"s.json", "link.json"} {
			t.Run(kind+"/"+key, func(t *testing.T) {
				dir := t.TempDir()
				specialFile(t, kind, filepath.Join(dir, "s.json"))
				require.NoError(t, os.Symlink("s.json", filepath.Join(dir, "link.json")))
				s, err := New(dir)
				require.NoError(t, err)
				defer s.Close()
				ctx := context.Background()

				_, err = s.Open(ctx, key)
				require.Error(t, err)
				assert.Contains(t, err.Error(), `local: open "`+key+`": not a regular file`)
				err = s.Replace(ctx, "copy.json", key)
				require.Error(t, err)
				assert.Contains(t, err.Error(), `"`+key+`"`)
				assert.Contains(t, err.Error(), "not a regular file")
				_, err = os.Lstat(filepath.Join(dir, "copy.json"))
				assert.ErrorIs(t, err, os.ErrNotExist)
			})
		}
	}
}

// A file its user may not read is refused with the cause, under its own
// name, not the /proc name it is reopened through. As nobody, for root
// reads every file.
func TestOpenUnreadableFile(t *testing.T) {
	if dir := os.Getenv("LOCAL_TEST_UNREADABLE_DIR"); dir != "" {
		s, err := New(dir)
		require.NoError(t, err)
		defer s.Close()
		_, err = s.Open(context.Background(), "s.json")
		require.ErrorIs(t, err, fs.ErrPermission)
		assert.Equal(t, `local: open "s.json": open s.json: permission denied`, err.Error())
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("runs a part as nobody, which needs root")
	}
	// Directories nobody can enter, holding a file only root may read,
	// and this test binary, which nobody runs.
	top := t.TempDir()
	dir := filepath.Join(top, "store")
	require.NoError(t, os.Mkdir(dir, 0o755))
	for _, d := range []string{filepath.Dir(top), top} { // t.TempDir makes both 0700
		require.NoError(t, os.Chmod(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.json"), []byte("private"), 0o600))
	bin := filepath.Join(top, "local.test")
	self, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, self, 0o755))

	cmd := exec.Command(bin, "-test.run=^TestOpenUnreadableFile$", "-test.v")
	cmd.Env = append(os.Environ(), "LOCAL_TEST_UNREADABLE_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "--- PASS: TestOpenUnreadableFile", "the part as nobody ran")
}
