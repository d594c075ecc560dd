package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/capture"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
)

// With --json, stdout holds the report and nothing else, on every backend;
// with --log-format json, every notice on stderr is a JSON object, the
// cloud SDKs' messages among them (the Azure SDK logs each request at
// debug). (mem:// is left out: it opens an empty bucket, nothing to fill.)
func TestJSONIsAllOnStdoutEverywhere(t *testing.T) {
	for _, b := range []struct {
		name  string
		start func(testing.TB) *testserver.Server
		sdk   string // an SDK whose messages must show at debug
	}{
		{"local", nil, ""},
		{"s3", testserver.S3, ""},
		{"seaweedfs", testserver.SeaweedFS, ""},
		{"gcs", testserver.GCS, ""},
		{"azure", testserver.Azure, "azure"},
	} {
		t.Run(b.name, func(t *testing.T) {
			dir := sampleCopy(t)
			loc := dir
			if b.start != nil {
				srv := b.start(t)
				for k, v := range srv.Env {
					t.Setenv(k, v)
				}
				objects := map[string][]byte{}
				for key, body := range snapshot(t, dir) {
					objects["p/"+key] = []byte(body)
				}
				testserver.Fill(t, srv.Bucket, objects)
				loc = withPrefix(srv.URL, "p/")
			}
			var code int
			var out, errOut string
			// An SDK that prints (gocloud's GCS opener did, to stdout; the
			// AWS SDK's default logger does, to stderr) writes to the
			// process's own files, not to the writers the command is given.
			var leakedErr string
			leaked := capture.File(t, &os.Stdout, func() {
				leakedErr = capture.File(t, &os.Stderr, func() {
					code, out, errOut = cli(t, "recover", "--json", "--log-level", "debug", "--log-format", "json", loc)
				})
			})
			assert.Equal(t, exitOK, code, errOut)
			assert.Empty(t, leaked, "nothing but the command writes to stdout")
			assert.Empty(t, leakedErr, "nothing but the command writes to stderr")
			var report map[string]any
			dec := json.NewDecoder(strings.NewReader(out))
			require.NoError(t, dec.Decode(&report), out)
			assert.False(t, dec.More(), "one JSON document: %s", out)
			assert.EqualValues(t, 2, report["restored"])
			sdks := map[string]bool{}
			sc := bufio.NewScanner(strings.NewReader(errOut))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var rec map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "stderr line %q", sc.Text())
				assert.Contains(t, rec, "level")
				assert.Contains(t, rec, "msg")
				if s, ok := rec["sdk"].(string); ok {
					sdks[s] = true
				}
			}
			if b.sdk != "" {
				assert.True(t, sdks[b.sdk], "the %s SDK's messages come through the logger: %s", b.sdk, errOut)
			}
		})
	}
}
