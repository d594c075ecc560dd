package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// withPrefix adds prefix= to a gocloud URL.
func withPrefix(u, prefix string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + "prefix=" + prefix
}

// bucketFiles reads every object under prefix, by key less the prefix.
func bucketFiles(t *testing.T, b *blob.Bucket, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(context.Background())
		if err != nil {
			break
		}
		body, err := b.ReadAll(context.Background(), obj.Key)
		require.NoError(t, err)
		out[strings.TrimPrefix(obj.Key, prefix)] = string(body)
	}
	return out
}

// TestSameReportEverywhere runs `recover --json --count-all` on the same
// sessions in a local directory and in S3, GCS and Azure buckets (each store
// under its own prefix=): the reports are identical to the byte, and so
// are the stores afterwards.
func TestSameReportEverywhere(t *testing.T) {
	sameReport(t, map[string]*testserver.Server{"s3": testserver.S3(t), "gcs": testserver.GCS(t)})
}

func TestSameReportAzure(t *testing.T) {
	sameReport(t, map[string]*testserver.Server{"azure": testserver.Azure(t)})
}

// TestSameReportSeaweedFS is TestSameReportEverywhere on a real
// S3-compatible server, opened from its s3:// URL as a user would.
func TestSameReportSeaweedFS(t *testing.T) {
	sameReport(t, map[string]*testserver.Server{"seaweedfs": testserver.SeaweedFS(t)})
}

func sameReport(t *testing.T, clouds map[string]*testserver.Server) {
	stores, err := filepath.Glob("../../testdata/golden/stores/*")
	require.NoError(t, err)
	require.NotEmpty(t, stores)
	for _, srv := range clouds {
		for k, v := range srv.Env {
			t.Setenv(k, v)
		}
	}
	for _, golden := range stores {
		name := filepath.Base(golden)
		input := filepath.Join(golden, "input")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.CopyFS(dir, os.DirFS(input)))
			objects := map[string][]byte{}
			for key, body := range snapshot(t, dir) {
				objects[name+"/"+key] = []byte(body)
			}
			localCode, localOut, _ := cli(t, "recover", "--json", "--count-all", dir)
			localAfter := snapshot(t, dir)

			for cloud, srv := range clouds {
				testserver.Fill(t, srv.Bucket, objects)
				code, out, errOut := cli(t, "recover", "--json", "--count-all", withPrefix(srv.URL, name+"/"))
				assert.Equal(t, localCode, code, "%s: %s", cloud, errOut)
				assert.Equal(t, localOut, out, "%s: the report", cloud)
				assert.Equal(t, localAfter, bucketFiles(t, srv.Bucket, name+"/"), "%s: the store after", cloud)
			}
		})
	}
}
