//go:build unix

package local

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/c0fe5641/sessionrecovery/store"
)

// A hard link the file system refuses made nothing, so recovery must copy
// instead: only "dst exists" and "src vanished" are not such refusals.
func TestLinkErrorTellsWhenToCopy(t *testing.T) {
	linkErr := func(errno syscall.Errno) error {
		return linkError(&os.LinkError{Op: "linkat", Old: "s.json", New: "s.json.replaced", Err: errno}, "s.json.replaced")
	}
	for _, errno := range []syscall.Errno{syscall.EPERM, syscall.EMLINK, syscall.EXDEV, syscall.ENOTSUP, syscall.EIO} {
		err := linkErr(errno)
		assert.ErrorIs(t, err, errors.ErrUnsupported, "%v", errno)
		assert.ErrorIs(t, err, errno, "the cause is kept")
	}
	err := linkErr(syscall.EEXIST)
	assert.ErrorIs(t, err, store.ErrChanged)
	assert.NotErrorIs(t, err, errors.ErrUnsupported, "a copy would overwrite dst")
	assert.Contains(t, err.Error(), "s.json.replaced")
	err = linkErr(syscall.ENOENT)
	assert.ErrorIs(t, err, store.ErrNotExist)
	assert.NotErrorIs(t, err, errors.ErrUnsupported)
}
