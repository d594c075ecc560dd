package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// command is one subcommand: its flags and what it does with the
// positional arguments left after them.
type command struct {
	flags func(usageOut io.Writer, set *settings) *flag.FlagSet
	run   func(ctx context.Context, set *settings, args []string, stdout, stderr io.Writer) int
}

// settings holds every flag; each command registers the ones it takes.
type settings struct {
	json           bool
	countAll       bool
	concurrency    int
	session        string
	restoreOrphans bool
	verbose        bool
	lockTimeout    time.Duration
	noProgress     bool
	olderThan      time.Duration
	yes            bool
	dryRun         bool
	quiet          bool
	// given holds the names of the flags the command line set.
	given map[string]bool
}

// sessionFlags are the flags of recover that apply with --session.
var sessionFlags = map[string]bool{"session": true, "restore-orphans": true, "json": true, "lock-timeout": true, "dry-run": true, "n": true}

var commands = map[string]command{
	"scan": {
		flags: func(w io.Writer, set *settings) *flag.FlagSet {
			fs := newFlagSet("scan", "[flags] LOCATION",
				"Report the sessions whose backup has more messages than the live file,\nand what recover would do. Nothing is changed.", w)
			runFlags(fs, set)
			return fs
		},
		run: func(ctx context.Context, set *settings, args []string, stdout, stderr io.Writer) int {
			return runAll(ctx, set, "scan", args, true, stdout, stderr)
		},
	},
	"recover": {
		flags: func(w io.Writer, set *settings) *flag.FlagSet {
			fs := newFlagSet("recover", "[flags] LOCATION\n  sessionrecovery recover --session ID [flags] LOCATION",
				"Restore every session whose backup has more messages than the live file\n(or only the session --session names). The replaced bytes are kept as\n<id>.json.replaced; backups are never changed.", w)
			runFlags(fs, set)
			fs.StringVar(&set.session, "session", "", "restore only the session with this `ID` (the file name less .json)")
			fs.BoolVar(&set.restoreOrphans, "restore-orphans", false, "also restore <id>.json from <id>.json.bak when <id>.json is missing")
			fs.BoolVar(&set.dryRun, "dry-run", false, "report what recover would do, and change nothing (as scan does)")
			fs.BoolVar(&set.dryRun, "n", false, "the same as --dry-run")
			fs.DurationVar(&set.lockTimeout, "lock-timeout", local.DefaultLockTimeout, "in a local directory, wait at most `D` (such as 30s or 2m; 0 tries once)\nfor the directory's lock, which every save through the library holds for\nmoments and another reader or a stopped process may hold for ever; a session\nwhose lock is not had by then is reported as an error naming the holder and\nleft as it was, and later ones there fail at once while the lock stays taken")
			return fs
		},
		run: func(ctx context.Context, set *settings, args []string, stdout, stderr io.Writer) int {
			if set.session != "" {
				for _, name := range slices.Sorted(maps.Keys(set.given)) {
					if !sessionFlags[name] {
						return usageError(stderr, "recover", "--%s does not apply to recover --session, which restores one session", name)
					}
				}
				return runOne(ctx, set, "recover", args, set.session, stdout, stderr)
			}
			return runAll(ctx, set, "recover", args, set.dryRun, stdout, stderr)
		},
	},
	"prune": {
		flags: func(w io.Writer, set *settings) *flag.FlagSet {
			fs := newFlagSet("prune", "--older-than D [--yes] [flags] LOCATION",
				"List the kept copies restores left (<id>.json.replaced, .replaced.N) that\nwere last written more than D ago, and with --yes delete them. Nothing\nelse is ever deleted.", w)
			fs.DurationVar(&set.olderThan, "older-than", 0, "the age `D` a kept copy must pass to go, such as 720h (30 days); required")
			fs.BoolVar(&set.yes, "yes", false, "delete them; without it, only list them")
			fs.DurationVar(&set.lockTimeout, "lock-timeout", local.DefaultLockTimeout, "in a local directory, wait at most `D` for the directory's lock")
			return fs
		},
		run: prune,
	},
	"inspect": {
		flags: func(w io.Writer, set *settings) *flag.FlagSet {
			fs := newFlagSet("inspect", "[flags] LOCATION ID",
				"Show one session's message counts, live and backup, and what recover\nwould do with it. Nothing is changed.", w)
			fs.BoolVar(&set.json, "json", false, "print the session's status as JSON on stdout")
			return fs
		},
		run: func(ctx context.Context, set *settings, args []string, stdout, stderr io.Writer) int {
			if len(args) != 2 {
				return usageError(stderr, "inspect", "want LOCATION and ID, got %d argument(s)", len(args))
			}
			return runOne(ctx, set, "inspect", args[:1], args[1], stdout, stderr)
		},
	},
}

