package bucketsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnchunk(t *testing.T) {
	body := "5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n"
	got, err := unchunk([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(got))
	for _, bad := range []string{"5\r\nhel", "zz\r\nhello\r\n0\r\n", "5\r\nhelloXX0\r\n", "5"} {
		_, err := unchunk([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestPrefixRate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{Sessions: 10, PrefixRate: 2, now: func() time.Time { return now }}
	s, err := New(cfg)
	require.NoError(t, err)
	ok := func(key string) bool { return !s.throttle(key) }
	assert.True(t, ok("a1"))
	assert.True(t, ok("a2"))
	assert.False(t, ok("a3"), "a prefix's second's worth is spent")
	assert.True(t, ok("b1"), "another prefix has its own")
	now = now.Add(500 * time.Millisecond)
	assert.True(t, ok("a4"), "half a second gives one request back")
	assert.False(t, ok("a5"))
}

func TestSeekFindsEveryKey(t *testing.T) {
	s, err := New(Config{Sessions: 500, BackupShare: 0.4, ShrunkShare: 0.1, MedianBytes: 500, Seed: 9})
	require.NoError(t, err)
	var all []string
	for p := s.b.seek(""); p.i < 500; p = s.b.next(p) {
		k, obj, ok := s.b.at(p)
		require.True(t, ok)
		require.NotNil(t, obj, k)
		require.Same(t, obj, s.b.lookup(k))
		all = append(all, k)
	}
	require.Len(t, all, s.b.totals.Objects)
	for i, k := range all {
		k2, _, _ := s.b.at(s.b.seek(k))
		assert.Equal(t, k, k2)
		if i+1 < len(all) {
			k3, _, _ := s.b.at(s.b.seek(k + "\x00"))
			assert.Equal(t, all[i+1], k3)
		}
	}
	_, _, ok := s.b.at(s.b.seek(all[len(all)-1] + "\x00"))
	assert.False(t, ok)
}

func TestListPagesAndDelimiter(t *testing.T) {
	s, err := New(Config{Sessions: 30, MedianBytes: 500})
	require.NoError(t, err)
	for _, k := range []string{"dir/a", "dir/b", "dir2/x/y", "zz"} {
		s.o.set(k, newObject([]byte("x")))
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	page := func(q string) string {
		res, err := http.Get(hs.URL + "/sessions?list-type=2&" + q)
		require.NoError(t, err)
		defer res.Body.Close()
		var b strings.Builder
		_, err = fmt.Fprint(&b, must(readAll(res)))
		require.NoError(t, err)
		return b.String()
	}
	got := page("delimiter=/&prefix=di&max-keys=1")
	assert.Contains(t, got, "<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>")
	assert.Contains(t, got, "<IsTruncated>true</IsTruncated>")
	tok := between(got, "<NextContinuationToken>", "</NextContinuationToken>")
	got = page("delimiter=/&prefix=di&max-keys=1&continuation-token=" + tok)
	assert.Contains(t, got, "<Prefix>dir2/</Prefix></CommonPrefixes>")
	assert.Contains(t, got, "<IsTruncated>false</IsTruncated>")
	got = page("start-after=dir/a&prefix=dir/")
	assert.Contains(t, got, "<Key>dir/b</Key>")
	assert.NotContains(t, got, "<Key>dir/a</Key>")
	res, err := http.Get(hs.URL + "/sessions?list-type=1")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotImplemented, res.StatusCode, "ListObjects v1 is not served")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func readAll(res *http.Response) (string, error) {
	var b strings.Builder
	_, err := fmt.Fprint(&b, "")
	buf := make([]byte, 1<<16)
	for {
		n, rerr := res.Body.Read(buf)
		b.Write(buf[:n])
		if rerr != nil {
			break
		}
	}
	return b.String(), err
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}
