// Package s3cond gives blobstore the object versions of S3 buckets opened
// with gocloud's s3blob: the ETag of what was read, and uploads made with
// If-Match on it. It also corrects the copy source of s3blob's server-side
// copies, so that Replace finds keys with spaces on every S3 server, and
// starts listings after a key, for blobstore's ListAfter.
package s3cond

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
)

// Conditions implements blobstore.Conditions, blobstore.CopyHook and
// blobstore.ListHook for s3blob buckets.
type Conditions struct{}

var (
	_ blobstore.Conditions = Conditions{}
	_ blobstore.CopyHook   = Conditions{}
	_ blobstore.ListHook   = Conditions{}
)

// Version returns the ETag of the object r reads, or "".
func (Conditions) Version(r *blob.Reader) string {
	var out s3.GetObjectOutput
	if !r.As(&out) || out.ETag == nil {
		return ""
	}
	return *out.ETag
}

// IfVersion makes the upload send If-Match with the ETag.
func (Conditions) IfVersion(version string) func(asFunc func(any) bool) error {
	return func(asFunc func(any) bool) error {
		var in *transfermanager.UploadObjectInput
		if !asFunc(&in) {
			return errors.New("s3cond: the bucket is not an s3blob bucket, so If-Match cannot be set")
		}
		etag := version
		if !strings.HasPrefix(etag, `"`) {
			etag = `"` + etag + `"`
		}
		in.IfMatch = &etag
		return nil
	}
}

// BeforeCopy rewrites the x-amz-copy-source of a CopyObject request that
// s3blob built.
//
// s3blob (gocloud.dev v0.47.0) escapes "bucket/key" as a query string, so
// a space becomes '+'. AWS and gofakes3 read the header as a query string
// and find the key; SeaweedFS path-unescapes it, looks for a key with a
// '+' where the space was, and answers NoSuchKey. BeforeCopy undoes
// s3blob's escaping and percent-encodes each path segment instead, every
// byte but the unreserved A-Z a-z 0-9 - . _ ~ (as the AWS SDKs do), which
// both readings decode to the same key: a '+' is sent as %2B, which a
// query-string reader does not turn into a space, and a space as %20.
//
// It refuses, rather than guess, a copy source it cannot read back: one
// that is not what s3blob's escaping makes of some "bucket/key".
func (Conditions) BeforeCopy(asFunc func(any) bool) error {
	var in *s3.CopyObjectInput
	if !asFunc(&in) || in == nil {
		return errors.New("s3cond: the bucket is not an s3blob bucket, so the copy source cannot be set")
	}
	if in.CopySource == nil {
		return errors.New("s3cond: s3blob set no copy source")
	}
	raw := *in.CopySource
	src, err := url.QueryUnescape(raw)
	if err != nil || url.QueryEscape(src) != raw {
		return fmt.Errorf("s3cond: copy source %q is not a query-escaped bucket/key; has s3blob's escaping changed?", raw)
	}
	bucket, key, ok := strings.Cut(src, "/")
	if !ok || bucket == "" || key == "" {
		return fmt.Errorf("s3cond: copy source %q names no bucket/key", src)
	}
	escaped := CopySource(bucket, key)
	in.CopySource = &escaped
	return nil
}

// CopySource returns the x-amz-copy-source that names key in bucket:
// "bucket/key" with every byte but '/' and the unreserved A-Z a-z 0-9 - . _ ~
// percent-encoded, so that each path segment is escaped and the '/'
// between them is kept.
func CopySource(bucket, key string) string {
	src := bucket + "/" + key
	var b strings.Builder
	b.Grow(len(src))
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '/', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ListFrom makes the listing start after the key start returns, through
// ListObjectsV2's StartAfter, or the Marker of the older ListObjects that
// s3blob sends when asked to (both exclusive). It sets them on the first
// request only: later pages continue from their token, which comes after.
func (Conditions) ListFrom(start func(prefix string) string) func(asFunc func(any) bool) error {
	return func(asFunc func(any) bool) error {
		var v2 *s3.ListObjectsV2Input
		if asFunc(&v2) && v2 != nil {
			if v2.ContinuationToken == nil {
				if s := start(aws.ToString(v2.Prefix)); s != "" {
					v2.StartAfter = aws.String(s)
				}
			}
			return nil
		}
		var v1 *s3.ListObjectsInput
		if asFunc(&v1) && v1 != nil {
			if v1.Marker == nil {
				if s := start(aws.ToString(v1.Prefix)); s != "" {
					v1.Marker = aws.String(s)
				}
			}
			return nil
		}
		return fmt.Errorf("s3cond: the bucket is not an s3blob bucket, so its listing cannot start part-way: %w", errors.ErrUnsupported)
	}
}
