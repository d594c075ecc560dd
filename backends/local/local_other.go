//go:build !unix

package local

import (
	"fmt"
	"io/fs"
	"os"
)

// openFlags is empty outside unix, where there is no O_NONBLOCK to ask for.
const openFlags = 0

func isNotDir(error) bool { return false }

// syncDir does nothing where directories cannot be synced.
func syncDir(*os.Root, string) error { return nil }

// attrsOf returns the permission bits of the file fi describes: files
// have no owner here.
func attrsOf(fi fs.FileInfo) fileAttrs {
	return fileAttrs{perm: fi.Mode().Perm()}
}

// giveOwner does nothing: files have no owner here.
func (*Store) giveOwner(*os.File, string, fileAttrs) error { return nil }

func fileVersion(fi fs.FileInfo) string {
	return fmt.Sprintf("%x:%x", fi.Size(), fi.ModTime().UnixNano())
}

// flockDir has no flock(2) to take: Store.lockDir's mutex serialises
// this process only.
func flockDir(*os.Root, string) (func(), error) {
	return func() {}, nil
}

// lockStripe is always the same lock here: with no flock(2) behind it, two
// spellings of one directory (case, links) must not get two locks.
func lockStripe(string) int { return 0 }
