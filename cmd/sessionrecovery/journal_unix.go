//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// lockJournal takes f's lock, so that two runs never append to one
// journal; a journal in use is refused at once rather than waited for.
func lockJournal(f *os.File) (unlock func(), err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("another run is using this journal")
		}
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}
