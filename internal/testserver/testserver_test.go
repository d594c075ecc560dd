package testserver_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// kinds lists every kind of server, with the requests that differ between
// them.
var kinds = []struct {
	name string
	open func(testing.TB) *testserver.Server
	// deleteRequests is what one Bucket.Delete costs: s3blob asks for the
	// object's attributes first, since S3 deletes missing objects quietly.
	deleteRequests map[string]int
	// listed is how many objects the listing test fills the bucket with,
	// and pages how many list requests the default page size of 1000 then
	// makes. fake-gcs-server's in-memory backend scans the whole bucket on
	// every write, so filling it costs the square of the objects (a minute
	// for 2,500 under -race): GCS crosses one page boundary, not two.
	listed, pages int
}{
	{"S3", testserver.S3, map[string]int{testserver.Head: 1, testserver.Delete: 1}, 2500, 3},
	{"SeaweedFS", testserver.SeaweedFS, map[string]int{testserver.Head: 1, testserver.Delete: 1}, 2500, 3},
	{"GCS", testserver.GCS, map[string]int{testserver.Delete: 1}, 1100, 2},
	{"Azure", testserver.Azure, map[string]int{testserver.Delete: 1}, 2500, 3},
	{"Mem", testserver.Mem, nil, 2500, 3},
}

// manyObjects returns n JSON objects: a few keys that sort around "/", and
// more whose numeric order is not their byte-wise order.
func manyObjects(n int) map[string][]byte {
	objects := make(map[string][]byte, n)
	for _, key := range []string{"a-b.json", "a/b.json", "a0.json"} {
		objects[key] = []byte(`{"messages":[]}`)
	}
	for i := range n - len(objects) {
		objects[fmt.Sprintf("s%d.json", i)] = fmt.Appendf(nil, `{"messages":[],"n":%d}`, i)
	}
	return objects
}

func TestServer(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			objects := manyObjects(kind.listed)
			want := slices.Sorted(maps.Keys(objects))
			ctx := context.Background()
			s := kind.open(t)
			b := s.Bucket

			// counted runs f and checks the requests it made.
			counted := func(t *testing.T, want map[string]int, f func()) {
				t.Helper()
				if s.Requests == nil {
					f()
					return
				}
				s.Requests.Reset()
				f()
				assert.Equal(t, want, s.Requests.Counts())
			}

			counted(t, map[string]int{testserver.Put: len(objects)}, func() {
				testserver.Fill(t, b, objects)
			})

			t.Run("List crosses pages in byte-wise order", func(t *testing.T) {
				var got []string
				counted(t, map[string]int{testserver.List: kind.pages}, func() {
					it := b.List(nil)
					for {
						obj, err := it.Next(ctx)
						if err == io.EOF {
							break
						}
						require.NoError(t, err)
						got = append(got, obj.Key)
					}
				})
				assert.Equal(t, want, got)
			})
			t.Run("NewReader is one get", func(t *testing.T) {
				counted(t, map[string]int{testserver.Get: 1}, func() {
					r, err := b.NewReader(ctx, "s42.json", nil)
					require.NoError(t, err)
					got, err := io.ReadAll(r)
					require.NoError(t, err)
					require.NoError(t, r.Close())
					assert.Equal(t, objects["s42.json"], got)
					assert.Equal(t, "application/json", r.ContentType())
				})
			})
			t.Run("a missing object is one get", func(t *testing.T) {
				counted(t, map[string]int{testserver.Get: 1}, func() {
					_, err := b.NewReader(ctx, "missing.json", nil)
					assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
				})
			})
			t.Run("Attributes is one head", func(t *testing.T) {
				counted(t, map[string]int{testserver.Head: 1}, func() {
					attrs, err := b.Attributes(ctx, "a/b.json")
					require.NoError(t, err)
					assert.Equal(t, int64(len(objects["a/b.json"])), attrs.Size)
				})
			})
			t.Run("Copy is one copy", func(t *testing.T) {
				counted(t, map[string]int{testserver.Copy: 1}, func() {
					require.NoError(t, b.Copy(ctx, "copied.json", "s7.json", nil))
				})
				got, err := b.ReadAll(ctx, "copied.json")
				require.NoError(t, err)
				assert.Equal(t, objects["s7.json"], got)
			})
			t.Run("WriteAll is one put", func(t *testing.T) {
				counted(t, map[string]int{testserver.Put: 1}, func() {
					require.NoError(t, b.WriteAll(ctx, "new.json", []byte(`{}`), nil))
				})
			})
			t.Run("Delete", func(t *testing.T) {
				counted(t, kind.deleteRequests, func() {
					require.NoError(t, b.Delete(ctx, "s8.json"))
				})
				_, err := b.Attributes(ctx, "s8.json")
				assert.Equal(t, gcerrors.NotFound, gcerrors.Code(err), "%v", err)
			})
		})
	}
}

