package testserver

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"gocloud.dev/blob/gcsblob"
	"google.golang.org/api/option"
)

// GCS returns a Server speaking the Cloud Storage JSON and XML APIs
// (fake-gcs-server, in memory) over plain HTTP on a loopback port, with one
// empty bucket opened through cloud.google.com/go/storage, unauthenticated.
//
// The storage client reads objects through the XML API (GET /bucket/object)
// and does everything else through the JSON API, as it does against GCS.
// Listing with a delimiter and a page size other than the default can repeat
// prefixes on this fake; keep the default page size.
func GCS(t testing.TB) *Server {
	t.Helper()
	const bucketName = "testserver"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver.GCS: listen: %v", err)
	}
	addr := l.Addr().String()
	// The fake routes XML API requests by Host, so it must know the address
	// the clients use; and it puts ExternalURL in resumable upload locations.
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		NoListener:  true,
		Scheme:      "http",
		PublicHost:  addr,
		ExternalURL: "http://" + addr,
	})
	if err != nil {
		_ = l.Close()
		t.Fatalf("testserver.GCS: %v", err)
	}
	t.Cleanup(fake.Stop)
	fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucketName})

	s := newServer()
	hs := &httptest.Server{
		Listener: l,
		Config:   &http.Server{Handler: s.handler(classifyGCS, fake.HTTPHandler())},
	}
	hs.Start()
	t.Cleanup(hs.Close)

	ctx := context.Background()
	client, err := storage.NewClient(ctx,
		option.WithEndpoint("http://"+addr+"/storage/v1/"),
		option.WithoutAuthentication(),
		option.WithHTTPClient(&http.Client{}),
		storage.WithDisabledClientMetrics(),
	)
	if err != nil {
		t.Fatalf("testserver.GCS: storage client: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	b, err := gcsblob.OpenBucket(ctx, nil, bucketName, &gcsblob.Options{Client: client})
	if err != nil {
		t.Fatalf("testserver.GCS: open bucket: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s.Bucket = b

	s.URL = "gs://" + bucketName
	s.Env = map[string]string{"STORAGE_EMULATOR_HOST": addr}
	return s
}

// classifyGCS classifies a Cloud Storage request, JSON or XML API.
func classifyGCS(r *http.Request) string {
	// Object names in JSON API paths are escaped, "/" included, so every raw
	// "/" in the escaped path separates path segments.
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, "/upload/"):
		return Put // every request of a simple, multipart or resumable upload
	case strings.HasPrefix(path, "/download/storage/v1/b/"):
		return readKind(r.Method)
	case strings.HasPrefix(path, "/storage/v1/b/"):
		return classifyGCSJSON(r, strings.TrimPrefix(path, "/storage/v1/b/"))
	case strings.HasPrefix(path, "/storage/"), strings.HasPrefix(path, "/batch/"), strings.HasPrefix(path, "/_internal/"):
		return Other // buckets, batches, the fake's own API
	}
	// The XML API: /bucket or /bucket/object.
	bucket, object, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch {
	case bucket == "":
		return Other
	case object == "":
		if r.Method == http.MethodGet {
			return List
		}
		return Other
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return readKind(r.Method)
	case http.MethodPut, http.MethodPost:
		return Put
	case http.MethodDelete:
		return Delete
	}
	return Other
}

// classifyGCSJSON classifies a JSON API request below /storage/v1/b/;
// rest is the escaped path after that.
func classifyGCSJSON(r *http.Request, rest string) string {
	parts := strings.Split(rest, "/") // bucket, "o", object, ...
	if len(parts) < 2 || parts[1] != "o" {
		return Other // the bucket itself, its ACLs, notifications
	}
	if len(parts) == 2 || parts[2] == "" {
		if r.Method == http.MethodGet {
			return List
		}
		return Other
	}
	if len(parts) > 3 {
		switch parts[3] {
		case "rewriteTo", "copyTo":
			return Copy
		}
		return Other // ACLs, compose
	}
	switch r.Method {
	case http.MethodGet:
		if r.URL.Query().Get("alt") == "media" {
			return Get
		}
		return Head
	case http.MethodHead:
		return Head
	case http.MethodDelete:
		return Delete
	}
	return Other // metadata updates
}

// readKind is Head for HEAD and Get for any other read of object data.
func readKind(method string) string {
	if method == http.MethodHead {
		return Head
	}
	return Get
}
