//go:build !unix

package local

import "os"

// openFlags is empty outside unix, where there is no O_NONBLOCK to ask for.
const openFlags = 0

func isNotDir(error) bool { return false }

// syncDir does nothing where directories cannot be synced.
func syncDir(*os.Root, string) error { return nil }
