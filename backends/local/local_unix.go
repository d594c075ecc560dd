//go:build unix

package local

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"syscall"
	"time"
)

func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}

// linkRefused tells whether a hard link failed because this file or this
// file system cannot be hard-linked, so that a copy may do instead:
// another device (EXDEV), too many links (EMLINK), protected_hardlinks or
// a file system without hard links (EPERM), no link operation at all
// (ENOTSUP, EOPNOTSUPP, ENOSYS: errors.ErrUnsupported already). EACCES is
// not among them: it means no write permission on the directory or no
// search permission on the way, which a copy into the same directory
// would meet too.
func linkRefused(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EXDEV, syscall.EMLINK, syscall.EPERM} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return errors.Is(err, errors.ErrUnsupported)
}

// syncDir makes a rename in dir durable.
func syncDir(root *os.Root, dir string) error {
	d, err := openDir(root, dir)
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
// change, in any process; the returned function releases it. It polls
// without blocking, so that the wait ends with ctx: a blocked flock(2)
// cannot be interrupted, and a reader's shared lock or a stopped process
// would hold it for ever. waiting is called once, with the holder, if the
// lock is taken; a wait that ends with ctx returns ctx's error and who
// held the lock then.
func flockDir(ctx context.Context, root *os.Root, dir string, waiting func(holder string)) (unlock func(), holder string, err error) {
	d, err := openDir(root, dir)
	if err != nil {
		return nil, "", err
	}
	giveUp := func() (func(), string, error) {
		defer d.Close()
		return nil, holderOf(d), ctx.Err()
	}
	pause := time.Millisecond
	var timer *time.Timer
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
				d.Close()
			}, "", nil
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			d.Close()
			return nil, "", fmt.Errorf("flock: %w", err)
		}
		if ctx.Err() != nil {
			return giveUp()
		}
		if timer == nil {
			waiting(holderOf(d))
			timer = time.NewTimer(pause)
			defer timer.Stop()
		} else {
			timer.Reset(pause)
		}
		select {
		case <-ctx.Done():
			return giveUp()
		case <-timer.C:
		}
		pause = min(2*pause, maxLockPause)
	}
}

// maxLockPause is the longest pause between two tries of a taken lock.
const maxLockPause = 50 * time.Millisecond

// lockStripe picks the in-process lock of dir: flock(2) serialises
// whatever two names of one directory are used, so any spread will do.
func lockStripe(dir string) int {
	h := fnv.New32a()
	h.Write([]byte(dir))
	return int(h.Sum32() % dirLockStripes)
}

// openDir opens dir of root as a directory only: O_DIRECTORY is checked
// before any driver's open, so a FIFO or a device renamed over a directory
// is neither opened nor waited for (O_NONBLOCK).
func openDir(root *os.Root, dir string) (*os.File, error) {
	return root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
}

// changed is when the file fi describes last changed, in nanoseconds: the
// later of its modification time and its status change time, which a new
// name (a hard link, a rename) or a chmod also sets. A kept copy made by a
// hard link is the replaced file itself, last modified when it was last
// saved: its age is from when it was kept.
func changed(fi fs.FileInfo) int64 {
	m := fi.ModTime().UnixNano()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return max(m, statusChange(st))
	}
	return m
}
