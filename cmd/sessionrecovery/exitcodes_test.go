package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

// A bucket that cannot be listed (here: it does not exist) is a location
// that cannot be opened: exit 2, a message naming the cause, and nothing on
// stdout that could pass for the report of a clean, empty run.
func TestUnlistableBucketExits2(t *testing.T) {
	for name, srv := range map[string]*testserver.Server{"s3": testserver.S3(t), "gcs": testserver.GCS(t)} {
		for k, v := range srv.Env {
			t.Setenv(k, v)
		}
		i := strings.Index(srv.URL, "://") + 3
		j := strings.IndexAny(srv.URL[i:], "?/")
		missing := srv.URL[:i] + "no-such-bucket" + srv.URL[i+j:]
		for _, args := range [][]string{{"scan", missing}, {"scan", "--json", missing}, {"recover", missing}} {
			code, out, errOut := cli(t, args...)
			assert.Equal(t, exitUsage, code, "%s %v: %s", name, args, errOut)
			assert.Empty(t, out, "%s %v: stdout", name, args)
			assert.Contains(t, errOut, "cannot list", "%s %v", name, args)
			assert.Contains(t, errOut, "no-such-bucket", "%s %v", name, args)
		}
	}
}
