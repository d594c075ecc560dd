package testserver

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// The kinds of request a Counter counts. A kind names what a request does to
// the store, whatever the protocol spells it as.
const (
	List   = "list"   // one page of a listing
	Get    = "get"    // a read of object data
	Head   = "head"   // a read of metadata only: attributes, existence
	Put    = "put"    // one request of an upload of object data
	Copy   = "copy"   // a server-side copy
	Delete = "delete" // a deletion of objects
	Other  = "other"  // anything else, such as creating a bucket
)

// Counter counts the HTTP requests a Server received, by kind (List, Get,
// Head, Put, Copy, Delete, Other). It is safe for concurrent use.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *Counter) add(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[string]int)
	}
	c.counts[kind]++
}

// Counts returns a copy of the counts since the server started or since the
// last Reset. Kinds never seen are absent, so a test can compare the whole
// map with the requests it expects.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts := maps.Clone(c.counts)
	if counts == nil {
		counts = map[string]int{}
	}
	return counts
}

// Reset sets every count back to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.counts)
}

// Server is one fake cloud storage service holding one fresh, empty bucket.
// Everything it serves listens on the loopback interface only.
type Server struct {
	// Bucket is the bucket, opened through the real SDK against the server.
	// It is closed when the test ends.
	Bucket *blob.Bucket

	// URL is a gocloud URL (s3://, gs://, azblob://) that blob.OpenBucket
	// turns into a bucket on the same server and bucket, with every query
	// parameter it needs. It works only with Env applied, and the test must
	// blank-import the matching driver. It is empty for Mem.
	URL string

	// Env holds the environment variables URL needs when it is opened;
	// apply them with t.Setenv before blob.OpenBucket. It is nil for Mem.
	//
	// gcsblob and azureblob read parts of their environment once per process,
	// on their first URL open; since every Server of a kind needs the same
	// values, that is harmless as long as no URL of that kind was opened
	// without them earlier in the process.
	Env map[string]string

	// Requests counts every HTTP request the server received, by kind. It is
	// nil for Mem, which has no server.
	Requests *Counter

	latency atomic.Int64 // a time.Duration
}

// SetLatency makes the server wait d before serving each request from now
// on, to simulate a network round trip (for benchmarks). Zero turns it off.
// It has no effect on Mem.
func (s *Server) SetLatency(d time.Duration) {
	s.latency.Store(int64(d))
}

// newServer returns a Server with a Counter, for the protocol constructors.
func newServer() *Server {
	return &Server{Requests: &Counter{}}
}

// handler wraps h so that every request is counted as classify says, then
// delayed by the server's latency, then served by h.
func (s *Server) handler(classify func(*http.Request) string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.add(classify(r))
		if d := time.Duration(s.latency.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return // the client has gone
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Mem returns a Server whose Bucket is an in-memory gocloud bucket
// (memblob). It has no server: URL and Env are empty, Requests is nil.
func Mem(t testing.TB) *Server {
	t.Helper()
	b := memblob.OpenBucket(nil)
	t.Cleanup(func() { _ = b.Close() })
	return &Server{Bucket: b}
}

const (
	// fillConcurrency bounds the writes Fill has in flight at once.
	fillConcurrency = 8
	// fillBufferSize is the smallest upload buffer Fill asks for. The
	// drivers' defaults (16 MiB for GCS, 8 MiB for Azure) make filling
	// thousands of small objects slow; a buffer larger than the object
	// still sends it in one request.
	fillBufferSize = 1 << 20
)

// Fill writes objects into b, each with content type application/json,
// and fails the test if any write fails. On a Server's bucket each object
// costs one Put request; Reset the counter afterwards if that matters.
func Fill(t testing.TB, b *blob.Bucket, objects map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	keys := slices.Sorted(maps.Keys(objects))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, fillConcurrency)
	var wg sync.WaitGroup
	for i, key := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// Upload, unlike WriteAll, does not go through azureblob's pipe,
			// whose Close panics after a failed upload (gocloud v0.47.0).
			data := objects[key]
			errs[i] = b.Upload(ctx, key, bytes.NewReader(data), &blob.WriterOptions{
				ContentType: "application/json",
				BufferSize:  max(len(data)+1, fillBufferSize),
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("testserver.Fill: %v", err)
	}
}
