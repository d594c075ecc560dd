package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/c0fe5641/sessionrecovery/internal/sessiongen"
)

// bench is one benchmark: the store, the jobs, their runs.
type bench struct {
	cfg    config
	exe    string // sessionbench itself, for the jobs' child processes
	python string // the interpreter's path, when the reference runs
	log    io.Writer

	storeDir string // the generated store, never modified
	runsDir  string // where the per-run copies go: same file system
	restores string // the floor jobs' list of sessions to restore
	stats    sessiongen.Stats
	pristine []fileID
}

// job is one thing timed.
type job struct {
	name     string
	kind     string // a child job kind, or kindReference
	modifies bool   // runs on a fresh copy of the store each time
}

const kindReference = "reference"

// startupJob is the name of the job that does nothing.
const startupJob = "startup (no work)"

// The floor jobs' names: the least the same reads and restores take.
const (
	floorJob    = "floor (recover)"
	floorAllJob = "floor (recover --count-all)"
)

// fileID is what must not change in a generated file: a restore that
// wrote into a file instead of renaming a new one over it would change
// its modification time, through every hard link.
type fileID struct {
	name  string
	size  int64
	mtime int64 // Unix nanoseconds
	ino   uint64
}

func (b *bench) jobs() []job {
	jobs := []job{{name: "recover --count-all", kind: kindCountAll, modifies: true}}
	merge := job{name: "recover --merge", kind: kindMerge, modifies: true}
	diff := job{name: "scan --diff", kind: kindScanDiff}
	if b.cfg.huge > 0 {
		return append(jobs, merge, diff)
	}
	jobs = append(jobs,
		job{name: floorAllJob, kind: kindFloorAll, modifies: true},
		job{name: "recover", kind: kindDefault, modifies: true},
		job{name: floorJob, kind: kindFloor, modifies: true},
		merge,
		job{name: "scan --count-all", kind: kindScanCountAll},
		job{name: "scan", kind: kindScan},
		diff,
		job{name: "plain read", kind: kindRead},
		job{name: startupJob, kind: kindStartup},
	)
	if b.cfg.reference != "" {
		jobs = append(jobs, job{name: "reference (python)", kind: kindReference, modifies: true})
	}
	return jobs
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(b.log, format+"\n", a...)
}

// run generates the store, runs the jobs and gathers the results; it
// removes what it made (the store too, unless -keep) before returning.
func (b *bench) run(ctx context.Context) (res *results, err error) {
	cleanup, err := b.makeDirs()
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	res = &results{
		Machine:     describeMachine(ctx, b.python),
		Runs:        b.cfg.runs,
		Concurrency: b.cfg.concurrency,
	}
	if err := b.generate(ctx, res); err != nil {
		return nil, err
	}
	if b.pristine, err = snapshot(b.storeDir); err != nil {
		return nil, err
	}
	start := time.Now()
	warm, err := readStore(b.storeDir, b.cfg.concurrency)
	if err != nil {
		return nil, fmt.Errorf("warm-up read of the store: %w", err)
	}
	b.logf("warm-up: read %d files, %s, in %s s (not timed)", warm.Files, megabytes(warm.Bytes), seconds(time.Since(start)))
	if b.cfg.huge == 0 {
		// The floor jobs are told what to restore, from one count now.
		list, n, err := writeRestores(b.storeDir, b.runsDir)
		if err != nil {
			return nil, fmt.Errorf("list the sessions to restore: %w", err)
		}
		if n != b.stats.Shrunk {
			return nil, fmt.Errorf("counted %d sessions to restore, the generator made %d", n, b.stats.Shrunk)
		}
		b.restores = list
	}

	jobs := b.jobs()
	res.Machine.LoadAverage = loadAverage()
	measured := make([][]measurement, len(jobs))
	for r := range b.cfg.runs {
		for i, j := range jobs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			m, err := b.runOnce(ctx, j)
			if err != nil {
				return nil, fmt.Errorf("%s, run %d of %d: %w", j.name, r+1, b.cfg.runs, err)
			}
			b.logf("run %d/%d  %-27s %8ss  peak RSS %6.1f MiB", r+1, b.cfg.runs, j.name, seconds(m.wall), mib(m.maxRSS))
			measured[i] = append(measured[i], m)
		}
	}
	for i, j := range jobs {
		res.Jobs = append(res.Jobs, summarize(j, measured[i], b.stats.Bytes))
	}
	res.addRatios()
	if b.cfg.huge > 0 {
		res.PeakRSSTargetMiB = hugeRSSTargetMiB
	}
	return res, nil
}

