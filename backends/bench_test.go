package backends_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/store"
)

// BenchmarkRecoverS3Latency recovers 2,000 sessions (a third with a
// backup, a third of those shrunk) from the in-process S3 server with 10 ms
// added to every request, at several concurrencies: what concurrency buys
// against a remote store. Run it with -benchtime=1x; each iteration starts
// from a freshly filled bucket.
func BenchmarkRecoverS3Latency(b *testing.B) {
	objects := map[string][]byte{}
	shrunk := 0
	for i := range 2000 {
		key := fmt.Sprintf("sessions-%05d.json", i)
		objects[key] = recoverytest.Session(2)
		if i%3 == 0 {
			objects[key+".bak"] = recoverytest.Session(1)
			if i%9 == 0 {
				objects[key+".bak"] = recoverytest.Session(4)
				shrunk++
			}
		}
	}
	for _, n := range []int{1, 4, 16, recovery.DefaultConcurrency, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				srv := testserver.S3(b)
				testserver.Fill(b, srv.Bucket, objects)
				srv.SetLatency(10 * time.Millisecond)
				s := blobstore.New(srv.Bucket, blobstore.WithConditions(s3cond.Conditions{}))
				b.StartTimer()
				r, err := recovery.RecoverAll(context.Background(), s, recovery.Options{Concurrency: n})
				if err != nil || r.Restored != shrunk || r.Errors != 0 {
					b.Fatalf("restored %d of %d, %d errors: %v", r.Restored, shrunk, r.Errors, err)
				}
			}
		})
	}
}

// BenchmarkListLocal lists a local store of 500,000 sessions, and one
// session beside a chain of 3,000 nested folders: what one listing of the
// top level costs, in time and in bytes allocated (a listing holds one
// compact entry per matching name, never a DirEntry per name). Creating the
// 500,000 files takes a while; run it with -benchtime=3x or so:
//
//	go test ./backends/ -run '^$' -bench BenchmarkListLocal -benchtime=3x -benchmem
func BenchmarkListLocal(b *testing.B) {
	b.Run("flat=500000", func(b *testing.B) {
		dir := b.TempDir()
		for i := range 500_000 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%07d.json", i)), []byte(`{"messages":[]}`), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		benchList(b, dir, 500_000)
	})
	b.Run("deep=3000", func(b *testing.B) {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "s.json"), []byte(`{"messages":[]}`), 0o644); err != nil {
			b.Fatal(err)
		}
		r, err := os.OpenRoot(dir)
		if err != nil {
			b.Fatal(err)
		}
		// Level by level through os.Root: the full path is longer than
		// PATH_MAX.
		for range 3000 {
			if err := r.Mkdir("d", 0o755); err != nil {
				b.Fatal(err)
			}
			sub, err := r.OpenRoot("d")
			r.Close()
			if err != nil {
				b.Fatal(err)
			}
			r = sub
		}
		err = r.WriteFile("bottom.json", []byte("{}"), 0o644)
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
		benchList(b, dir, 1)
	})
}

// benchList lists the top level of the local store in dir, which must hold
// want objects there.
func benchList(b *testing.B, dir string, want int) {
	s, err := local.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := s.List(context.Background(), "", func(store.Object) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("listed %d objects, want %d", n, want)
		}
	}
}
