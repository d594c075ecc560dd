// Package testserver starts fake cloud storage services that speak the real
// HTTP protocols, or fronts a real one (SeaweedFS), for tests, and opens
// gocloud buckets on them through the real SDKs. Only _test.go files
// import it.
//
//	s := testserver.S3(t) // or SeaweedFS, GCS, Azure, Mem
//	testserver.Fill(t, s.Bucket, map[string][]byte{"a.json": []byte(`{}`)})
//	s.Requests.Reset()
//	... use s.Bucket ...
//	assert.Equal(t, map[string]int{testserver.Get: 1}, s.Requests.Counts())
//
// Each call gives a fresh, empty bucket, closed when the test ends:
//
//   - S3: gofakes3 v1.2.0, in memory, behind an httptest server.
//   - SeaweedFS: a real S3-compatible server, running outside the tests
//     (SESSIONRECOVERY_SEAWEEDFS, which .ci/run starts and sets), behind a
//     counting reverse proxy; a new bucket each time, signed for with the
//     identity SeaweedFSAccessKey and SeaweedFSSecretKey. Without it the
//     test is skipped, with a message saying how to start one.
//   - GCS: fake-gcs-server v1.56.1, in process, in memory, plain HTTP.
//   - Azure: Azurite, behind a counting reverse proxy; a new container each
//     time. See Azure for where Azurite comes from, and Main.
//   - Mem: memblob; no server, nothing counted.
//
// Everything listens on, and every request goes to, the loopback interface.
// Server.URL and Server.Env open the same bucket with blob.OpenBucket, as a
// program would.
//
// # Request counting
//
// Every request a server receives is counted by kind before it is served:
//
//	kind    S3 and SeaweedFS             GCS                                 Azure Blob
//	list    GET on the bucket            GET /storage/v1/b/B/o; XML GET /B   GET ?comp=list
//	get     GET object                   XML GET /B/O; alt=media; /download/ GET blob
//	head    HEAD (object or bucket)      GET object metadata; XML HEAD       HEAD; GET blob ?comp=…
//	put     PUT object; multipart steps  anything under /upload/             PUT blob, block, block list
//	copy    PUT with x-amz-copy-source   POST …/rewriteTo/… or …/copyTo/…    PUT with x-ms-copy-source
//	delete  DELETE; POST ?delete         DELETE object                       DELETE blob
//	other   anything else: buckets and containers themselves, ACLs, metadata updates
//
// cloud.google.com/go/storage reads objects through the XML API
// (GET /bucket/object), not the JSON API. What the gocloud drivers send, as
// the tests check: NewReader is one get (a missing object too), Attributes
// and Exists one head, WriteAll or Upload of a small object one put, Copy
// one copy, a listing one list per 1000 keys; Delete is one delete, but
// s3blob sends a head first.
//
// # Preconditions
//
// conditions_test.go records what each fake honours; in short:
//
//	                                  gofakes3    SeaweedFS     fake-gcs-server   Azurite
//	write if the object is missing    yes (412)   yes (412)     yes (412)         yes (409 BlobAlreadyExists)
//	write over a given version        yes (412)   yes (412)     yes (412)         yes (412)
//	  ... of an object that is gone   yes (412)   yes (404)     yes (412)         yes (412)
//	copy conditions (source or dest)  ignored     yes (412)     ignored           yes (412 / 409)
//
// All of these refusals give gcerrors.FailedPrecondition, except
// SeaweedFS's 404 NoSuchKey (what AWS documents for If-Match on a missing
// key), which gives gcerrors.NotFound. The version is the
// ETag on S3 and Azure and the generation on GCS. Through gocloud's As hooks:
//
//   - S3: read it with Reader.As(*s3.GetObjectOutput) (.ETag) or
//     Attributes.ETag; set it in BeforeWrite through
//     **transfermanager.UploadObjectInput (.IfMatch, .IfNoneMatch = "*"),
//     in BeforeCopy through **s3.CopyObjectInput (.IfMatch, .IfNoneMatch,
//     .CopySourceIfMatch, and .CopySource, which s3blob query-escapes:
//     SeaweedFS then misses a source key with a space, and gofakes3 one
//     with a '?'; s3cond's BeforeCopy escapes it per path segment).
//   - GCS: read it with Reader.As(**storage.Reader) (.Attrs.Generation) or
//     Attributes.As(*storage.ObjectAttrs) (.Generation); Attributes.ETag is
//     not the generation. Set it in BeforeWrite through
//     ***storage.ObjectHandle, replacing the handle with
//     h.If(storage.Conditions{GenerationMatch: g}), and in BeforeCopy
//     through **gcsblob.CopyObjectHandles (Dst or Src). "Must not exist" is
//     Conditions{DoesNotExist: true}: GenerationMatch 0 means no condition,
//     and the client refuses a handle with no condition.
//   - Azure: read it with Reader.As(*blob.DownloadStreamResponse) (.ETag) or
//     Attributes.ETag; set it in BeforeWrite through
//     **azblob.UploadStreamOptions (.AccessConditions), in BeforeCopy
//     through **blob.StartCopyFromURLOptions (.AccessConditions,
//     .SourceModifiedAccessConditions). blob is
//     github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob.
//
// WriterOptions.IfNotExist sets the "must not exist" condition on all three.
//
// gocloud.dev v0.47.0's azureblob panics in Writer.Close when an upload fed
// through Writer.Write fails, as a failed precondition does; WriteAll always
// writes that way. Bucket.Upload without ContentMD5 does not, and reports
// the error.
package testserver
