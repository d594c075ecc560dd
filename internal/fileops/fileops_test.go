package fileops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

func TestTempName(t *testing.T) {
	long := strings.Repeat("会", 100) + ".json"
	for _, base := range []string{"a.json", ".json", "s.json.bak", "x", long, strings.Repeat("a", 300)} {
		name := TempName(base)
		assert.False(t, strings.HasSuffix(name, ".json"), "%q", name)
		assert.True(t, strings.HasPrefix(name, "."), "hidden: %q", name)
		assert.Contains(t, name, ".tmp-")
		assert.LessOrEqual(t, len(name), 100, "short enough for any file system: %q", name)
		assert.True(t, utf8.ValidString(name), "%q", name)
		assert.NotEqual(t, name, TempName(base), "unique")
	}
}

func TestReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewReader(ctx, "test", "k.json", fakeFile{strings.NewReader("abcdef"), 1}, fakeInfo(1), fakeVersion)
	buf := make([]byte, 3)
	n, err := r.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(buf[:n]))
	cancel()
	_, err = r.Read(buf)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), `test: read "k.json"`)

	failure := errors.New("disk on fire")
	r = NewReader(context.Background(), "test", "k.json", fakeFile{iotest.ErrReader(failure), 1}, fakeInfo(1), fakeVersion)
	_, err = r.Read(buf)
	assert.ErrorIs(t, err, failure)
	assert.Contains(t, err.Error(), `"k.json"`)
}

func TestCopy(t *testing.T) {
	src := bytes.Repeat([]byte("0123456789"), 100_000)
	var dst bytes.Buffer
	require.NoError(t, Copy(context.Background(), &dst, iotest.HalfReader(bytes.NewReader(src))))
	assert.Equal(t, src, dst.Bytes())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst.Reset()
	assert.ErrorIs(t, Copy(ctx, &dst, bytes.NewReader(src)), context.Canceled)
	assert.Zero(t, dst.Len())
}

// A file whose version changed by the end of its data was changed in place
// while it was read: an error wrapping store.ErrChanged, never the end.
func TestReaderChangedWhileRead(t *testing.T) {
	r := NewReader(context.Background(), "test", "k.json", fakeFile{strings.NewReader("abc"), 2}, fakeInfo(1), fakeVersion)
	_, err := io.ReadAll(r)
	require.ErrorIs(t, err, store.ErrChanged)
	assert.Contains(t, err.Error(), `test: read "k.json"`)
}

// fakeFile is a file whose Stat reports generation gen.
type fakeFile struct {
	io.Reader
	gen int64
}

func (f fakeFile) Close() error               { return nil }
func (f fakeFile) Stat() (fs.FileInfo, error) { return fakeInfo(f.gen), nil }

// fakeInfo describes generation gen of a file, by its size.
type fakeInfo int64

func (i fakeInfo) Name() string       { return "k.json" }
func (i fakeInfo) Size() int64        { return int64(i) }
func (i fakeInfo) Mode() fs.FileMode  { return 0o644 }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return false }
func (i fakeInfo) Sys() any           { return nil }

func fakeVersion(fi fs.FileInfo) string { return fmt.Sprint("v", fi.Size()) }
