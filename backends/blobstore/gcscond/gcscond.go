// Package gcscond gives blobstore the object versions of Google Cloud
// Storage buckets opened with gocloud's gcsblob: the generation of what was
// read, and uploads made only if that generation is still current; and
// listings that start part-way, for blobstore's ListAfter.
package gcscond

import (
	"errors"
	"fmt"
	"strconv"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
)

// Conditions implements blobstore.Conditions and blobstore.ListHook for
// gcsblob buckets.
type Conditions struct{}

var (
	_ blobstore.Conditions = Conditions{}
	_ blobstore.ListHook   = Conditions{}
)

// Version returns the generation of the object r reads, or "".
func (Conditions) Version(r *blob.Reader) string {
	var raw *storage.Reader
	if !r.As(&raw) || raw == nil || raw.Attrs.Generation == 0 {
		return ""
	}
	return strconv.FormatInt(raw.Attrs.Generation, 10)
}

// IfVersion makes the upload carry ifGenerationMatch.
func (Conditions) IfVersion(version string) func(asFunc func(any) bool) error {
	return func(asFunc func(any) bool) error {
		gen, err := strconv.ParseInt(version, 10, 64)
		if err != nil || gen <= 0 {
			return fmt.Errorf("gcscond: %q is not a generation", version)
		}
		var oh **storage.ObjectHandle
		if !asFunc(&oh) {
			return errors.New("gcscond: the bucket is not a gcsblob bucket, so a generation condition cannot be set")
		}
		*oh = (*oh).If(storage.Conditions{GenerationMatch: gen})
		return nil
	}
}

// ListFrom makes the listing start at the name start returns, through the
// query's StartOffset. StartOffset includes the name itself, which
// blobstore passes over: the smallest name after it would end in a NUL,
// which GCS may not accept in a request.
func (Conditions) ListFrom(start func(prefix string) string) func(asFunc func(any) bool) error {
	return func(asFunc func(any) bool) error {
		var q *storage.Query
		if !asFunc(&q) || q == nil {
			return fmt.Errorf("gcscond: the bucket is not a gcsblob bucket, so its listing cannot start part-way: %w", errors.ErrUnsupported)
		}
		if s := start(q.Prefix); s != "" {
			q.StartOffset = s
		}
		return nil
	}
}
