//go:build !unix

package local

import (
	"context"
	"fmt"
	"io/fs"
	"os"
)

// openFlags is empty outside unix, where there is no O_NONBLOCK to ask for.
const openFlags = 0

func isNotDir(error) bool { return false }

// syncDir does nothing where directories cannot be synced.
func syncDir(*os.Root, string) error { return nil }

func fileVersion(fi fs.FileInfo) string {
	return fmt.Sprintf("%x:%x", fi.Size(), fi.ModTime().UnixNano())
}

// flockDir has no flock(2) to take: Store.lockDir's lock serialises
// this process only.
func flockDir(context.Context, *os.Root, string, func(string)) (func(), error) {
	return func() {}, nil
}

func lockHolder(*os.Root, string) string { return "held by another write of this process" }

// lockStripe is always the same lock here: with no flock(2) behind it, two
// spellings of one directory (case, links) must not get two locks.
func lockStripe(string) int { return 0 }