// TestServerURL opens each server's URL the way a program would: from the
// environment and the URL alone.
func TestServerURL(t *testing.T) {
	for _, kind := range kinds {
		if kind.name == "Mem" {
			continue // memblob URLs name a new, empty bucket
		}
		t.Run(kind.name, func(t *testing.T) {
			ctx := context.Background()
			s := kind.open(t)
			testserver.Fill(t, s.Bucket, map[string][]byte{"chat.json": []byte(`{"messages":[1]}`)})
			for k, v := range s.Env {
				t.Setenv(k, v)
			}
			b, err := blob.OpenBucket(ctx, s.URL)
			require.NoError(t, err, s.URL)
			defer b.Close()

			s.Requests.Reset()
			got, err := b.ReadAll(ctx, "chat.json")
			require.NoError(t, err)
			assert.Equal(t, `{"messages":[1]}`, string(got))
			assert.Equal(t, map[string]int{testserver.Get: 1}, s.Requests.Counts())
		})
	}
}

func TestSetLatency(t *testing.T) {
	const latency = 50 * time.Millisecond
	for _, kind := range kinds {
		if kind.name == "Mem" {
			continue
		}
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := kind.open(t)
			s.SetLatency(latency)
			start := time.Now()
			_, err := s.Bucket.Exists(ctx, "x.json")
			require.NoError(t, err)
			assert.GreaterOrEqual(t, time.Since(start), latency)
			assert.Equal(t, map[string]int{testserver.Head: 1}, s.Requests.Counts())
		})
	}
}

func TestCounter(t *testing.T) {
	s := testserver.S3(t)
	b := s.Bucket
	ctx := context.Background()
	assert.Equal(t, map[string]int{}, s.Requests.Counts(), "a new server has seen no request")

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := b.Exists(ctx, fmt.Sprint(i))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	counts := s.Requests.Counts()
	assert.Equal(t, map[string]int{testserver.Head: 20}, counts)

	counts[testserver.Head] = 0
	assert.Equal(t, 20, s.Requests.Counts()[testserver.Head], "Counts returns a copy")
	s.Requests.Reset()
	assert.Equal(t, map[string]int{}, s.Requests.Counts())
}

