// Command bucketbench measures the sessionrecovery command on a bucket of
// many sessions: an S3 bucket simulated in this process
// (internal/bucketsim: a million sessions need no storage, and every
// request waits a set latency, as a real bucket's do), the command run as
// its users run it, a child process given an s3:// location.
//
// Jobs (-jobs, in this order):
//
//	scan               scan --json: every session listed, those with a
//	                   backup read; the report must advise restoring
//	                   exactly the shrunk sessions
//	scan-throttled     the same with -throttle of the requests answered
//	                   503 SlowDown: the report must be scan's, byte for
//	                   byte, and the requests served scan's
//	shards             scan --shard K/4 --json, four processes at once,
//	                   joined with merge-reports: must be scan's report
//	resume             scan --json --resume FILE, killed (SIGKILL) when
//	                   half of the backups have been read, then run again
//	                   with the same journal: must be scan's report, and
//	                   the two runs together read each session once but
//	                   for those in flight at the kill
//	recover            recover --json: every shrunk session restored (its
//	                   bytes kept as .replaced), nothing else written
//	recover-throttled  recover with -throttle: the same report and writes
//	recover-resume     recover --json --resume FILE killed as resume is,
//	                   then continued: recover's report and writes
//
// Each job runs on a fresh simulated bucket. Times are the wall time of
// the command's process; peak RSS is its ru_maxrss, read by a small
// launcher process that starts it (a child started by this process
// directly would be charged this process's memory: Go starts children
// with vfork). Requests are those the simulated bucket served, by kind,
// and those it throttled.
//
// Usage:
//
//	go run ./cmd/bucketbench -sessions 1000000 -latency 20ms
//	go run ./cmd/bucketbench -sessions 100000 -jobs scan,recover
//
// The exit status is 0 when every job ran and checked out, 1 when one did
// not, 2 for bad flags.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == launchCommand {
		os.Exit(launch(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	sessions    int
	backupShare float64
	shrunkShare float64
	medianBytes int
	latency     time.Duration
	throttle    float64
	seed        uint64
	jobs        []string
	cli         string
	work        string
	concurrency int
}

var allJobs = []string{"scan", "scan-throttled", "shards", "resume", "recover", "recover-throttled", "recover-resume"}

func parseFlags(args []string, stdout, stderr io.Writer) (cfg config, done bool, code int) {
	fs := flag.NewFlagSet("bucketbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.sessions, "sessions", 1_000_000, "sessions in the simulated bucket (`N`)")
	fs.Float64Var(&cfg.backupShare, "backup-share", 0.05, "share of the sessions with a backup")
	fs.Float64Var(&cfg.shrunkShare, "shrunk-share", 0.01, "share of the sessions shrunk (each has a backup)")
	fs.IntVar(&cfg.medianBytes, "median-bytes", 0, "median document size in `BYTES` (default: sessiongen's, 24 KiB)")
	fs.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "latency the bucket adds to every request")
	fs.Float64Var(&cfg.throttle, "throttle", 0.10, "share of requests answered 503 SlowDown in the -throttled jobs")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the simulated bucket")
	jobs := fs.String("jobs", strings.Join(allJobs, ","), "the jobs to run, comma-separated: "+strings.Join(allJobs, ", "))
	fs.StringVar(&cfg.cli, "cli", "", "the sessionrecovery binary (`PATH`; default: built from this module into a temporary directory)")
	fs.StringVar(&cfg.work, "work", "", "directory for reports and journals (`DIR`; default: a new temporary directory, removed at the end)")
	fs.IntVar(&cfg.concurrency, "concurrency", 0, "--concurrency given to the command (0: its default)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, true, exitOK
		}
		return cfg, true, exitUsage
	}
	bad := func(format string, a ...any) (config, bool, int) {
		fmt.Fprintf(stderr, "bucketbench: "+format+"\n", a...)
		return cfg, true, exitUsage
	}
	for _, j := range strings.Split(*jobs, ",") {
		if !slices.Contains(allJobs, j) {
			return bad("-jobs: unknown job %q (want %s)", j, strings.Join(allJobs, ", "))
		}
		cfg.jobs = append(cfg.jobs, j)
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case cfg.sessions < 1:
		return bad("-sessions %d: want at least 1", cfg.sessions)
	case !(cfg.throttle >= 0 && cfg.throttle < 1):
		return bad("-throttle %v: want 0 to 1 (excluded)", cfg.throttle)
	}
	return cfg, false, exitOK
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, done, code := parseFlags(args, stdout, stderr)
	if done {
		return code
	}
	if cfg.work == "" {
		dir, err := os.MkdirTemp("", "bucketbench-")
		if err != nil {
			fmt.Fprintf(stderr, "bucketbench: %v\n", err)
			return exitFail
		}
		defer os.RemoveAll(dir)
		cfg.work = dir
	}
	if cfg.cli == "" {
		bin, err := buildCLI(ctx, cfg.work)
		if err != nil {
			fmt.Fprintf(stderr, "bucketbench: build the command: %v\n", err)
			return exitFail
		}
		cfg.cli = bin
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "bucketbench: %v\n", err)
		return exitFail
	}
	b := &bench{cfg: cfg, exe: exe, log: stderr}
	ok := true
	for _, name := range cfg.jobs {
		res, err := b.job(ctx, name)
		if err != nil {
			fmt.Fprintf(stderr, "bucketbench: %s: %v\n", name, err)
			ok = false
		}
		if res != nil {
			res.print(stdout)
		}
		if ctx.Err() != nil {
			return exitFail
		}
	}
	if !ok {
		return exitFail
	}
	return exitOK
}

// buildCLI builds ./cmd/sessionrecovery of the module the current
// directory is in.
func buildCLI(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "sessionrecovery")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/c0fe5641/sessionrecovery/cmd/sessionrecovery")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	return bin, nil
}

// launchCommand is the first argument that makes bucketbench the launcher
// of one command: bucketbench launch STDOUT PROGRAM ARGS...
const launchCommand = "-launch-child"

// usage is what the launcher tells of the command it ran.
type usage struct {
	Exit     int           `json:"exit"`
	Wall     time.Duration `json:"wall"`
	MaxRSSKB int64         `json:"maxrss_kb"`
	CPU      time.Duration `json:"cpu"`
}

// launch runs the command, its stdout to a file, and prints its usage as
// JSON: a process of its own, so that ru_maxrss is the command's alone.
func launch(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "bucketbench "+launchCommand+": want STDOUT PROGRAM [ARGS...]")
		return exitUsage
	}
	out, err := os.Create(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitFail
	}
	defer out.Close()
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if exitErr := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, err)
		return exitFail
	}
	u := usage{
		Exit:     cmd.ProcessState.ExitCode(),
		Wall:     wall,
		MaxRSSKB: maxRSSKB(cmd.ProcessState),
		CPU:      cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
	}
	json.NewEncoder(os.Stdout).Encode(u)
	return exitOK
}

// fileSum is a file's SHA-256, to compare reports of a hundred MB.
func fileSum(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}
