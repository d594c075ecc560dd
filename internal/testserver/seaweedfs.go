package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob/s3blob"
)

// Environment variables that choose the SeaweedFS the SeaweedFS servers use.
const (
	// EnvSeaweedFS is the S3 endpoint of a running SeaweedFS, such as
	// http://127.0.0.1:8333. It must be on a loopback address, and accept
	// SeaweedFSAccessKey and SeaweedFSSecretKey (or no credentials at all).
	EnvSeaweedFS = "SESSIONRECOVERY_SEAWEEDFS"
	// EnvRequireSeaweedFS set to 1 turns the skip of SeaweedFS tests, when
	// EnvSeaweedFS is unset, into a failure. CI sets it.
	EnvRequireSeaweedFS = "SESSIONRECOVERY_REQUIRE_SEAWEEDFS"
)

// The S3 identity the SeaweedFS servers sign with: .ci/run gives SeaweedFS
// this one identity (as an -s3.config file). It protects nothing.
const (
	SeaweedFSAccessKey = "sessionrecovery-test"
	SeaweedFSSecretKey = "sessionrecovery-test-secret"
)

// seaweedFSHowTo says how to get a SeaweedFS for the tests.
const seaweedFSHowTo = "run .ci/run, or build weed (go build github.com/seaweedfs/seaweedfs/weed, " +
	"the version .ci/run names) and start it with " +
	"AWS_ACCESS_KEY_ID=" + SeaweedFSAccessKey + " AWS_SECRET_ACCESS_KEY=" + SeaweedFSSecretKey +
	" weed -logtostderr server -s3 -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false -dir=$(mktemp -d), then set " +
	EnvSeaweedFS + "=http://127.0.0.1:8333"

// SeaweedFS returns a Server speaking the S3 REST API: a reverse proxy on
// a loopback port, which counts and delays requests, in front of the
// SeaweedFS S3 gateway at EnvSeaweedFS. The bucket is a new one with a
// unique name, opened through the AWS SDK v2 in path style with the SDK's
// default checksum settings, and emptied and deleted when the test ends.
//
// SeaweedFS is a real S3-compatible server, unlike gofakes3: it checks
// signatures, stores objects on disk, honours conditions on copies, and
// reads x-amz-copy-source as a path where AWS reads a query string (see
// s3cond). Nothing starts it here: if
// EnvSeaweedFS is unset, SeaweedFS skips the test, saying how to start
// one, or fails it when EnvRequireSeaweedFS is 1.
func SeaweedFS(t testing.TB) *Server {
	t.Helper()
	endpoint, err := seaweedFSEndpoint()
	if err != nil {
		if os.Getenv(EnvRequireSeaweedFS) == "1" {
			t.Fatalf("testserver.SeaweedFS: %v", err)
		}
		t.Skipf("testserver.SeaweedFS: %v (set %s=1 to fail instead)", err, EnvRequireSeaweedFS)
	}

	s := newServer()
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(endpoint)
		// The signature covers the Host the client sent, the proxy's.
		r.Out.Host = r.In.Host
	}}
	hs := httptest.NewServer(s.handler(classifyS3, proxy))
	t.Cleanup(hs.Close)

	name := containerName()
	// The bucket is created, emptied and deleted behind the proxy's back,
	// so that the counter sees only what the test does.
	direct := seaweedFSClient(endpoint.String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := seaweedFSUp(ctx, direct); err != nil {
		t.Fatalf("testserver.SeaweedFS: %s=%s: %v", EnvSeaweedFS, endpoint, err)
	}
	if _, err := direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("testserver.SeaweedFS: create bucket %s at %s: %v", name, endpoint, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := deleteS3Bucket(ctx, direct, name); err != nil {
			t.Errorf("testserver.SeaweedFS: delete bucket %s: %v", name, err)
		}
	})

	b, err := s3blob.OpenBucket(ctx, seaweedFSClient(hs.URL), name, nil)
	if err != nil {
		t.Fatalf("testserver.SeaweedFS: open bucket: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s.Bucket = b

	q := url.Values{}
	q.Set("endpoint", hs.URL)
	q.Set("region", s3Region)
	q.Set("use_path_style", "true")
	q.Set("disable_https", "true")
	s.URL = "s3://" + name + "?" + q.Encode()
	s.Env = map[string]string{
		"AWS_ACCESS_KEY_ID":         SeaweedFSAccessKey,
		"AWS_SECRET_ACCESS_KEY":     SeaweedFSSecretKey,
		"AWS_SESSION_TOKEN":         "",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	return s
}

// seaweedFSClient returns an S3 client for the SeaweedFS at endpoint, in
// path style and with the SDK's default checksum settings.
func seaweedFSClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       s3Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(SeaweedFSAccessKey, SeaweedFSSecretKey, ""),
	})
}

// seaweedFS holds, for the whole test process, whether SeaweedFS answered.
var seaweedFS struct {
	once sync.Once
	err  error
}

// seaweedFSUp waits, the first time in a process, until the SeaweedFS c
// reaches can list its buckets: a SeaweedFS started a moment ago may answer
// its health check before its filer serves requests. A 4xx answer, such as
// a refused signature, ends the wait at once.
func seaweedFSUp(ctx context.Context, c *s3.Client) error {
	seaweedFS.once.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, seaweedFSStartTimeout)
		defer cancel()
		var last error
		for {
			_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
			if ctx.Err() != nil {
				if last == nil {
					last = err
				}
				seaweedFS.err = fmt.Errorf("no answer within %v: %w", seaweedFSStartTimeout, last)
				return
			}
			var re *awshttp.ResponseError
			refused := errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500
			if err == nil || refused {
				seaweedFS.err = err
				return
			}
			last = err
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond): // polling an external process
			}
		}
	})
	return seaweedFS.err
}

// seaweedFSStartTimeout bounds the wait of seaweedFSUp.
const seaweedFSStartTimeout = 45 * time.Second

// deleteS3Bucket deletes every object in the bucket, then the bucket.
func deleteS3Bucket(ctx context.Context, c *s3.Client, bucket string) error {
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list: %w", err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete objects: %w", err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete objects: %d failed, the first %q: %s", len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Message))
		}
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}

// seaweedFSEndpoint returns the S3 endpoint EnvSeaweedFS names, or why
// there is none.
func seaweedFSEndpoint() (*url.URL, error) {
	v := os.Getenv(EnvSeaweedFS)
	if v == "" {
		return nil, errors.New("no SeaweedFS: " + EnvSeaweedFS + " is unset (" + seaweedFSHowTo + ")")
	}
	u, err := url.Parse(strings.TrimSuffix(v, "/"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvSeaweedFS, err)
	}
	if u.Scheme != "http" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("%s=%q: want http://127.0.0.1:PORT, the S3 endpoint", EnvSeaweedFS, v)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s=%q: SeaweedFS must be on a loopback address", EnvSeaweedFS, v)
	}
	return u, nil
}
