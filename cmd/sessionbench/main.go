// Command sessionbench measures how fast session recovery runs on a
// realistic store, and how much memory it takes.
//
// It generates a store with internal/sessiongen (10,000 sessions by
// default, 30% with a backup, 30% of those shrunk, a median session of
// 24 KiB: about 345 MB), reads it once so that the page cache is warm, then
// times these jobs, each -runs times, interleaved:
//
//	recover --count-all  recovery.RecoverAll with CountAll on the local
//	                     backend, the report streamed through a JSON encoder
//	                     into io.Discard, as the command does
//	recover              the same with the default options: sessions
//	                     without a backup are not read
//	recover --merge      recover with Merge: the preview of every session
//	                     with a backup, and a merge where a restore would
//	                     drop messages
//	scan --count-all     recover --count-all as a dry run: everything read
//	                     and counted, nothing written (the restores' cost
//	                     is the difference)
//	scan                 recover as a dry run
//	scan --diff          scan with the message-level preview (Diff)
//	floor (recover)      the least the recover job's work takes: the same
//	                     files read with the same concurrency, the same
//	                     restores made durable with the least I/O (the
//	                     backup's bytes to a new file, fsync, rename, one
//	                     directory fsync shared by the restores waiting for
//	                     it), nothing counted or kept; told what to restore
//	                     by a count made before the timed runs
//	floor (recover --count-all)  the same, reading every file
//	plain read           every file of the store read whole, with the same
//	                     concurrency, after listing the directory: the floor
//	startup (no work)    the Go job process starting and exiting: the
//	                     floor under the Go jobs' times and memory
//	reference            "python3 REFERENCE DIR", the Python module, when
//	                     -reference names it
//
// Each job runs in a child process (sessionbench itself, re-executed), so
// that its peak resident memory is its own: the child reads it from
// /proc/self/status (VmHWM) as it exits. (The rusage of a child is no good
// here: Go starts processes with vfork, so its ru_maxrss also counts the
// parent's memory.) Times are wall times from starting the child to its
// exit.
//
// A job that restores runs on a fresh copy of the store made of hard
// links: restores rename new files into place, so the generated files are
// never changed (sessionbench checks this after every run), and each run
// starts from the same store. The copies are removed at the end, and
// before each run, untimed, sessionbench syncs the file systems, so that
// no run pays for the writes or the deletions of another. Each run's
// report is checked too: a job that did not restore every shrunk session
// fails the benchmark rather than looking fast.
//
// It prints the median, the fastest and the slowest time of each job, its
// throughput (the store's bytes over the median time), its peak RSS, and
// the ratios of the medians.
//
// With -huge SIZE, the store is one session of SIZE bytes and a backup
// with more messages (the live document has a few of its own), and only
// "recover --count-all", "recover --merge" (which must merge it) and
// "scan --diff" run, once each: this shows that memory stays flat however
// large a document is.
//
// Usage:
//
//	go run ./cmd/sessionbench [flags]
//	go run ./cmd/sessionbench -reference path/to/session_recovery.py
//	go run ./cmd/sessionbench -huge 2GB
//	go run ./cmd/sessionbench -sessions 200000 -median-bytes 1024 -runs 1
//
// Run "sessionbench -help" for the flags. The exit status is 0 when every
// run completed and checked out, 1 when one failed, 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/c0fe5641/sessionrecovery/internal/sessiongen"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // a job failed, or its result was wrong
	exitUsage = 2 // bad flags
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == jobCommand {
		os.Exit(runJob(os.Args[2:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the flags ask for.
type config struct {
	sessions    int
	medianBytes int
	seed        uint64
	dir         string
	keep        bool
	runs        int
	concurrency int
	reference   string
	python      string
	json        bool
	huge        int64 // bytes; 0 when not asked
}

const about = `sessionbench generates a session store and times recovery on it.

Jobs, each in a child process, each run -runs times on a warm page cache:
  recover --count-all   recovery.RecoverAll{CountAll: true}, local backend
  recover               recovery.RecoverAll{} (sessions without backup not read)
  recover --merge       recover with Merge (a preview of each session with a backup)
  scan --count-all      recover --count-all with DryRun: reads, writes nothing
  scan                  recover with DryRun
  scan --diff           scan with Diff, the message-level preview
  floor (recover)       recover's reads and durable restores, nothing else: its floor
  floor (recover --count-all)  the same, reading every file
  plain read            read every file whole, same concurrency: the floor
  reference             python3 REFERENCE DIR (only with -reference)
Jobs that restore run on a fresh hard-linked copy of the store each time.

With -huge SIZE: one session of SIZE bytes plus a larger backup, and only
"recover --count-all", "recover --merge" and "scan --diff", once each (the
memory target is a peak RSS under 64 MiB).

Usage:
  sessionbench [flags]

Flags:
`

// parseFlags reads args into a config. It returns exitOK with done set for
// -help, and exitUsage (having said why on stderr) for bad flags.
func parseFlags(args []string, stdout, stderr io.Writer) (cfg config, done bool, code int) {
	fs := flag.NewFlagSet("sessionbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The flag package calls Usage for -help and for errors alike; say it
	// below, on stdout for -help and on stderr after an error.
	fs.Usage = func() {}
	usage := func(w io.Writer) {
		fs.SetOutput(w)
		fmt.Fprint(w, about)
		fs.PrintDefaults()
	}
	def := sessiongen.Default()
	fs.IntVar(&cfg.sessions, "sessions", def.Sessions, "number of sessions to generate (`N`)")
	fs.IntVar(&cfg.medianBytes, "median-bytes", def.MedianBytes, "median size of a session, in `BYTES` (sizes are log-normal around it)")
	fs.Uint64Var(&cfg.seed, "seed", def.Seed, "seed of the generated store (the same seed writes the same bytes)")
	fs.StringVar(&cfg.dir, "dir", "", "generate the store in `DIR`, which must be empty or missing (default: a new temporary directory)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the generated store at the end (it is removed otherwise)")
	fs.IntVar(&cfg.runs, "runs", 5, "timed runs of each job (`N`; with -huge, 1 unless given)")
	fs.IntVar(&cfg.concurrency, "concurrency", recovery.DefaultConcurrency, "sessions (or files) handled at once by the Go jobs")
	fs.StringVar(&cfg.reference, "reference", "", "time the Python reference module at `PATH` too (python3 PATH DIR)")
	fs.StringVar(&cfg.python, "python", "python3", "the Python interpreter (`PROGRAM`) that runs -reference")
	fs.BoolVar(&cfg.json, "json", false, "print the results as JSON on stdout")
	huge := fs.String("huge", "", "instead of the store, one session of `SIZE` (such as 2GB, 512MiB) plus its backup")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return cfg, true, exitOK
		}
		// The flag package said why.
		fmt.Fprintln(stderr, "Run 'sessionbench -help' for usage.")
		return cfg, true, exitUsage
	}
	bad := func(format string, a ...any) (config, bool, int) {
		fmt.Fprintf(stderr, "sessionbench: "+format+"\nRun 'sessionbench -help' for usage.\n", a...)
		return cfg, true, exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q: sessionbench takes flags only", fs.Arg(0))
	case cfg.sessions < 1:
		return bad("-sessions %d: want at least 1", cfg.sessions)
	case cfg.medianBytes < sessiongen.MinBytes:
		return bad("-median-bytes %d: want at least %d", cfg.medianBytes, sessiongen.MinBytes)
	case cfg.runs < 1:
		return bad("-runs %d: want at least 1", cfg.runs)
	case cfg.concurrency < 1:
		return bad("-concurrency %d: want at least 1", cfg.concurrency)
	}
	if *huge != "" {
		n, err := parseSize(*huge)
		if err != nil {
			return bad("-huge %q: %v", *huge, err)
		}
		if n < sessiongen.MinHugeBytes {
			return bad("-huge %q: want at least %d bytes", *huge, sessiongen.MinHugeBytes)
		}
		cfg.huge = n
		if cfg.reference != "" {
			return bad("-reference does not apply with -huge (the Python module holds a document in memory several times over)")
		}
		for _, name := range []string{"sessions", "median-bytes"} {
			if set[name] {
				return bad("-%s does not apply with -huge", name)
			}
		}
		if !set["runs"] {
			cfg.runs = 1
		}
	}
	if cfg.dir != "" {
		ents, err := os.ReadDir(cfg.dir)
		switch {
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return bad("-dir: %v", err)
		case len(ents) > 0:
			return bad("-dir %s is not empty: give an empty or missing directory, where sessionbench writes a fresh store", cfg.dir)
		}
	}
	if cfg.reference != "" {
		fi, err := os.Stat(cfg.reference)
		if err != nil {
			return bad("-reference: %v", err)
		}
		if fi.IsDir() {
			return bad("-reference %s: a directory, want the module's .py file", cfg.reference)
		}
	}
	return cfg, false, exitOK
}

// parseSize reads a size such as 2GB, 1.5GB, 512MiB, 4096 or 64k: decimal
// units (KB, MB, GB, TB, and K, M, G, T alone) are powers of 1000, binary
// ones (KiB, MiB, GiB, TiB) powers of 1024.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] == '.' || '0' <= s[i] && s[i] <= '9') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, errors.New("want a number of bytes, optionally with a unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB")
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s[i:])
	}
	size := v * mult
	if size >= 1<<62 {
		return 0, errors.New("too large")
	}
	return int64(size), nil
}

// run is the whole command, with its environment passed in for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, done, code := parseFlags(args, stdout, stderr)
	if done {
		return code
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "sessionbench: cannot find my own executable to run the jobs: %v\n", err)
		return exitFail
	}
	b := &bench{cfg: cfg, exe: exe, log: stderr}
	if cfg.reference != "" {
		if py, err := exec.LookPath(cfg.python); err != nil {
			fmt.Fprintf(stderr, "sessionbench: %s not found (%v): the reference is not timed\n", cfg.python, err)
			b.cfg.reference = ""
		} else {
			b.python = py
		}
	}
	res, err := b.run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sessionbench: %v\n", err)
		return exitFail
	}
	if cfg.json {
		err = res.writeJSON(stdout)
	} else {
		err = res.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sessionbench: write results: %v\n", err)
		return exitFail
	}
	return exitOK
}
