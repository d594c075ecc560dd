// Package gcscond gives blobstore the object versions of Google Cloud
// Storage buckets opened with gocloud's gcsblob: the generation of what was
// read, and uploads made only if that generation is still current.
package gcscond

import (
	"errors"
	"fmt"
	"strconv"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
)

// Conditions implements blobstore.Conditions for gcsblob buckets.
type Conditions struct{}

var _ blobstore.Conditions = Conditions{}

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
