//go:build !unix

package local

import (
	"context"
	"fmt"
	"io/fs"
	"os"
)

func isNotDir(error) bool { return false }

// linkRefused takes any failed hard link for one the file system refuses,
// so that a copy is tried: outside unix the causes are not told apart
// (Windows reports a FAT volume's lack of hard links as
// ERROR_INVALID_FUNCTION), and a copy that fails for the same cause
// reports it then.
func linkRefused(error) bool { return true }

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

// flockDir has no flock(2) to take: Store.lockDir's lock serialises
// this process only.
func flockDir(context.Context, *os.Root, string, func(string)) (func(), string, error) {
	return func() {}, "", nil
}

// lockStripe is always the same lock here: with no flock(2) behind it, two
// spellings of one directory (case, links) must not get two locks.
func lockStripe(string) int { return 0 }

// openDir opens dir of root, to read or sync it.
func openDir(root *os.Root, dir string) (*os.File, error) { return root.Open(dir) }

// changed is when the file fi describes was last modified, in nanoseconds.
func changed(fi fs.FileInfo) int64 { return fi.ModTime().UnixNano() }