// makeDirs creates the store's directory and the one for the per-run
// copies, and returns the function that removes them at the end.
func (b *bench) makeDirs() (func() error, error) {
	if b.cfg.dir == "" {
		tmp, err := os.MkdirTemp("", "sessionbench-")
		if err != nil {
			return nil, err
		}
		b.storeDir = filepath.Join(tmp, "store")
		b.runsDir = filepath.Join(tmp, "runs")
		if err := os.Mkdir(b.runsDir, 0o755); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		return func() error {
			if b.cfg.keep {
				return os.RemoveAll(b.runsDir)
			}
			return os.RemoveAll(tmp)
		}, nil
	}

	dir, err := filepath.Abs(b.cfg.dir)
	if err != nil {
		return nil, err
	}
	created := false
	switch ents, err := os.ReadDir(dir); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		created = true
	case err != nil:
		return nil, fmt.Errorf("-dir: %w", err)
	case len(ents) > 0:
		return nil, fmt.Errorf("-dir %s is not empty: give an empty or missing directory (sessionbench writes a fresh store there)", dir)
	}
	b.storeDir = dir
	// Hard links need the copies on the store's file system: next to it.
	runs, err := os.MkdirTemp(filepath.Dir(dir), ".sessionbench-runs-")
	if err != nil {
		return nil, fmt.Errorf("create a directory for the per-run copies next to -dir: %w", err)
	}
	b.runsDir = runs
	return func() error {
		err := os.RemoveAll(runs)
		if b.cfg.keep {
			return err
		}
		if created {
			return errors.Join(err, os.RemoveAll(dir))
		}
		ents, rerr := os.ReadDir(dir)
		err = errors.Join(err, rerr)
		for _, e := range ents {
			err = errors.Join(err, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
		return err
	}, nil
}

func (b *bench) generate(ctx context.Context, res *results) error {
	var (
		stats sessiongen.Stats
		err   error
		shape sessiongen.Shape
	)
	start := time.Now()
	if b.cfg.huge > 0 {
		b.logf("generating one session of %s and its backup in %s ...", megabytes(b.cfg.huge), b.storeDir)
		stats, err = sessiongen.Huge(b.storeDir, b.cfg.huge, b.cfg.seed)
	} else {
		shape = sessiongen.Default()
		shape.Sessions = b.cfg.sessions
		shape.MedianBytes = b.cfg.medianBytes
		shape.Seed = b.cfg.seed
		b.logf("generating %d sessions in %s ...", shape.Sessions, b.storeDir)
		stats, err = sessiongen.Write(b.storeDir, shape)
	}
	if err != nil {
		return fmt.Errorf("generate the store: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	took := time.Since(start)
	b.stats = stats
	res.Store = storeInfo{
		Dir:             b.storeDir,
		Kept:            b.cfg.keep,
		Seed:            b.cfg.seed,
		Sessions:        stats.Sessions,
		Backups:         stats.Backups,
		Shrunk:          stats.Shrunk,
		Files:           stats.Files,
		Bytes:           stats.Bytes,
		GenerateSeconds: took.Seconds(),
	}
	if b.cfg.huge > 0 {
		res.Store.HugeBytes = b.cfg.huge
	} else {
		res.Store.MedianBytes = shape.MedianBytes
		res.Store.Sigma = shape.Sigma
	}
	b.logf("generated %d files, %s, in %s s (not timed)", stats.Files, megabytes(stats.Bytes), seconds(took))
	return nil
}

// measurement is one run of one job.
type measurement struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // bytes; 0 if unknown
}

// runOnce runs job j once, on a fresh copy of the store if it modifies
// it, and checks what it reports.
func (b *bench) runOnce(ctx context.Context, j job) (measurement, error) {
	dir := b.storeDir
	if j.modifies {
		// The copies stay until the end: deleting thousands of files
		// slows ext4's next inode allocations (it skips recently deleted
		// inodes), which would charge one run for another's cleanup.
		copyDir, err := os.MkdirTemp(b.runsDir, "run-")
		if err != nil {
			return measurement{}, err
		}
		if err := linkCopy(b.storeDir, copyDir, b.pristine); err != nil {
			return measurement{}, err
		}
		dir = copyDir
	}
	// On ext4 an fsync commits the journal, writing out other files' data
	// with it: without this, a job that syncs its restores would pay for
	// the writes of the job before it (the reference does not sync).
	flushWrites()
	var args []string
	if j.kind == kindReference {
		// python3 REFERENCE DIR, reporting its peak RSS on stderr at the end.
		args = []string{b.python, "-c", pythonRunner, b.cfg.reference, dir}
	} else {
		args = []string{b.exe, jobCommand, j.kind, dir, strconv.Itoa(b.cfg.concurrency)}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if j.kind == kindFloor || j.kind == kindFloorAll {
		cmd.Env = append(os.Environ(), restoresEnv+"="+b.restores)
	}
	start := time.Now()
	err := cmd.Run()
	m := measurement{wall: time.Since(start)}
	if err != nil {
		if ctx.Err() != nil {
			return m, ctx.Err()
		}
		return m, fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, tail(stderr.Bytes()))
	}
	m.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	peak, err := b.check(j, stdout.Bytes(), stderr.Bytes())
	if err != nil {
		return m, err
	}
	m.maxRSS = peak
	if peak == 0 {
		// No /proc: rusage's figure, which counts the parent's memory too.
		m.maxRSS = maxRSS(cmd.ProcessState)
	}
	if j.modifies {
		if err := b.checkPristine(); err != nil {
			return m, err
		}
	}
	return m, nil
}

// pythonRunner runs the reference module as "python3 PATH DIR" does, then
// prints the process's peak RSS (VmHWM, where /proc has it) on stderr.
const pythonRunner = `import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    sys.stdout.flush()
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    sys.stderr.write("` + peakRSSMarker + `" + line.split()[1] + "\n")
    except OSError:
        pass
`

// peakRSSMarker starts the line on which pythonRunner gives the peak RSS
// in KiB.
const peakRSSMarker = "sessionbench peak RSS KiB: "

// check verifies a job's report, so that a job that skipped the work
// cannot look fast, and returns the peak RSS the job reported (0 if none).
func (b *bench) check(j job, out, errOut []byte) (int64, error) {
	if j.kind == kindReference {
		var rep struct {
			Scanned  *int `json:"scanned"`
			Restored *int `json:"restored"`
		}
		if err := json.Unmarshal(out, &rep); err != nil || rep.Scanned == nil || rep.Restored == nil {
			return 0, fmt.Errorf("the reference printed no report (%v): %s", err, tail(out))
		}
		var peak int64
		for line := range strings.Lines(string(errOut)) {
			if kib, ok := strings.CutPrefix(strings.TrimSpace(line), peakRSSMarker); ok {
				n, _ := strconv.ParseInt(kib, 10, 64)
				peak = n << 10
			}
		}
		return peak, b.checkCounts(*rep.Scanned, *rep.Restored, 0, "")
	}
	var res jobResult
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("the job printed no result (%v): %s", err, tail(out))
	}
	switch j.kind {
	case kindStartup:
		return res.PeakRSS, nil
	case kindRead, kindFloorAll:
		if res.Files != b.stats.Files || res.Bytes != b.stats.Bytes {
			return 0, fmt.Errorf("read %d files, %d bytes; the store has %d files, %d bytes", res.Files, res.Bytes, b.stats.Files, b.stats.Bytes)
		}
		if j.kind == kindFloorAll && res.Restored != b.stats.Shrunk {
			return 0, fmt.Errorf("restored %d sessions, want %d", res.Restored, b.stats.Shrunk)
		}
		return res.PeakRSS, nil
	case kindFloor:
		if res.Restored != b.stats.Shrunk {
			return 0, fmt.Errorf("restored %d sessions, want %d", res.Restored, b.stats.Shrunk)
		}
		return res.PeakRSS, nil
	}
	if j.kind == kindMerge && b.cfg.huge > 0 && res.Merged != b.stats.Shrunk {
		// The huge session's live document has messages of its own.
		return 0, fmt.Errorf("merged %d sessions, want %d", res.Merged, b.stats.Shrunk)
	}
	if j.kind == kindScanCountAll || j.kind == kindScan || j.kind == kindScanDiff {
		// A dry run restores nothing and must recommend every restore.
		if res.Restored != 0 {
			return 0, fmt.Errorf("a dry run restored %d sessions", res.Restored)
		}
		res.Restored = res.Recommended
	}
	return res.PeakRSS, b.checkCounts(res.Scanned, res.Restored, res.Errors, res.FirstError)
}

func (b *bench) checkCounts(scanned, restored, errs int, firstErr string) error {
	switch {
	case errs > 0:
		return fmt.Errorf("%d sessions had an error, the first: %s", errs, firstErr)
	case scanned != b.stats.Sessions:
		return fmt.Errorf("scanned %d sessions, want %d", scanned, b.stats.Sessions)
	case restored != b.stats.Shrunk:
		return fmt.Errorf("restored %d sessions, want %d (the shrunk ones)", restored, b.stats.Shrunk)
	}
	return nil
}

// snapshot records every file of dir.
func snapshot(dir string) ([]fileID, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	ids := make([]fileID, 0, len(ents))
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("store %s: %s is not a regular file", dir, e.Name())
		}
		ids = append(ids, fileID{name: e.Name(), size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inode(fi)})
	}
	return ids, nil
}

// checkPristine verifies that the generated store is as it was written:
// the same files, sizes, modification times and inodes.
func (b *bench) checkPristine() error {
	now, err := snapshot(b.storeDir)
	if err != nil {
		return err
	}
	if len(now) != len(b.pristine) {
		return fmt.Errorf("the generated store changed: %d files, was %d", len(now), len(b.pristine))
	}
	for i, f := range now {
		if f != b.pristine[i] {
			return fmt.Errorf("the generated store changed: %s was modified through a hard link (a restore wrote into a file instead of replacing it)", f.name)
		}
	}
	return nil
}

// linkCopy makes dst a copy of the store src made of hard links.
func linkCopy(src, dst string, files []fileID) error {
	for _, f := range files {
		if err := os.Link(filepath.Join(src, f.name), filepath.Join(dst, f.name)); err != nil {
			return fmt.Errorf("copy the store as hard links (the copies must be on the store's file system): %w", err)
		}
	}
	return nil
}

// tail returns the end of a child's output, for an error message.
func tail(b []byte) string {
	const max = 2000
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	return s
}
