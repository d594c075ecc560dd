package msgcount_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/c0fe5641/sessionrecovery/internal/sessiongen"
	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// BenchmarkCountSessionStore counts the messages of every document of a
// generated store shaped like the benchmark command's (sessiongen.Default,
// fewer sessions), one core, documents in memory: the counter's own speed on
// realistic chat data, in MB/s.
func BenchmarkCountSessionStore(b *testing.B) {
	dir := b.TempDir()
	shape := sessiongen.Default()
	shape.Sessions = 600
	if _, err := sessiongen.Write(dir, shape); err != nil {
		b.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		b.Fatal(err)
	}
	var docs [][]byte
	var total int64
	for _, n := range names {
		d, err := os.ReadFile(n)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, d)
		total += int64(len(d))
	}
	var c msgcount.Counter
	b.Run("CountBytes", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			for _, d := range docs {
				if c.CountBytes(d) < 0 {
					b.Fatal("a generated document did not count")
				}
			}
		}
	})
	b.Run("CountBytes/byte-at-a-time", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			for _, d := range docs {
				if c.CountBytesByte(d) < 0 {
					b.Fatal("a generated document did not count")
				}
			}
		}
	})
	b.Run("Count", func(b *testing.B) {
		b.SetBytes(total)
		var r bytes.Reader
		for b.Loop() {
			for _, d := range docs {
				r.Reset(d)
				if n, err := c.Count(&r); n < 0 || err != nil {
					b.Fatal("a generated document did not count")
				}
			}
		}
	})
}
