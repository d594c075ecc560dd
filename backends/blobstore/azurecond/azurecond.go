// Package azurecond gives blobstore the object versions of Azure Blob
// Storage containers opened with gocloud's azureblob: the ETag of what was
// read, and uploads made with If-Match on it.
//
// Its Conditions do not implement blobstore.ListHook, so blobstore's
// ListAfter refuses Azure containers with errors.ErrUnsupported (recovery
// then lists them whole, as before). A listing's Marker is an opaque
// continuation token, not a key. azblob v1.8.0 also has
// ListBlobsHierarchyOptions.StartFrom (service version 2026-02-06 and
// later), but Azurite 3.35.0, the only Azure server the tests run against,
// ignores it: a start that could not be tested against a server that
// honours it could lose keys unseen, if it started later than meant.
package azurecond

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
)

// Conditions implements blobstore.Conditions for azureblob buckets.
type Conditions struct{}

var _ blobstore.Conditions = Conditions{}

// Version returns the ETag of the blob r reads, or "".
func (Conditions) Version(r *blob.Reader) string {
	var resp azblobblob.DownloadStreamResponse
	if !r.As(&resp) || resp.ETag == nil {
		return ""
	}
	return string(*resp.ETag)
}

// IfVersion makes the upload send If-Match with the ETag.
func (Conditions) IfVersion(version string) func(asFunc func(any) bool) error {
	return func(asFunc func(any) bool) error {
		var opts *azblob.UploadStreamOptions
		if !asFunc(&opts) || opts == nil {
			return errors.New("azurecond: the bucket is not an azureblob bucket, so If-Match cannot be set")
		}
		etag := azcore.ETag(version)
		if opts.AccessConditions == nil {
			opts.AccessConditions = &azblob.AccessConditions{}
		}
		if opts.AccessConditions.ModifiedAccessConditions == nil {
			opts.AccessConditions.ModifiedAccessConditions = &azblobblob.ModifiedAccessConditions{}
		}
		opts.AccessConditions.ModifiedAccessConditions.IfMatch = &etag
		return nil
	}
}
