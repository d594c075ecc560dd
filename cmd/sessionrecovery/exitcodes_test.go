package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// A flag that does nothing for the command given is refused, rather than
// silently ignored.
func TestFlagsThatDoNotApplyAreRefused(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	for _, flag := range []string{"--concurrency=4", "--count-all", "--verbose"} {
		code, out, errOut := cli(t, "recover", "--session", "20240601_trip-planning", flag, dir)
		assert.Equal(t, exitUsage, code, "%s: %s", flag, errOut)
		assert.Empty(t, out)
		name := strings.SplitN(strings.TrimPrefix(flag, "--"), "=", 2)[0]
		assert.Contains(t, errOut, "--"+name+" does not apply to recover --session", flag)
	}
	assert.Equal(t, before, snapshot(t, dir), "a refused command changes nothing")
	code, _, errOut := cli(t, "recover", "--session", "20240601_trip-planning", "--json", "--lock-timeout=1s", dir)
	assert.Equal(t, exitOK, code, errOut)
}

// Orphans restored with --restore-orphans are counted, apart from the
// sessions (the reference module has no orphans, and its "restored"
// counts sessions): "orphans_restored" in JSON, and in the summary line.
func TestRestoredOrphansAreCounted(t *testing.T) {
	dir := sampleCopy(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "20240602_garden.json")))
	code, out, errOut := cli(t, "recover", "--restore-orphans", "--json", dir)
	require.Equal(t, exitOK, code, errOut)
	var r struct {
		Restored        int  `json:"restored"`
		OrphansRestored *int `json:"orphans_restored"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	assert.Equal(t, 2, r.Restored, "sessions")
	require.NotNil(t, r.OrphansRestored, out)
	assert.Equal(t, 1, *r.OrphansRestored)

	dir = sampleCopy(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "20240602_garden.json")))
	code, out, errOut = cli(t, "recover", "--restore-orphans", dir)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "2 restored, 1 without backup, 1 orphan backup (1 restored).")

	code, out, _ = cli(t, "recover", "--json", sampleCopy(t))
	require.Equal(t, exitOK, code)
	assert.NotContains(t, out, "orphans_restored", "no orphans, no count: the report stays the reference's")
}

// A run that finds no session says where they might be: in a folder of
// the directory given, or below a prefix= that lacks its trailing '/'.
func TestEmptyRunSaysWhy(t *testing.T) {
	parent := t.TempDir()
	sessions := filepath.Join(parent, "sessions")
	require.NoError(t, os.Mkdir(sessions, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sessions, "a.json"), []byte(session(1)), 0o644))
	code, out, errOut := cli(t, "scan", parent)
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "0 sessions scanned")
	assert.Contains(t, errOut, "no sessions directly in "+parent)
	assert.Contains(t, errOut, "did you mean "+sessions+"?")

	srv := testserver.S3(t)
	for k, v := range srv.Env {
		t.Setenv(k, v)
	}
	testserver.Fill(t, srv.Bucket, map[string][]byte{"team/a.json": []byte(session(1))})
	code, _, errOut = cli(t, "scan", withPrefix(srv.URL, "team"))
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "prefix=team has no trailing '/'")
	assert.Contains(t, errOut, "prefix=team/")

	code, _, errOut = cli(t, "scan", withPrefix(srv.URL, "team/"))
	assert.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, errOut, "no sessions", "sessions found: no hint")
}

// recover -n (--dry-run) is scan: it reports what it would do and changes
// nothing, with or without --session.
func TestRecoverDryRunChangesNothing(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	_, scanOut, _ := cli(t, "scan", dir)
	for _, args := range [][]string{
		{"recover", "-n", dir},
		{"recover", "--dry-run", dir},
	} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, exitOK, code, errOut)
		assert.Equal(t, scanOut, out, "%v reports as scan does", args)
		assert.Equal(t, before, snapshot(t, dir), "%v changed nothing", args)
	}
	code, out, errOut := cli(t, "recover", "-n", "--session", "20240601_trip-planning", dir)
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "to restore")
	assert.Equal(t, before, snapshot(t, dir))
}

// A server that does not answer at all (nothing listens at its address)
// is a location that cannot be listed: exit 2 once the SDK's few retries
// are spent, not a run that retries until it is interrupted (the GCS
// client retries a refused connection for as long as its context lasts,
// which is for ever for a command).
func TestUnreachableServerExits2(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())

	for _, tc := range []struct {
		name, location string
		env            map[string]string
	}{
		{"s3", "s3://b?region=us-east-1&use_path_style=true&endpoint=http://" + closed, map[string]string{
			"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "", "AWS_EC2_METADATA_DISABLED": "true",
		}},
		{"gcs", "gs://b", map[string]string{"STORAGE_EMULATOR_HOST": closed}},
		{"azure", "azblob://c?localemu=true&protocol=http&storage_account=devstoreaccount1&domain=" + closed, map[string]string{
			"AZURE_STORAGE_ACCOUNT": "devstoreaccount1", "AZURE_STORAGE_KEY": "a2V5",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			// Only against a hang: a run that ends this way failed.
			guard, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var out, errOut bytes.Buffer
			code := run(guard, []string{"scan", tc.location}, &out, &errOut)
			require.NoError(t, guard.Err(), "the run retried until the test's guard ended it:\n%s", errOut.String())
			assert.Equal(t, exitUsage, code, errOut.String())
			assert.Empty(t, out.String(), "no report that could pass for an empty store")
			assert.Contains(t, errOut.String(), "cannot list")
			assert.Contains(t, errOut.String(), closed, "the message names the address")
		})
	}
}

// A bucket the run has no credentials for is a location that cannot be
// listed: exit 2, the message saying so, nothing on stdout.
func TestBucketWithoutCredentialsExits2(t *testing.T) {
	srv := testserver.S3(t)
	testserver.WithoutAWSCredentials(t, "")
	for _, args := range [][]string{{"scan", srv.URL}, {"recover", "--json", srv.URL}} {
		code, out, errOut := cli(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errOut)
		assert.Empty(t, out, "%v: stdout", args)
		assert.Contains(t, errOut, "cannot list", "%v", args)
		assert.Contains(t, errOut, "credentials", "%v", args)
	}
}

// recover --session "" (an unset $ID in a script) is an empty id, bad
// usage: it recovered the whole store and exited 0.
func TestEmptySessionIDIsBadUsage(t *testing.T) {
	dir := sampleCopy(t)
	before := snapshot(t, dir)
	for _, args := range [][]string{{"recover", "--session", ""}, {"recover", "--session="}, {"undo", "--session", ""}} {
		code, stdout, stderr := cli(t, append(args, dir)...)
		assert.Equal(t, exitUsage, code, "%v: stdout: %s\nstderr: %s", args, stdout, stderr)
		assert.Empty(t, stdout)
	}
	code, _, _ := cli(t, "inspect", dir, "")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, before, snapshot(t, dir), "nothing changed")
}

type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// Output that cannot be written (stdout a full disk) is exit 1 and said
// on stderr, for every command: the table of recover, whose restores were
// made, and prune --yes, whose deletions were, exited 0 in silence.
func TestOutputThatCannotBeWrittenIsExit1(t *testing.T) {
	for _, args := range [][]string{
		{"recover"},
		{"recover", "-n", "--verbose"},
		{"recover", "--json"},
		{"inspect", "SAMPLE", "20240601_trip-planning"},
		{"prune", "--older-than", "0", "--yes"},
		{"prune", "--older-than", "0"},
		{"version"},
		{"completion", "bash"},
		{"scan", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := sampleCopy(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "20240601_trip-planning.json.replaced"), []byte("{}"), 0o644))
			switch {
			case args[0] == "inspect":
				args[1] = dir
			case args[0] == "version", args[0] == "completion", args[len(args)-1] == "--help":
			default:
				args = append(args, dir)
			}
			var errOut bytes.Buffer
			code := run(context.Background(), args, fullWriter{}, &errOut)
			assert.Equal(t, exitErrors, code, "stderr: %q", errOut.String())
			assert.Contains(t, errOut.String(), "no space left on device")
		})
	}
}

// completion without a shell, or with one it does not know, is bad usage,
// with a hint that names the command.
func TestCompletionNeedsAKnownShell(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		code, stdout, stderr := cli(t, args...)
		assert.Equal(t, exitUsage, code, "%v", args)
		assert.Empty(t, stdout, "no help into a file meant for a script")
		assert.Contains(t, stderr, "bash, zsh, fish or powershell")
	}
	code, _, stderr := cli(t, "completion", "bash", "--json")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "Run 'sessionrecovery help completion bash' for usage.")
}

// An error of the root command names it once.
func TestRootErrorsNameTheCommandOnce(t *testing.T) {
	code, _, stderr := cli(t, "--bogus")
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "sessionrecovery: unknown flag: --bogus\nRun 'sessionrecovery help' for usage.\n", stderr)
}
