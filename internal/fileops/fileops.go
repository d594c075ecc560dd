// Package fileops holds the pieces that the file-based backends (local and
// aferofs) share: a reader that honours its context, a copy that checks its
// context between chunks, and the names of temporary files. Backends do not
// import each other, so what they share lives here.
package fileops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/c0fe5641/sessionrecovery/store"
)

// File is an open file as the file-based backends have one: *os.File,
// afero.File.
type File interface {
	io.ReadCloser
	Stat() (fs.FileInfo, error)
}

// NewReader wraps f, opened as fi describes it, so that every Read fails
// once ctx is done, and so that read errors name the backend and the key:
// "backend: read "key": cause". The reader implements store.Versioned
// with version(fi). At the end of the data it computes the version of
// f's Stat again: a file changed in place while it was read (truncated and
// rewritten to the same length, as shutil.copyfile does) then gives an
// error wrapping store.ErrChanged instead of the end, so that no one takes
// a mix of two versions for a document. (A change within the file
// system's timestamp resolution, a few milliseconds, of the version read
// can still go unseen.)
func NewReader(ctx context.Context, backend, key string, f File, fi fs.FileInfo, version func(fs.FileInfo) string) io.ReadCloser {
	return &reader{ctx: ctx, backend: backend, key: key, f: f, version: version(fi), versionOf: version}
}

type reader struct {
	ctx                   context.Context
	backend, key, version string
	f                     File
	versionOf             func(fs.FileInfo) string
}

func (r *reader) Version() string { return r.version }

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("%s: read %q: %w", r.backend, r.key, err)
	}
	n, err := r.f.Read(p)
	if err == io.EOF {
		switch fi, serr := r.f.Stat(); {
		case serr != nil:
			err = fmt.Errorf("stat at the end of the data: %w", serr)
		case r.versionOf(fi) != r.version:
			err = fmt.Errorf("%w: changed while it was read (version %s, then %s)", store.ErrChanged, r.version, r.versionOf(fi))
		}
	}
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: read %q: %w", r.backend, r.key, err)
	}
	return n, err
}

func (r *reader) Close() error {
	return r.f.Close()
}

// Copy copies src to dst, checking ctx before each chunk, so that a
// cancelled replace of a large object stops early.
func Copy(ctx context.Context, dst io.Writer, src io.Reader) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return fmt.Errorf("write temporary file: %w", err)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read source: %w", rerr)
		}
	}
}

// copyBufs holds Copy's buffers: a recovery restores hundreds of sessions,
// and a buffer each would be garbage to collect.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 256<<10)
	return &b
}}

// maxTempBase bounds the part of a temporary name taken from the
// destination, so that the temporary name stays within name-length limits.
const maxTempBase = 64

// TempName is the name of a temporary file for a destination named base:
// hidden, clearly ours, unique, and ending in hex digits, so never in ".json"
// (scans never take it for a session).
func TempName(base string) string {
	if len(base) > maxTempBase {
		// Cut at a rune boundary, for file systems that want UTF-8 names.
		cut := 0
		for i := range base {
			if i > maxTempBase {
				break
			}
			cut = i
		}
		base = base[:cut]
	}
	var b [8]byte
	rand.Read(b[:])
	return "." + base + ".tmp-" + hex.EncodeToString(b[:])
}
