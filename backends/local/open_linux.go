//go:build linux

package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/c0fe5641/sessionrecovery/internal/fileops"
	"github.com/c0fe5641/sessionrecovery/store"
)

// oPath is O_PATH, which the syscall package leaves out on some ports; it
// is the same on every Linux port Go has (see internal/syscall/unix).
const oPath = 0x200000

// procSelfFD is where an open file can be opened again, the same inode
// whatever its name has become: /proc/self/fd/N.
const procSelfFD = "/proc/self/fd"

// maxLinks bounds the symbolic links followed one after the other at the
// end of a key's path (os.Root follows the others, with its own bound).
const maxLinks = 8

// openRegular opens name for reading if it is a regular file, deciding that
// on the file it opens. An O_PATH handle on what name leads to (O_PATH
// never calls a driver's open and never blocks) is checked with fstat; only
// a regular file is then opened for reading, through /proc/self/fd, which
// reopens the very inode the handle holds: a FIFO or a device renamed over
// name meanwhile is never opened, and the bytes read are those of the file
// checked.
//
// Without /proc (a chroot or a container lacking it) the second open goes
// by name, non-blocking and without taking a terminal as the controlling
// one (fileops.OpenFlags), and its fstat must be a regular file and the file
// checked (os.SameFile): a special file renamed over name between the two
// opens is opened, then refused.
func (s *Store) openRegular(name string) (*os.File, fs.FileInfo, error) {
	h, hi, name, err := s.openPath(name)
	if err != nil {
		return nil, nil, err
	}
	defer h.Close()
	if !hi.Mode().IsRegular() {
		return nil, nil, notRegular(hi)
	}
	s.afterCheck(name)
	f, err := reopen(h, s.reopenDir, name)
	if errors.Is(err, errNoReopen) {
		f, err = s.root.OpenFile(name, os.O_RDONLY|fileops.OpenFlags, 0)
		err = missing(err)
	}
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return nil, nil, err
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, nil, notRegular(fi)
	case !os.SameFile(hi, fi):
		f.Close()
		return nil, nil, fmt.Errorf("%w: replaced while it was opened", store.ErrChanged)
	}
	return f, fi, nil
}

// openPath returns an O_PATH handle on what name leads to, its fstat, and
// the name it was found under. A symbolic link at the end of the path is
// followed the way os.Root follows one: its target read, and appended,
// uncleaned, to the link's directory, so that os.Root resolves the result
// (".." included) step by step, refusing whatever leaves the root.
func (s *Store) openPath(name string) (*os.File, fs.FileInfo, string, error) {
	for range maxLinks {
		h, err := s.root.OpenFile(name, oPath, 0)
		if err != nil {
			return nil, nil, "", missing(err)
		}
		hi, err := h.Stat()
		if err != nil {
			h.Close()
			return nil, nil, "", err
		}
		if hi.Mode()&fs.ModeSymlink == 0 {
			return h, hi, name, nil
		}
		h.Close()
		target, err := s.root.Readlink(name)
		if err != nil {
			return nil, nil, "", missing(err)
		}
		// An absolute target is left as it is: os.Root refuses it as
		// escaping the root.
		if dir := filepath.Dir(name); !filepath.IsAbs(target) && dir != "." {
			target = dir + string(filepath.Separator) + target
		}
		name = target
	}
	return nil, nil, "", &fs.PathError{Op: "open", Path: name, Err: syscall.ELOOP}
}

// errNoReopen says that there is no procSelfFD to reopen files through.
var errNoReopen = errors.New("no " + procSelfFD)

// reopen opens h's file for reading through dir/N, N being h's descriptor,
// which h keeps open (so the same inode) until reopen returns. Errors name
// the file name, not dir/N; errNoReopen says that dir/N does not exist.
func reopen(h *os.File, dir, name string) (*os.File, error) {
	sc, err := h.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd uintptr
	if err := sc.Control(func(d uintptr) { fd = d }); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dir+"/"+strconv.FormatUint(uint64(fd), 10), os.O_RDONLY|fileops.OpenFlags, 0)
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errNoReopen
	case errors.As(err, &pe):
		return nil, &fs.PathError{Op: "open", Path: name, Err: pe.Err}
	}
	return f, err
}
