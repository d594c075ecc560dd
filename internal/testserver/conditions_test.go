package testserver_test

// These tests record which preconditions each fake honours, and show how a
// version is read and a condition set through gocloud's As hooks. When a
// fake is upgraded, a failure here says its behaviour changed.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcerrors"

	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

// hook is the signature of gocloud's BeforeWrite and BeforeCopy.
type hook = func(asFunc func(any) bool) error

// conditional says how to use versions on one kind of server, and what the
// fake behind it honours.
type conditional struct {
	name   string
	server func(testing.TB) *testserver.Server
	// readVersion returns the version a reader saw: an ETag or a generation.
	readVersion func(t *testing.T, r *blob.Reader) string
	// attrsVersion returns the same version from Attributes.
	attrsVersion func(t *testing.T, a *blob.Attributes) string
	// writeIfMatch is a BeforeWrite hook: write only over version v.
	writeIfMatch func(v string) hook
	// copyIfDstMatch, copyIfSrcMatch and copyIfDstAbsent are BeforeCopy
	// hooks: copy only over version v of the destination, only from
	// version v of the source, only to a missing destination.
	copyIfDstMatch, copyIfSrcMatch func(v string) hook
	copyIfDstAbsent                hook
	// copyHonoured says whether the fake honours the copy conditions.
	copyHonoured bool
	// missingMatch is the code of a write conditioned on a version of an
	// object that does not exist: FailedPrecondition (412) on the fakes,
	// NotFound (404 NoSuchKey) on SeaweedFS, as AWS documents it.
	missingMatch gcerrors.ErrorCode
}

// s3Conditional is how versions work over s3blob, on any S3 server.
func s3Conditional(name string, server func(testing.TB) *testserver.Server, copyHonoured bool, missingMatch gcerrors.ErrorCode) conditional {
	return conditional{
		name:   name,
		server: server,
		readVersion: func(t *testing.T, r *blob.Reader) string {
			var out s3.GetObjectOutput
			require.True(t, r.As(&out))
			return aws.ToString(out.ETag)
		},
		attrsVersion: func(t *testing.T, a *blob.Attributes) string { return a.ETag },
		writeIfMatch: func(v string) hook {
			return func(as func(any) bool) error {
				var in *transfermanager.UploadObjectInput
				if !as(&in) {
					return errAs
				}
				in.IfMatch = aws.String(v)
				return nil
			}
		},
		copyIfDstMatch: func(v string) hook {
			return s3Copy(func(in *s3.CopyObjectInput) { in.IfMatch = aws.String(v) })
		},
		copyIfSrcMatch: func(v string) hook {
			return s3Copy(func(in *s3.CopyObjectInput) { in.CopySourceIfMatch = aws.String(v) })
		},
		copyIfDstAbsent: s3Copy(func(in *s3.CopyObjectInput) { in.IfNoneMatch = aws.String("*") }),
		copyHonoured:    copyHonoured,
		missingMatch:    missingMatch,
	}
}

