//go:build unix

package local

import (
	"errors"
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
