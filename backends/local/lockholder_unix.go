//go:build unix && !linux

package local

import "os"

// holderOf cannot tell who holds a flock on this system.
func holderOf(*os.File) string { return "held by another process" }