var conditionals = []conditional{
	// gofakes3 v1.2.0 ignores If-Match, If-None-Match and
	// x-amz-copy-source-if-match on CopyObject.
	s3Conditional("S3", testserver.S3, false, gcerrors.FailedPrecondition),
	// SeaweedFS honours them all, and refuses an If-Match write to a
	// missing key with 404 NoSuchKey, as AWS does.
	s3Conditional("SeaweedFS", testserver.SeaweedFS, true, gcerrors.NotFound),
	{
		name:   "GCS",
		server: testserver.GCS,
		readVersion: func(t *testing.T, r *blob.Reader) string {
			var sr *storage.Reader
			require.True(t, r.As(&sr))
			return strconv.FormatInt(sr.Attrs.Generation, 10)
		},
		attrsVersion: func(t *testing.T, a *blob.Attributes) string {
			var oa storage.ObjectAttrs
			require.True(t, a.As(&oa))
			return strconv.FormatInt(oa.Generation, 10)
		},
		writeIfMatch: func(v string) hook {
			return func(as func(any) bool) error {
				var obj **storage.ObjectHandle
				if !as(&obj) {
					return errAs
				}
				*obj = (*obj).If(storage.Conditions{GenerationMatch: generation(v)})
				return nil
			}
		},
		copyIfDstMatch: func(v string) hook {
			return gcsCopy(func(h *gcsblob.CopyObjectHandles) {
				h.Dst = h.Dst.If(storage.Conditions{GenerationMatch: generation(v)})
			})
		},
		copyIfSrcMatch: func(v string) hook {
			return gcsCopy(func(h *gcsblob.CopyObjectHandles) {
				h.Src = h.Src.If(storage.Conditions{GenerationMatch: generation(v)})
			})
		},
		copyIfDstAbsent: gcsCopy(func(h *gcsblob.CopyObjectHandles) {
			h.Dst = h.Dst.If(storage.Conditions{DoesNotExist: true})
		}),
		// fake-gcs-server v1.56.1 ignores ifGenerationMatch and
		// ifSourceGenerationMatch on rewriteTo.
		copyHonoured: false,
		missingMatch: gcerrors.FailedPrecondition,
	}, {
		name:   "Azure",
		server: testserver.Azure,
		readVersion: func(t *testing.T, r *blob.Reader) string {
			var resp azblobblob.DownloadStreamResponse
			require.True(t, r.As(&resp))
			return string(*resp.ETag)
		},
		attrsVersion: func(t *testing.T, a *blob.Attributes) string { return a.ETag },
		writeIfMatch: func(v string) hook {
			return func(as func(any) bool) error {
				var opts *azblob.UploadStreamOptions
				if !as(&opts) {
					return errAs
				}
				etag := azcore.ETag(v)
				opts.AccessConditions = &azblob.AccessConditions{
					ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfMatch: &etag},
				}
				return nil
			}
		},
		copyIfDstMatch: func(v string) hook {
			return azureCopy(func(o *azblobblob.StartCopyFromURLOptions) {
				etag := azcore.ETag(v)
				o.AccessConditions = &azblobblob.AccessConditions{
					ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfMatch: &etag},
				}
			})
		},
		copyIfSrcMatch: func(v string) hook {
			return azureCopy(func(o *azblobblob.StartCopyFromURLOptions) {
				etag := azcore.ETag(v)
				o.SourceModifiedAccessConditions = &azblobblob.SourceModifiedAccessConditions{SourceIfMatch: &etag}
			})
		},
		copyIfDstAbsent: azureCopy(func(o *azblobblob.StartCopyFromURLOptions) {
			etag := azcore.ETagAny
			o.AccessConditions = &azblobblob.AccessConditions{
				ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfNoneMatch: &etag},
			}
		}),
		copyHonoured: true,
		missingMatch: gcerrors.FailedPrecondition,
	}}

// errAs is what a hook returns when the driver does not offer its type.
var errAs = errors.New("the driver offers no such type to As")

func s3Copy(set func(*s3.CopyObjectInput)) hook {
	return func(as func(any) bool) error {
		var in *s3.CopyObjectInput
		if !as(&in) {
			return errAs
		}
		set(in)
		return nil
	}
}

func gcsCopy(set func(*gcsblob.CopyObjectHandles)) hook {
	return func(as func(any) bool) error {
		var h *gcsblob.CopyObjectHandles
		if !as(&h) {
			return errAs
		}
		set(h)
		return nil
	}
}

func azureCopy(set func(*azblobblob.StartCopyFromURLOptions)) hook {
	return func(as func(any) bool) error {
		var o *azblobblob.StartCopyFromURLOptions
		if !as(&o) {
			return errAs
		}
		set(o)
		return nil
	}
}

func generation(v string) int64 {
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(err)
	}
	return g
}

// put writes data to key. It uses Upload, not WriteAll: see
// TestAzureFailedWriteAllPanics.
func put(b *blob.Bucket, key, data string, opts blob.WriterOptions) error {
	opts.ContentType = "application/json"
	return b.Upload(context.Background(), key, strings.NewReader(data), &opts)
}

// version reads key and returns its content and the version the reader saw.
func version(t *testing.T, c conditional, b *blob.Bucket, key string) (data, v string) {
	t.Helper()
	r, err := b.NewReader(context.Background(), key, nil)
	require.NoError(t, err)
	defer r.Close()
	var sb strings.Builder
	_, err = r.WriteTo(&sb)
	require.NoError(t, err)
	return sb.String(), c.readVersion(t, r)
}

