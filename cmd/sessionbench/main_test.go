package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/sessiongen"
)

// TestMain lets the test binary be the jobs' child process, as the
// command is: run re-executes os.Executable().
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == jobCommand {
		os.Exit(runJob(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// referenceModule is the Python module where the repository's golden data
// says it lives, relative to this package.
const referenceModule = "../../../shared/reference/session_recovery.py"

func runBench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096},
		{"64k", 64_000},
		{"2GB", 2_000_000_000},
		{"2gb", 2_000_000_000},
		{"1.5GB", 1_500_000_000},
		{"512MiB", 512 << 20},
		{"2GiB", 2 << 30},
		{"10 MB", 10_000_000},
		{"7B", 7},
	} {
		got, err := parseSize(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "GB", "2XB", "-1GB", "1e3", "2 G B"} {
		_, err := parseSize(bad)
		assert.Error(t, err, bad)
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	for _, args := range [][]string{
		{"-sessions", "0"},
		{"-sessions", "ten"},
		{"-runs", "0"},
		{"-concurrency", "0"},
		{"-median-bytes", "10"},
		{"-huge", "lots"},
		{"-huge", "100"},
		{"-huge", "1MB", "-sessions", "5"},
		{"-huge", "1MB", "-reference", "x.py"},
		{"-reference", filepath.Join(t.TempDir(), "missing.py")},
		{"-reference", t.TempDir()},
		{"-dir", full},
		{"-no-such-flag"},
		{"stray"},
	} {
		code, stdout, stderr := runBench(t, args...)
		assert.Equal(t, exitUsage, code, "%q", args)
		assert.Empty(t, stdout, "%q", args)
		assert.NotEmpty(t, stderr, "%q", args)
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runBench(t, "-help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "-huge SIZE")
	assert.Contains(t, stdout, "-reference PATH")
}

func decodeResults(t *testing.T, stdout string) results {
	t.Helper()
	var res results
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	return res
}

func jobNames(res results) []string {
	var names []string
	for _, j := range res.Jobs {
		names = append(names, j.Name)
	}
	return names
}

func TestSmallStore(t *testing.T) {
	code, stdout, stderr := runBench(t, "-sessions", "40", "-median-bytes", "2048", "-runs", "2", "-json")
	require.Equal(t, exitOK, code, stderr)
	res := decodeResults(t, stdout)
	assert.Equal(t, []string{"recover --count-all", floorAllJob, "recover", floorJob, "recover --merge", "scan --count-all", "scan", "scan --diff", "plain read", startupJob}, jobNames(res))
	assert.Equal(t, 40, res.Store.Sessions)
	assert.Equal(t, 12, res.Store.Backups)
	assert.Equal(t, 4, res.Store.Shrunk)
	for _, j := range res.Jobs {
		assert.Len(t, j.Seconds, 2, j.Name)
		assert.Positive(t, j.MedianSeconds, j.Name)
		assert.Positive(t, j.PeakRSSMiB, j.Name)
	}
	var ratios []string
	for _, r := range res.Ratios {
		ratios = append(ratios, r.Name)
	}
	assert.Equal(t, []string{"recover / " + floorJob, "recover --count-all / " + floorAllJob, "recover --count-all / plain read", "scan --count-all / plain read", "recover --count-all / scan --count-all"}, ratios)
	assert.NoDirExists(t, res.Store.Dir, "the store is removed without -keep")
}

func TestTextReport(t *testing.T) {
	code, stdout, stderr := runBench(t, "-sessions", "20", "-median-bytes", "1024", "-runs", "1")
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{"JOB", "MEDIAN s", "PEAK RSS MiB", "recover --count-all", "plain read", "GOMAXPROCS", "20 sessions"} {
		assert.Contains(t, stdout, want)
	}
	assert.Contains(t, stderr, "generated", "progress goes to stderr")
}

func TestKeepAndDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	code, _, stderr := runBench(t, "-sessions", "10", "-median-bytes", "1024", "-runs", "1", "-dir", dir, "-keep")
	require.Equal(t, exitOK, code, stderr)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, 13, "10 sessions and 3 backups, as generated")
	siblings, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Len(t, siblings, 1, "the per-run copies are removed")

	dir2 := filepath.Join(t.TempDir(), "store")
	code, _, stderr = runBench(t, "-sessions", "10", "-median-bytes", "1024", "-runs", "1", "-dir", dir2)
	require.Equal(t, exitOK, code, stderr)
	assert.NoDirExists(t, dir2, "removed without -keep")
}

func TestHugeMode(t *testing.T) {
	code, stdout, stderr := runBench(t, "-huge", "256KiB", "-json")
	require.Equal(t, exitOK, code, stderr)
	res := decodeResults(t, stdout)
	assert.Equal(t, []string{"recover --count-all", "recover --merge", "scan --diff"}, jobNames(res))
	assert.Equal(t, 1, res.Runs)
	assert.Equal(t, int64(256<<10), res.Store.HugeBytes)
	assert.Equal(t, 1, res.Store.Shrunk)
	assert.Equal(t, hugeRSSTargetMiB, res.PeakRSSTargetMiB)
}

// fakeReference writes a Python script standing in for the reference.
func fakeReference(t *testing.T, body string) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	path := filepath.Join(t.TempDir(), "fake_reference.py")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

func TestReferenceThatRestoresNothingFails(t *testing.T) {
	ref := fakeReference(t, `import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
n = sum(1 for p in d.glob("*.json") if not p.name.startswith("_"))
print(json.dumps({"scanned": n, "restored": 0, "details": []}))
`)
	code, _, stderr := runBench(t, "-sessions", "30", "-median-bytes", "1024", "-runs", "1", "-reference", ref)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "restored 0 sessions, want 3")
}

func TestReferenceThatWritesInPlaceIsCaught(t *testing.T) {
	// Writing into the live file, instead of renaming a new one over it,
	// would change the generated store through the hard link.
	ref := fakeReference(t, `import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
n, r = 0, 0
for p in d.glob("*.json"):
    n += 1
    bak = p.with_suffix(".json.bak")
    if bak.exists() and len(json.loads(bak.read_text())["messages"]) > len(json.loads(p.read_text())["messages"]):
        p.write_bytes(bak.read_bytes())
        r += 1
print(json.dumps({"scanned": n, "restored": r, "details": []}))
`)
	code, _, stderr := runBench(t, "-sessions", "30", "-median-bytes", "1024", "-runs", "1", "-reference", ref)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "modified through a hard link")
}