func newFlagSet(name, synopsis, about string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage:\n  sessionrecovery %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// runFlags registers the flags shared by scan and recover.
func runFlags(fs *flag.FlagSet, set *settings) {
	fs.BoolVar(&set.json, "json", false, "print the report as JSON on stdout, and nothing else there")
	fs.BoolVar(&set.countAll, "count-all", false, "also read sessions that have no backup, to report their message counts\n(the report then equals the Python module's)")
	fs.IntVar(&set.concurrency, "concurrency", recovery.DefaultConcurrency, fmt.Sprintf("handle at most `N` sessions at once (1 to %d)", recovery.MaxConcurrency))
	fs.BoolVar(&set.verbose, "verbose", false, "list every session in the table, not only those restored, to restore, or failed")
	fs.BoolVar(&set.noProgress, "no-progress", false, "show no running count on stderr (it shows only on a terminal)")
	fs.BoolVar(&set.quiet, "quiet", false, "show no running count and no notices on stderr; warnings and errors still show")
	fs.BoolVar(&set.quiet, "q", false, "the same as --quiet")
}

func usageError(stderr io.Writer, cmd, format string, a ...any) int {
	fmt.Fprintf(stderr, "sessionrecovery %s: %s\nRun 'sessionrecovery help %s' for usage.\n", cmd, fmt.Sprintf(format, a...), cmd)
	return exitUsage
}

func openLocation(ctx context.Context, set *settings, cmd string, args []string, stderr io.Writer) (store.Store, func() error, int) {
	if len(args) != 1 {
		return nil, nil, usageError(stderr, cmd, "want one LOCATION, got %d argument(s)", len(args))
	}
	if set.lockTimeout < 0 {
		return nil, nil, usageError(stderr, cmd, "--lock-timeout must not be negative, got %v", set.lockTimeout)
	}
	s, closeFn, err := backends.Open(ctx, args[0],
		backends.WithLogger(noticeLogger(stderr, cmd, set.quiet)),
		backends.WithLockTimeout(set.lockTimeout))
	if err != nil {
		fmt.Fprintf(stderr, "sessionrecovery %s: cannot open %v\n", cmd, err)
		return nil, nil, exitUsage
	}
	return s, closeFn, exitOK
}

func runAll(ctx context.Context, set *settings, cmd string, args []string, dryRun bool, stdout, stderr io.Writer) int {
	if set.concurrency < 1 || set.concurrency > recovery.MaxConcurrency {
		return usageError(stderr, cmd, "--concurrency must be between 1 and %d, got %d", recovery.MaxConcurrency, set.concurrency)
	}
	s, closeFn, code := openLocation(ctx, set, cmd, args, stderr)
	if code != exitOK {
		return code
	}
	defer closeFn()
	prog := newProgress(stderr, dryRun, !set.noProgress && !set.quiet)
	// The report streams out as sessions finish, so memory stays flat
	// however large the store.
	var (
		out    func(recovery.Status)
		finish func(*recovery.Report) error
	)
	if set.json {
		j := newJSONReport(stdout)
		out, finish = j.add, j.finish
	} else {
		t := &table{w: stdout, dryRun: dryRun, verbose: set.verbose}
		out = func(st recovery.Status) {
			prog.clear()
			t.add(st)
		}
		finish = func(r *recovery.Report) error { t.finish(r); return nil }
	}
	unhandled := 0 // statuses that a cancelled run cut short
	cut := func(st recovery.Status) {
		if errors.Is(st.Err, context.Canceled) {
			unhandled++
		}
	}
	report, err := recovery.RecoverAll(ctx, s, recovery.Options{
		DryRun:         dryRun,
		CountAll:       set.countAll,
		RestoreOrphans: set.restoreOrphans,
		Concurrency:    set.concurrency,
		Progress:       prog.update,
		OnStatus: func(st recovery.Status) {
			cut(st)
			out(st)
		},
	})
	if report != nil {
		for _, st := range report.Orphans {
			cut(st)
		}
	}
	prog.clear()
	nothingFound := report.Scanned == 0 && len(report.Orphans) == 0
	if errors.Is(err, recovery.ErrList) && ctx.Err() == nil && nothingFound {
		// Nothing was listed: the location cannot be read, which is not
		// an empty store; print no report that could pass for one.
		fmt.Fprintf(stderr, "sessionrecovery %s: cannot list %s: %v\n", cmd, backends.Redact(args[0]), err)
		return exitUsage
	}
	if werr := finish(report); werr != nil {
		fmt.Fprintf(stderr, "sessionrecovery %s: write report: %v\n", cmd, werr)
		return exitErrors
	}
	if err == nil && nothingFound {
		if hint := emptyHint(args[0]); hint != "" {
			fmt.Fprintf(stderr, "sessionrecovery %s: %s\n", cmd, shownText(hint))
		}
	}
	if err == nil && unhandled > 0 {
		// Every session was reached, but the end of the run cut some of
		// them short (a wait for a lock, a read).
		err = ctx.Err()
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", err, cause)
		}
		fmt.Fprintf(stderr, "sessionrecovery %s: the run did not complete: %v\n", cmd, err)
		if unhandled > 0 {
			fmt.Fprintf(stderr, "sessionrecovery %s: %s not handled or not finished; each is reported with an error and was left as it was unless its outcome says otherwise\n", cmd, plural(unhandled, "session or orphan", "sessions or orphans"))
		}
		return exitErrors
	}
	if report.Errors > 0 {
		return exitErrors
	}
	return exitOK
}