func TestConditionalWrite(t *testing.T) {
	for _, c := range conditionals {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := c.server(t).Bucket
			require.NoError(t, put(b, "k", "v1", blob.WriterOptions{}))
			_, v1 := version(t, c, b, "k")
			require.NoError(t, put(b, "k", "v2", blob.WriterOptions{}))
			_, v2 := version(t, c, b, "k")
			require.NotEqual(t, v1, v2, "a write makes a new version")

			attrs, err := b.Attributes(context.Background(), "k")
			require.NoError(t, err)
			assert.Equal(t, v2, c.attrsVersion(t, attrs), "Attributes sees the version a reader sees")

			t.Run("IfNotExist refuses an existing object", func(t *testing.T) {
				err := put(b, "k", "x", blob.WriterOptions{IfNotExist: true})
				assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
			})
			t.Run("IfNotExist creates a missing object", func(t *testing.T) {
				require.NoError(t, put(b, "new", "x", blob.WriterOptions{IfNotExist: true}))
			})
			t.Run("a write over a stale version fails", func(t *testing.T) {
				err := put(b, "k", "x", blob.WriterOptions{BeforeWrite: c.writeIfMatch(v1)})
				assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
				data, v := version(t, c, b, "k")
				assert.Equal(t, "v2", data)
				assert.Equal(t, v2, v)
			})
			t.Run("a write over a missing object fails", func(t *testing.T) {
				err := put(b, "missing", "x", blob.WriterOptions{BeforeWrite: c.writeIfMatch(v2)})
				assert.Equal(t, c.missingMatch, gcerrors.Code(err), "%v", err)
				exists, err := b.Exists(context.Background(), "missing")
				require.NoError(t, err)
				assert.False(t, exists, "nothing written")
			})
			t.Run("a write over the current version succeeds", func(t *testing.T) {
				require.NoError(t, put(b, "k", "v3", blob.WriterOptions{BeforeWrite: c.writeIfMatch(v2)}))
				data, _ := version(t, c, b, "k")
				assert.Equal(t, "v3", data)
			})
		})
	}
}

func TestConditionalCopy(t *testing.T) {
	for _, c := range conditionals {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := c.server(t).Bucket
			require.NoError(t, put(b, "src", "s1", blob.WriterOptions{}))
			_, s1 := version(t, c, b, "src")
			require.NoError(t, put(b, "src", "s2", blob.WriterOptions{}))
			require.NoError(t, put(b, "dst", "d1", blob.WriterOptions{}))
			_, d1 := version(t, c, b, "dst")
			require.NoError(t, put(b, "dst", "d2", blob.WriterOptions{}))

			for _, tc := range []struct {
				name   string
				before hook
			}{
				{"over a stale destination", c.copyIfDstMatch(d1)},
				{"from a stale source", c.copyIfSrcMatch(s1)},
				{"over an existing destination when it must be missing", c.copyIfDstAbsent},
			} {
				t.Run(tc.name, func(t *testing.T) {
					require.NoError(t, put(b, "dst", "d2", blob.WriterOptions{}))
					err := b.Copy(ctx, "dst", "src", &blob.CopyOptions{BeforeCopy: tc.before})
					data, _ := version(t, c, b, "dst")
					if c.copyHonoured {
						assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
						assert.Equal(t, "d2", data)
					} else {
						assert.NoError(t, err, "the fake ignores the condition")
						assert.Equal(t, "s2", data)
					}
				})
			}
		})
	}
}

// TestGCSGenerationZero: in cloud.google.com/go/storage a zero
// GenerationMatch means "no condition", and a handle with no condition is
// refused before any request; "must not exist" (ifGenerationMatch=0) is
// DoesNotExist.
func TestGCSGenerationZero(t *testing.T) {
	s := testserver.GCS(t)
	b := s.Bucket
	require.NoError(t, put(b, "k", "v1", blob.WriterOptions{}))
	s.Requests.Reset()

	err := put(b, "k", "x", blob.WriterOptions{BeforeWrite: func(as func(any) bool) error {
		var obj **storage.ObjectHandle
		require.True(t, as(&obj))
		*obj = (*obj).If(storage.Conditions{GenerationMatch: 0})
		return nil
	}})
	assert.ErrorContains(t, err, "empty conditions")
	assert.Equal(t, map[string]int{}, s.Requests.Counts())

	err = put(b, "k", "x", blob.WriterOptions{BeforeWrite: func(as func(any) bool) error {
		var obj **storage.ObjectHandle
		require.True(t, as(&obj))
		*obj = (*obj).If(storage.Conditions{DoesNotExist: true})
		return nil
	}})
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "%v", err)
}

// TestAzureFailedWriteAllPanics records a bug in gocloud.dev v0.47.0
// azureblob: when an upload fed through Writer.Write fails, Writer.Close
// panics (its upload goroutine sets the pipe reader to nil, and Close then
// closes it). WriteAll always goes that way, as does any NewWriter + Write;
// Bucket.Upload without ContentMD5 does not. A failed precondition is the
// everyday way to get there.
func TestAzureFailedWriteAllPanics(t *testing.T) {
	b := testserver.Azure(t).Bucket
	ctx := context.Background()
	require.NoError(t, put(b, "k", "v1", blob.WriterOptions{}))
	assert.Panics(t, func() {
		_ = b.WriteAll(ctx, "k", []byte("x"), &blob.WriterOptions{IfNotExist: true})
	})
	err := put(b, "k", "x", blob.WriterOptions{IfNotExist: true})
	assert.Equal(t, gcerrors.FailedPrecondition, gcerrors.Code(err), "Upload reports the failure: %v", err)
}
