package backends_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
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
