package testserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob/s3blob"
)

const (
	s3Region    = "us-east-1"
	s3AccessKey = "testserver-access-key"
	s3SecretKey = "testserver-secret-key"
)

// S3 returns a Server speaking the S3 REST API (gofakes3, in memory) on a
// loopback port, with one empty bucket opened through the AWS SDK v2 in
// path style.
//
// The SDK asks for request checksums and validates response checksums only
// when an operation requires them: gofakes3 does not understand the
// aws-chunked trailers the SDK sends otherwise. URL says so too.
func S3(t testing.TB) *Server {
	t.Helper()
	const bucketName = "testserver"
	backend := s3mem.New()
	if err := backend.CreateBucket(bucketName); err != nil {
		t.Fatalf("testserver.S3: create bucket: %v", err)
	}
	s := newServer()
	hs := httptest.NewServer(s.handler(classifyS3, gofakes3.New(backend).Server()))
	t.Cleanup(hs.Close)

	client := s3.New(s3.Options{
		Region:                     s3Region,
		BaseEndpoint:               aws.String(hs.URL),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s3AccessKey, s3SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	b, err := s3blob.OpenBucket(context.Background(), client, bucketName, &s3blob.Options{
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	if err != nil {
		t.Fatalf("testserver.S3: open bucket: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s.Bucket = b

	q := url.Values{}
	q.Set("endpoint", hs.URL)
	q.Set("region", s3Region)
	q.Set("use_path_style", "true")
	q.Set("disable_https", "true")
	q.Set("request_checksum_calculation", "when_required")
	q.Set("response_checksum_validation", "when_required")
	s.URL = "s3://" + bucketName + "?" + q.Encode()
	s.Env = map[string]string{
		"AWS_ACCESS_KEY_ID":     s3AccessKey,
		"AWS_SECRET_ACCESS_KEY": s3SecretKey,
		"AWS_SESSION_TOKEN":     "", // not one from the developer's shell
		// Never ask an instance metadata service for anything.
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	return s
}

// classifyS3 classifies a path-style S3 REST request.
func classifyS3(r *http.Request) string {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, object, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	_, uploads := q["uploads"]
	switch {
	case bucket == "":
		return Other // the service: list buckets
	case object == "":
		return classifyS3Bucket(r.Method, q)
	case uploads || q.Has("uploadId"):
		return Put // every step of a multipart upload
	}
	switch r.Method {
	case http.MethodGet:
		return Get
	case http.MethodHead:
		return Head
	case http.MethodPut:
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return Copy
		}
		return Put
	case http.MethodDelete:
		return Delete
	}
	return Other
}

// classifyS3Bucket classifies a request on a bucket itself.
func classifyS3Bucket(method string, q url.Values) string {
	switch method {
	case http.MethodGet:
		for _, sub := range []string{"location", "versioning", "acl", "policy", "cors", "lifecycle", "tagging"} {
			if q.Has(sub) {
				return Other
			}
		}
		return List // ListObjects, ListObjectsV2, versions, uploads
	case http.MethodHead:
		return Head
	case http.MethodPost:
		if q.Has("delete") {
			return Delete
		}
	}
	return Other
}

// WithoutAWSCredentials leaves the AWS SDK nothing to sign with for the
// rest of the test: no keys, profiles, web identity or container
// credentials, and empty config and credentials files. The EC2 metadata
// service is off when imds is "", else asked at imds (a test's own
// server).
func WithoutAWSCredentials(t testing.TB, imds string) {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatalf("testserver.WithoutAWSCredentials: %v", err)
	}
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	if imds != "" {
		env["AWS_EC2_METADATA_DISABLED"] = ""
		env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}
