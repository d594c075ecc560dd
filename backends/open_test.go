package backends_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.json"), []byte(`{"messages":[]}`), 0o644))
	for _, location := range []string{dir, "file://" + dir, "file://localhost" + dir, "FILE://" + dir} {
		s, closeFn, err := backends.Open(context.Background(), location)
		require.NoError(t, err, location)
		assert.Equal(t, []byte(`{"messages":[]}`), storetest.Read(t, s, "a.json"), location)
		require.NoError(t, closeFn())
	}
}

func TestOpenRelativePath(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sessions"), 0o755))
	t.Chdir(dir)
	s, closeFn, err := backends.Open(context.Background(), "sessions")
	require.NoError(t, err)
	defer closeFn()
	assert.Empty(t, storetest.Objects(t, s))
}

func TestOpenErrorsNameTheLocation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct{ location, want string }{
		{"", "empty location"},
		{filepath.Join(dir, "missing"), "does not exist"},
		{file, "not a directory"},
		{"s4://bucket", `unsupported scheme "s4"`},
		{"file://otherhost/dir", "names no host"},
		{"file:///", ""},
		{"file://" + dir + "?x=1", "no query parameters"},
	} {
		_, closeFn, err := backends.Open(context.Background(), tc.location)
		if tc.want == "" {
			require.NoError(t, err, tc.location)
			closeFn()
			continue
		}
		require.Error(t, err, tc.location)
		assert.Contains(t, err.Error(), tc.want, tc.location)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bucket?region=us-east-1&prefix=a/":                   "s3://bucket?prefix=a%2F&region=us-east-1",
		"azblob://c?sas_token=SECRET&domain=x":                     "azblob://c?domain=x&sas_token=xxxxx",
		"s3://bucket?access_key_id=AKIA&secret_access_key=SECRET1": "s3://bucket?access_key_id=xxxxx&secret_access_key=xxxxx",
		"https://user:pw@host/x?sig=abc":                           "https://user:xxxxx@host/x?sig=xxxxx",
		"/plain/path":                                              "/plain/path",
	} {
		assert.Equal(t, want, backends.Redact(in), in)
	}
}

func TestOpenErrorsNeverShowSecrets(t *testing.T) {
	// An unknown parameter makes gocloud fail and quote the URL back.
	location := "s3://bucket?region=us-east-1&session_token=TOPSECRET&bogus=1"
	_, _, err := backends.Open(context.Background(), location)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "TOPSECRET")
	assert.Contains(t, err.Error(), "bogus")
}
