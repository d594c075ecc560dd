package s3cond_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
)

func TestCopySource(t *testing.T) {
	for key, want := range map[string]string{
		"plain.json":       "b/plain.json",
		"dir/sub/x.json":   "b/dir/sub/x.json",
		"with space.json":  "b/with%20space.json",
		"a+b.json":         "b/a%2Bb.json",
		"100%.json":        "b/100%25.json",
		"q?x.json":         "b/q%3Fx.json",
		"h#x.json":         "b/h%23x.json",
		"k=v.json":         "b/k%3Dv.json",
		"séance ✓.json":    "b/s%C3%A9ance%20%E2%9C%93.json",
		"a%2Fb.json":       "b/a%252Fb.json",
		"~_-.json":         "b/~_-.json",
		"x__0x2f__y.json":  "b/x__0x2f__y.json",
		"amp&at@colon:,$;": "b/amp%26at%40colon%3A%2C%24%3B",
	} {
		got := s3cond.CopySource("b", key)
		assert.Equal(t, want, got, "key %q", key)
		// Read back as a path (SeaweedFS) and as a query string (AWS,
		// gofakes3), it names the same key.
		asPath, err := url.PathUnescape(got)
		require.NoError(t, err)
		asQuery, err := url.QueryUnescape(got)
		require.NoError(t, err)
		assert.Equal(t, "b/"+key, asPath)
		assert.Equal(t, "b/"+key, asQuery)
	}
}

// beforeCopy runs the hook on a CopyObjectInput as s3blob builds it.
func beforeCopy(in *s3.CopyObjectInput) error {
	return s3cond.Conditions{}.BeforeCopy(func(i any) bool {
		p, ok := i.(**s3.CopyObjectInput)
		if ok {
			*p = in
		}
		return ok
	})
}

func TestBeforeCopy(t *testing.T) {
	// s3blob (gocloud.dev v0.47.0) sets url.QueryEscape("bucket/key").
	in := &s3.CopyObjectInput{
		Bucket:     aws.String("bucket"),
		Key:        aws.String("dst.json"),
		CopySource: aws.String(url.QueryEscape("bucket/dir/with space+plus.json")),
	}
	require.NoError(t, beforeCopy(in))
	assert.Equal(t, "bucket/dir/with%20space%2Bplus.json", aws.ToString(in.CopySource))
	assert.Equal(t, "dst.json", aws.ToString(in.Key), "only the source changes")
	assert.Equal(t, "bucket", aws.ToString(in.Bucket))

	for _, bad := range []string{
		"bucket/with+space.json", // not query-escaped: '/' kept, so not s3blob's form
		"bucket%2Fa%ZZ",          // not escaped at all
		"nokey",
		url.QueryEscape("bucket/"),
	} {
		in := &s3.CopyObjectInput{CopySource: aws.String(bad)}
		assert.Error(t, beforeCopy(in), "copy source %q", bad)
		assert.Equal(t, bad, aws.ToString(in.CopySource), "a refused source is left alone")
	}
	assert.Error(t, beforeCopy(&s3.CopyObjectInput{}), "no copy source")

	err := s3cond.Conditions{}.BeforeCopy(func(any) bool { return false })
	assert.ErrorContains(t, err, "not an s3blob bucket")
}

func TestListFrom(t *testing.T) {
	start := func(prefix string) string { return prefix + "k0105" }
	hook := s3cond.Conditions{}.ListFrom(start)
	as := func(in any) func(any) bool {
		return func(i any) bool {
			switch p := i.(type) {
			case **s3.ListObjectsV2Input:
				v, ok := in.(*s3.ListObjectsV2Input)
				*p = v
				return ok
			case **s3.ListObjectsInput:
				v, ok := in.(*s3.ListObjectsInput)
				*p = v
				return ok
			}
			return false
		}
	}

	first := &s3.ListObjectsV2Input{Prefix: aws.String("root/")}
	require.NoError(t, hook(as(first)))
	assert.Equal(t, "root/k0105", aws.ToString(first.StartAfter), "under the request's prefix")
	next := &s3.ListObjectsV2Input{ContinuationToken: aws.String("tok")}
	require.NoError(t, hook(as(next)))
	assert.Nil(t, next.StartAfter, "a later page continues from its token")

	legacy := &s3.ListObjectsInput{}
	require.NoError(t, hook(as(legacy)))
	assert.Equal(t, "k0105", aws.ToString(legacy.Marker))
	legacyNext := &s3.ListObjectsInput{Marker: aws.String("k0999")}
	require.NoError(t, hook(as(legacyNext)))
	assert.Equal(t, "k0999", aws.ToString(legacyNext.Marker), "a later page keeps its marker")

	none := &s3.ListObjectsV2Input{}
	require.NoError(t, s3cond.Conditions{}.ListFrom(func(string) string { return "" })(as(none)))
	assert.Nil(t, none.StartAfter, "no start")

	err := hook(func(any) bool { return false })
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.ErrorContains(t, err, "not an s3blob bucket")
}
