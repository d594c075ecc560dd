package storefault

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/c0fe5641/sessionrecovery/store"
)

const (
	// holdBack is how many bytes a cutReader keeps from its caller until
	// it knows where the object ends: a cut falls within them.
	holdBack = 64 << 10
	// readChunk is the least room a cutReader offers each inner Read.
	readChunk = 32 << 10
)

// cutReader passes on the bytes of r except a part of the end: it holds
// back the last holdBack bytes it has read, and when r ends it passes on
// only the share keep (in [0, 1)) of them, then ends, with io.EOF, or with
// the error fail gives. Errors of r itself are passed on as they come.
type cutReader struct {
	r    io.ReadCloser
	keep float64
	fail func(passed int64) error // nil: end with io.EOF

	buf    []byte // buf[lo:] is read from r and not passed on yet
	lo     int
	passed int64
	ended  bool  // r has ended, and buf[lo:] is what is left to pass on
	err    error // the error to end with
}

func (c *cutReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		held := len(c.buf) - c.lo
		if c.ended && held == 0 {
			return 0, c.err
		}
		if free := held - holdBack; c.ended || free > 0 {
			if c.ended {
				free = held
			}
			n := copy(p, c.buf[c.lo:c.lo+free])
			c.lo += n
			c.passed += int64(n)
			return n, nil
		}
		if c.lo > 0 {
			c.buf = c.buf[:copy(c.buf, c.buf[c.lo:])]
			c.lo = 0
		}
		c.buf = slices.Grow(c.buf, readChunk)
		n, err := c.r.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF {
			c.end()
		} else if err != nil {
			return 0, err
		}
	}
}

// end drops the part of the held-back bytes that is cut.
func (c *cutReader) end() {
	c.ended = true
	held := len(c.buf) - c.lo
	kept := int(c.keep * float64(held)) // < held when held > 0
	c.buf = c.buf[:c.lo+kept]
	c.err = io.EOF
	if c.fail != nil {
		c.err = c.fail(c.passed + int64(kept))
	}
}

func (c *cutReader) Close() error { return c.r.Close() }

// slowReader waits for its store's delay before its first Read; if ctx is
// done first, every Read fails.
type slowReader struct {
	io.ReadCloser
	ctx    context.Context
	f      *faultStore
	key    string
	waited bool
	err    error
}

func (s *slowReader) Read(p []byte) (int, error) {
	if !s.waited {
		s.waited = true
		if err := s.f.wait(s.ctx); err != nil {
			s.err = fmt.Errorf("storefault: read %q: %w", s.key, err)
		}
	}
	if s.err != nil {
		return 0, s.err
	}
	return s.ReadCloser.Read(p)
}

// versionedReader is a reader of a fault that reports the version of the
// inner store's reader.
type versionedReader struct {
	io.ReadCloser
	v store.Versioned
}

func (r versionedReader) Version() string { return r.v.Version() }
