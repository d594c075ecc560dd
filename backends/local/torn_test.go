package local_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/store"
)

// rewriteWhileRead is a local store whose reader of the backup, after its
// first chunk, lets the application rewrite the backup in place (truncate,
// write: what shutil.copyfile does) with a document of the same length.
type rewriteWhileRead struct {
	*local.Store
	dir  string
	next []byte
}

func (r *rewriteWhileRead) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := r.Store.Open(ctx, key)
	if err != nil || key != "s.json.bak" || r.next == nil {
		return rc, err
	}
	next := r.next
	r.next = nil
	return &midRead{ReadCloser: rc, rewrite: func() {
		if err := os.WriteFile(filepath.Join(r.dir, key), next, 0o644); err != nil {
			panic(err)
		}
	}}, nil
}

// midRead reads in chunks of at most 64 KiB and rewrites the file after
// the first.
type midRead struct {
	io.ReadCloser
	rewrite func()
	n       int
}

func (m *midRead) Read(p []byte) (int, error) {
	if m.n > 0 && m.rewrite != nil {
		m.rewrite()
		m.rewrite = nil
	}
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := m.ReadCloser.Read(p)
	m.n += n
	return n, err
}

// Once a bug: a backup of up to 1 MiB that the application rewrites in place,
// with a document of the same length, while recovery reads it is counted
// as a mix of the two versions (the length matches the listing, the mix is
// valid JSON), and that mix, which is neither version, is written over the
// live document and reported restored. The README says "a file rewritten
// in place while it is read is caught by its length"; it is not when the
// length stays. (Seen with the CLI too: 22 of 507 runs against a 600 KiB
// backup rewritten in a loop; none with a 1.2 MiB backup, which is read
// again and checked.)
func TestBackupRewrittenInPlaceWhileReadIsNeverWrittenTorn(t *testing.T) {
	a := bigDocOf('a', 300) // ~300 KiB: kept in memory from the count
	b := bigDocOf('b', 300)
	require.Equal(t, len(a), len(b))
	dir := newDir(t, map[string][]byte{"s.json": shortDoc, "s.json.bak": a})
	// Written an hour ago: the rewrite then changes the modification time,
	// which is what the reader checks at the end (a rewrite within the
	// file system's timestamp resolution is the limit the README states).
	hourAgo := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "s.json.bak"), hourAgo, hourAgo))
	s := &rewriteWhileRead{Store: open(t, dir), dir: dir, next: b}

	st := recoverS(t, s)
	got := read(t, dir, "s.json")
	if st.Restored {
		assert.True(t, bytes.Equal(got, a) || bytes.Equal(got, b),
			"the live document holds one version of the backup, not a mix (%d 'a', %d 'b')", bytes.Count(got, []byte("a")), bytes.Count(got, []byte("b")))
	} else {
		assert.Equal(t, string(shortDoc), string(got))
	}
}

// Version passes the store's version through.
func (m *midRead) Version() string { return store.Version(m.ReadCloser) }

func bigDocOf(c byte, n int) []byte {
	msg := `"` + string(bytes.Repeat([]byte{c}, 1000)) + `"`
	return []byte(`{"messages":[` + string(bytes.TrimSuffix(bytes.Repeat([]byte(msg+","), n), []byte(","))) + `]}`)
}