func TestRealReference(t *testing.T) {
	if _, err := os.Stat(referenceModule); err != nil {
		t.Skipf("the reference module is not at %s", referenceModule)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not found")
	}
	code, stdout, stderr := runBench(t, "-sessions", "50", "-median-bytes", "2048", "-runs", "1", "-json", "-reference", referenceModule)
	require.Equal(t, exitOK, code, stderr)
	res := decodeResults(t, stdout)
	assert.Contains(t, jobNames(res), "reference (python)")
	assert.Len(t, res.Ratios, 7)
	assert.NotEmpty(t, res.Machine.Python)
}

// A dry-run job is checked like the others: it must find every shrunk
// session, and must not restore any.
func TestScanJobsAreChecked(t *testing.T) {
	b := &bench{stats: sessiongen.Stats{Sessions: 10, Shrunk: 2}}
	scan := job{name: "scan", kind: kindScan}
	for _, c := range []struct {
		out  string
		want string // "" for no error
	}{
		{`{"scanned":10,"recommended":2}`, ""},
		{`{"scanned":10,"recommended":1}`, "restored 1 sessions, want 2"},
		{`{"scanned":10,"restored":2,"recommended":2}`, "a dry run restored 2"},
		{`{"scanned":9,"recommended":2}`, "scanned 9"},
	} {
		_, err := b.check(scan, []byte(c.out), nil)
		if c.want == "" {
			assert.NoError(t, err, c.out)
		} else {
			assert.ErrorContains(t, err, c.want, c.out)
		}
	}
}

func TestParseVmHWM(t *testing.T) {
	status := []byte("Name:\tx\nVmPeak:\t  100 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1000 kB\n")
	assert.Equal(t, int64(2048<<10), parseVmHWM(status))
	assert.Zero(t, parseVmHWM([]byte("Name:\tx\n")))
}

// The floor job restores what recover restores, with the backup's bytes,
// and leaves no temporary file; a directory sync serves every restore
// waiting for it.
func TestFloorRestoresWhatRecoverRestores(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.json": `{"messages":[]}`, "a.json.bak": `{"messages":[1,2]}`,
		"b.json": `{"messages":[1,2]}`, "b.json.bak": `{"messages":[1]}`,
		"c.json": `{"messages":[1]}`, "_index.json": `{}`,
	}
	for name, doc := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644))
	}
	list, n, err := writeRestores(dir, t.TempDir())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	t.Setenv(restoresEnv, list)
	for _, all := range []bool{false, true} {
		res, err := floorStore(dir, 4, all)
		require.NoError(t, err)
		assert.Equal(t, 1, res.Restored)
		want := 4
		if all {
			want = 6
		}
		assert.Equal(t, want, res.Files, "all=%v", all)
	}
	b, err := os.ReadFile(filepath.Join(dir, "a.json"))
	require.NoError(t, err)
	assert.Equal(t, files["a.json.bak"], string(b))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, len(files), "no temporary file left")
}
