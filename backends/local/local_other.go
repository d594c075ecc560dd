//go:build !unix

package local

import (
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// openFlags is empty outside unix, where there is no O_NONBLOCK to ask for.
const openFlags = 0

func isNotDir(error) bool { return false }

// syncDir does nothing where directories cannot be synced.
func syncDir(*os.Root, string) error { return nil }

func fileVersion(fi fs.FileInfo) string {
	return fmt.Sprintf("%x:%x", fi.Size(), fi.ModTime().UnixNano())
}

// lockMu stands in for flock(2): it serialises this process only.
var lockMu sync.Mutex

func lockDir(*os.Root, string) (func(), error) {
	lockMu.Lock()
	return lockMu.Unlock, nil
}