func runOne(ctx context.Context, set *settings, cmd string, args []string, id string, stdout, stderr io.Writer) int {
	if err := recovery.ValidateID(id); err != nil {
		return usageError(stderr, cmd, "%v", err)
	}
	s, closeFn, code := openLocation(ctx, set, cmd, args, stderr)
	if code != exitOK {
		return code
	}
	defer closeFn()
	var st recovery.Status
	var err error
	if cmd == "inspect" {
		st, err = recovery.Inspect(ctx, s, id)
	} else {
		st, err = recovery.Recover(ctx, s, id, recovery.Options{RestoreOrphans: set.restoreOrphans, DryRun: set.dryRun})
	}
	if err != nil {
		fmt.Fprintf(stderr, "sessionrecovery %s: %v\n", cmd, err)
		return exitErrors
	}
	if set.json {
		if werr := writeJSON(stdout, st); werr != nil {
			fmt.Fprintf(stderr, "sessionrecovery %s: write status: %v\n", cmd, werr)
			return exitErrors
		}
	} else {
		writeStatus(stdout, st, cmd == "inspect", set.dryRun, args[0])
	}
	if st.Err != nil {
		if bare, ok := strings.CutSuffix(id, ".json"); ok && errors.Is(st.Err, store.ErrNotExist) && st.LiveMessages == recovery.NotSession {
			fmt.Fprintf(stderr, "sessionrecovery %s: no session %s: did you mean %q? (an id is the file name less .json)\n", cmd, shown(id), bare)
		}
		return exitErrors
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// marshal is json.Marshal without escaping <, > and &, which session ids
// may hold.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
