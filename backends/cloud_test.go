package backends

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/smithy-go/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/capture"
	"github.com/c0fe5641/sessionrecovery/internal/testserver"
	"github.com/c0fe5641/sessionrecovery/store"
)

// Without Google credentials, a gs:// bucket is opened without them, and
// that is said through the logger: gocloud's own opener printed a warning
// on stdout, into a --json report.
func TestGCSWithoutCredentialsLogsNotPrints(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/credentials.json")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	out := capture.File(t, &os.Stdout, func() {
		s, closeFn, err := Open(context.Background(), "gs://no-such-bucket?prefix=x/", WithLogger(log))
		require.NoError(t, err, "opening is lazy: no request is made")
		require.NotNil(t, s)
		require.NoError(t, closeFn())
	})
	assert.Empty(t, out, "nothing on stdout")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &rec), logs.String())
	assert.Equal(t, "WARN", rec["level"])
	assert.Equal(t, "gcs", rec["sdk"])
	assert.Contains(t, rec["msg"], "no Google Cloud credentials found")
	assert.Contains(t, rec["msg"], "/nonexistent/credentials.json")
}

// The AWS SDK's warnings arrive at Warn, its debug lines at Debug.
func TestAWSLogsThroughSlog(t *testing.T) {
	var logs bytes.Buffer
	l := awsLogger{slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Logf(logging.Warn, "Response has no supported checksum. Not validating response payload.")
	l.Logf(logging.Debug, "request %d", 7)
	dec := json.NewDecoder(&logs)
	for _, want := range []struct{ level, msg string }{
		{"WARN", "AWS SDK: Response has no supported checksum. Not validating response payload."},
		{"DEBUG", "AWS SDK: request 7"},
	} {
		var rec map[string]any
		require.NoError(t, dec.Decode(&rec))
		assert.Equal(t, want.level, rec["level"])
		assert.Equal(t, want.msg, rec["msg"])
		assert.Equal(t, "aws", rec["sdk"])
	}
}

// An S3 location's parameters are read as gocloud reads them; a bad value
// is an error naming the parameter.
func TestS3URLParameters(t *testing.T) {
	opensAndRefuses(t, []string{
		"s3://b?region=eu-west-1&use_path_style=true&disable_https=true&endpoint=http://127.0.0.1:1",
		"s3://b?region=eu-west-1&s3ForcePathStyle=true&accelerate=false&ssetype=AES256&kmskeyid=k",
		"s3://b?region=eu-west-1&endpoint=http://127.0.0.1:1&hostname_immutable=true&anonymous=true&rate_limiter_capacity=10",
		"s3://b?region=eu-west-1&rate_limiter_capacity=-1&hostname_immutable=true",
		"s3://b?region=eu-west-1&dualstack=false&fips=false&awssdk=v2",
		"s3://b?region=eu-west-1&request_checksum_calculation=when_required&response_checksum_validation=WHEN_SUPPORTED",
	}, map[string]string{
		"s3://b?region=eu-west-1&use_path_style=maybe":                `"use_path_style"`,
		"s3://b?region=eu-west-1&ssetype=rot13":                       `"ssetype"`,
		"s3://b?region=eu-west-1&colour=blue":                         "colour",
		"s3://b?region=eu-west-1&anonymous=perhaps":                   `"anonymous"`,
		"s3://b?region=eu-west-1&rate_limiter_capacity=lots":          `"rate_limiter_capacity"`,
		"s3://b?region=eu-west-1&profile=nosuch":                      "nosuch",
		"s3://b?region=eu-west-1&role=admin":                          `"role"`,
		"s3://b?region=eu-west-1&request_checksum_calculation=always": `"request_checksum_calculation"`,
		"s3://b?region=eu-west-1&response_checksum_validation=never":  `"response_checksum_validation"`,
	})
}

// opensAndRefuses checks that each location of opens opens (lazily: no
// request is made), and that each of refused is refused, with an error
// holding what it maps to.
func opensAndRefuses(t *testing.T, opens []string, refused map[string]string) {
	t.Helper()
	for _, loc := range opens {
		_, closeFn, err := Open(context.Background(), loc)
		require.NoError(t, err, loc)
		require.NoError(t, closeFn())
	}
	for loc, want := range refused {
		_, _, err := Open(context.Background(), loc)
		require.Error(t, err, loc)
		assert.Contains(t, err.Error(), want, loc)
	}
}

// Without AWS credentials the SDK asks the EC2 metadata service for a
// role, and warns when that service refuses a session token. The warning
// goes through the logger: the SDK's default logger wrote it raw on the
// process's stderr, a line no --log-format json could parse.
func TestAWSCredentialChainLogsThroughSlog(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer imds.Close()
	testserver.WithoutAWSCredentials(t, imds.URL)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var listErr error
	leaked := capture.File(t, &os.Stderr, func() {
		s, closeFn, err := Open(context.Background(), "s3://b?region=us-east-1&use_path_style=true&endpoint=http://127.0.0.1:1", WithLogger(log))
		require.NoError(t, err)
		defer closeFn()
		listErr = s.List(context.Background(), "", func(store.Object) error { return nil })
	})
	require.Error(t, listErr, "no credentials: the listing fails")
	assert.Contains(t, listErr.Error(), "credentials")
	assert.Empty(t, leaked, "nothing written raw to stderr")
	assert.Contains(t, logs.String(), "falling back to IMDSv1", "the SDK's warning is logged")
}

// An empty prefix= is no prefix, as it reads, on every scheme: gocloud
// passed it on to the scheme's opener, which refused it as an unknown
// parameter. key= (gocloud's one-object bucket) is refused: a session
// store is a set of keys.
func TestPrefixParameter(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1") // no credentials looked for
	opensAndRefuses(t, []string{
		"s3://b?region=eu-west-1&prefix=",
		"gs://b?prefix=",
		"mem://?prefix=",
		"s3://b?region=eu-west-1&prefix=sessions/",
	}, map[string]string{
		"s3://b?region=eu-west-1&key=a.json": "key=",
		"mem://?key=a.json":                  "key=",
	})
}
