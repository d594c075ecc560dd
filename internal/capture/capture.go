// Package capture is for tests that must see what a piece of code writes
// to the process's own standard output or error, where an SDK may print
// behind the logger it was given.
package capture

import (
	"io"
	"os"
	"testing"
)

// File runs f with *file (os.Stdout or os.Stderr) swapped for a pipe, and
// returns what was written there. It is not safe for parallel tests: the
// swap is process-wide.
func File(t testing.TB, file **os.File, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	saved := *file
	*file = w
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	restore := func() {
		*file = saved
		w.Close()
	}
	defer func() {
		if *file == w { // f panicked or called t.FailNow
			restore()
			<-got
		}
		r.Close()
	}()
	f()
	restore()
	return string(<-got)
}
