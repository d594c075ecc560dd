package backends_test

import (
	"testing"

	"github.com/c0fe5641/sessionrecovery/saveguard/saveguardtest"
)

// TestSaveguard runs the save-path scenarios on every backend: a shrinking
// save leaves a backup, an intentional shrink or a delete is never undone by
// recovery, even when cut by a crash, and a concurrent save is never
// overwritten. On a bucket that reports no versions (MemBlob) the guard's
// writes are unconditional, and the scenarios that need a version say so
// and skip.
func TestSaveguard(t *testing.T) {
	for _, b := range everyBackend {
		t.Run(b.name, func(t *testing.T) { saveguardtest.Run(t, b.make) })
	}
}
