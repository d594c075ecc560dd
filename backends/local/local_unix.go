//go:build unix

package local

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"syscall"
)

// openFlags makes opening a FIFO return at once instead of waiting for a
// writer; Open then refuses it as not a regular file.
const openFlags = syscall.O_NONBLOCK

func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}

// syncDir makes a rename in dir durable.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// attrsOf returns the owner, group and permission bits of the file fi
// describes.
func attrsOf(fi fs.FileInfo) fileAttrs {
	a := fileAttrs{perm: fi.Mode().Perm()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		a.uid, a.gid, a.owned = int(st.Uid), int(st.Gid), true
	}
	return a
}

// giveOwner gives tmp, the temporary file written for key, the owner and
// group a says, if they are not its own already: a process saving its own
// files never asks. Where the process may not (EPERM: it is not root;
// EINVAL: the owner has no id in its user namespace), tmp stays its own
// and the Store says so once; any other failure is an error.
func (s *Store) giveOwner(tmp *os.File, key string, a fileAttrs) error {
	if !a.owned {
		return nil
	}
	fi, err := tmp.Stat()
	if err != nil {
		return fmt.Errorf("stat temporary file: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == a.uid && int(st.Gid) == a.gid {
		return nil
	}
	err = s.chown(tmp, a.uid, a.gid)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EINVAL):
		s.ownerNotGiven(key, a.uid, a.gid, err)
		return nil
	}
	return fmt.Errorf("give temporary file the owner %d:%d: %w", a.uid, a.gid, err)
}

// fileVersion identifies the file fi describes: a rename over it changes
// the inode, a write its size or modification time.
func fileVersion(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%x:%x:%x:%x", st.Dev, st.Ino, fi.Size(), fi.ModTime().UnixNano())
	}
	return fmt.Sprintf("%x:%x", fi.Size(), fi.ModTime().UnixNano())
}

// flockDir takes an exclusive flock(2) on dir, which every Write,
// Replace, Link and Delete of this package holds around its check and
// change, in any process; the returned function releases it.
func flockDir(root *os.Root, dir string) (func(), error) {
	d, err := root.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}, nil
}

// lockStripe picks the in-process lock of dir: flock(2) serialises
// whatever two names of one directory are used, so any spread will do.
func lockStripe(dir string) int {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return int(h.Sum32() % dirLockStripes)
}
