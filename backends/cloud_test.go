package backends

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/smithy-go/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdoutOf runs f with os.Stdout swapped for a pipe, and returns what was
// written there.
func stdoutOf(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	saved := os.Stdout
	os.Stdout = w
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	defer func() {
		os.Stdout = saved
		w.Close()
		r.Close()
	}()
	f()
	os.Stdout = saved
	w.Close()
	return string(<-got)
}

// Without Google credentials, a gs:// bucket is opened without them, and
// that is said through the logger: gocloud's own opener printed a warning
// on stdout, into a --json report.
func TestGCSWithoutCredentialsLogsNotPrints(t *testing.T) {
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/credentials.json")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	out := stdoutOf(t, func() {
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
	for _, loc := range []string{
		"s3://b?region=eu-west-1&use_path_style=true&disable_https=true&endpoint=http://127.0.0.1:1",
		"s3://b?region=eu-west-1&s3ForcePathStyle=true&accelerate=false&ssetype=AES256&kmskeyid=k",
	} {
		_, closeFn, err := Open(context.Background(), loc)
		require.NoError(t, err, loc)
		require.NoError(t, closeFn())
	}
	for loc, want := range map[string]string{
		"s3://b?region=eu-west-1&use_path_style=maybe": `"use_path_style"`,
		"s3://b?region=eu-west-1&ssetype=rot13":        `"ssetype"`,
		"s3://b?region=eu-west-1&colour=blue":          "colour",
	} {
		_, _, err := Open(context.Background(), loc)
		require.Error(t, err, loc)
		assert.Contains(t, err.Error(), want, loc)
	}
}