// TestClassify covers requests the gocloud drivers do not make in the
// tests above, sent straight to each server.
func TestClassify(t *testing.T) {
	type request struct {
		method, target string
		header         map[string]string
		want           string
	}
	for _, tc := range []struct {
		name     string
		open     func(testing.TB) *testserver.Server
		requests []request
	}{
		{"S3", testserver.S3, []request{
			{"GET", "/testserver?list-type=2", nil, testserver.List},
			{"GET", "/testserver", nil, testserver.List},
			{"GET", "/testserver?location", nil, testserver.Other},
			{"HEAD", "/testserver", nil, testserver.Head},
			{"PUT", "/other-bucket", nil, testserver.Other},
			{"POST", "/testserver?delete", nil, testserver.Delete},
			{"POST", "/testserver/big?uploads", nil, testserver.Put},
			{"PUT", "/testserver/big?partNumber=1&uploadId=x", nil, testserver.Put},
			{"PUT", "/testserver/k", map[string]string{"X-Amz-Copy-Source": "testserver/j"}, testserver.Copy},
			{"DELETE", "/testserver/k", nil, testserver.Delete},
			{"GET", "/", nil, testserver.Other},
		}},
		{"GCS", testserver.GCS, []request{
			{"GET", "/download/storage/v1/b/testserver/o/k?alt=media", nil, testserver.Get},
			{"GET", "/storage/v1/b/testserver/o/a%2Fb?alt=media", nil, testserver.Get},
			{"GET", "/storage/v1/b/testserver/o/a%2Fb", nil, testserver.Head},
			{"HEAD", "/testserver/a/b", nil, testserver.Head},
			{"GET", "/testserver/a/b", nil, testserver.Get},
			{"GET", "/testserver", nil, testserver.List},
			{"POST", "/storage/v1/b/testserver/o/a/copyTo/b/testserver/o/b", nil, testserver.Copy},
			{"POST", "/upload/storage/v1/b/testserver/o?uploadType=resumable&name=k", nil, testserver.Put},
			{"PUT", "/upload/resumable/123", nil, testserver.Put},
			{"DELETE", "/storage/v1/b/testserver/o/k", nil, testserver.Delete},
			{"PATCH", "/storage/v1/b/testserver/o/k", nil, testserver.Other},
			{"POST", "/storage/v1/b", nil, testserver.Other},
			{"GET", "/storage/v1/b/testserver", nil, testserver.Other},
		}},
		{"Azure", testserver.Azure, []request{
			{"GET", "/devstoreaccount1/c?restype=container&comp=list", nil, testserver.List},
			{"GET", "/devstoreaccount1?comp=list", nil, testserver.List},
			{"PUT", "/devstoreaccount1/c?restype=container", nil, testserver.Other},
			{"PUT", "/devstoreaccount1/c/k?comp=block&blockid=AA", nil, testserver.Put},
			{"PUT", "/devstoreaccount1/c/k?comp=blocklist", nil, testserver.Put},
			{"PUT", "/devstoreaccount1/c/k", nil, testserver.Put},
			{"PUT", "/devstoreaccount1/c/k", map[string]string{"X-Ms-Copy-Source": "http://127.0.0.1/devstoreaccount1/c/j"}, testserver.Copy},
			{"PUT", "/devstoreaccount1/c/k?comp=metadata", nil, testserver.Other},
			{"GET", "/devstoreaccount1/c/k?comp=blocklist", nil, testserver.Head},
			{"HEAD", "/devstoreaccount1/c/k", nil, testserver.Head},
			{"GET", "/devstoreaccount1/c/a/b", nil, testserver.Get},
			{"DELETE", "/devstoreaccount1/c/k", nil, testserver.Delete},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			u := serverURL(t, s)
			for _, r := range tc.requests {
				s.Requests.Reset()
				req := httptest.NewRequest(r.method, u+r.target, nil)
				req.RequestURI = ""
				for k, v := range r.header {
					req.Header.Set(k, v)
				}
				resp, err := (&http.Client{}).Do(req)
				require.NoError(t, err)
				_ = resp.Body.Close()
				assert.Equal(t, map[string]int{r.want: 1}, s.Requests.Counts(), "%s %s", r.method, r.target)
			}
		})
	}
}

// serverURL digs the server's http://host:port out of its gocloud URL.
func serverURL(t *testing.T, s *testserver.Server) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	q := u.Query()
	switch {
	case q.Get("endpoint") != "":
		return q.Get("endpoint")
	case q.Get("domain") != "":
		return "http://" + q.Get("domain")
	}
	return "http://" + s.Env["STORAGE_EMULATOR_HOST"]
}
