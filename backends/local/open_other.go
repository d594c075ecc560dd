//go:build !linux

package local

import (
	"io/fs"
	"os"

	"github.com/c0fe5641/sessionrecovery/internal/fileops"
)

// procSelfFD is unused outside Linux.
const procSelfFD = ""

// openRegular opens name for reading if it is a regular file. Without
// O_PATH there is no handle to check before opening, so it is best
// effort: a Stat refuses a special file that stands at name without
// opening it, and the fstat of the file opened refuses one renamed over
// name in between, after opening it (non-blocking and without taking a
// terminal as the controlling one on unix: fileops.OpenFlags).
func (s *Store) openRegular(name string) (*os.File, fs.FileInfo, error) {
	if fi, err := s.root.Stat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, nil, notRegular(fi)
	}
	s.afterCheck(name)
	f, err := s.root.OpenFile(name, os.O_RDONLY|fileops.OpenFlags, 0)
	if err != nil {
		return nil, nil, missing(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular(fi)
	}
	return f, fi, nil
}
