// Package s3cond gives blobstore the object versions of S3 buckets opened
// with gocloud's s3blob: the ETag of what was read, and uploads made with
// If-Match on it.
package s3cond

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
)

// Conditions implements blobstore.Conditions for s3blob buckets.
type Conditions struct{}

var _ blobstore.Conditions = Conditions{}

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
