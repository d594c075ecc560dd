package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

// reportFlags are the flags of a run over every session (scan, recover).
type reportFlags struct {
	json        bool
	countAll    bool
	concurrency int
	verbose     bool
	noProgress  bool
	quiet       bool
	diff        bool
}

func (f *reportFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print the report as JSON on stdout, and nothing else there")
	fs.BoolVar(&f.countAll, "count-all", false, "also read sessions that have no backup, to report their message counts (the report then equals the Python module's)")
	fs.IntVar(&f.concurrency, "concurrency", recovery.DefaultConcurrency, fmt.Sprintf("handle at most `N` sessions at once (1 to %d)", recovery.MaxConcurrency))
	fs.BoolVar(&f.verbose, "verbose", false, "list every session in the table, not only those restored, to restore, or failed")
	fs.BoolVar(&f.noProgress, "no-progress", false, "show no running count on stderr (it shows only on a terminal)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "show no running count and no notices on stderr; warnings and errors still show")
	diffFlag(fs, &f.diff)
}

// diffFlag is --diff, of scan, recover and inspect.
func diffFlag(fs *pflag.FlagSet, diff *bool) {
	fs.BoolVar(diff, "diff", false, "also compare each session's messages with its backup's: what a restore brings back, what it drops, and sessions whose backup holds messages the live file lacks although the counts advise nothing (reads each backup twice more and each live file once more)")
}

func newScanCmd(e *env) *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "scan [flags] LOCATION",
		Short: "report what recover would do; change nothing",
		Long:  "Report the sessions whose backup has more messages than the live file,\nand what recover would do. Nothing is changed.",
		RunE: func(c *cobra.Command, args []string) error {
			sw := sweep{e: e, cmd: "scan", flags: &f, dryRun: true}
			return exitWith(sw.run(c.Context(), args))
		},
		ValidArgsFunction: completeLocation,
	}
	f.register(c.Flags())
	return c
}

func newRecoverCmd(e *env) *cobra.Command {
	var (
		f              reportFlags
		session        string
		restoreOrphans bool
		dryRun         bool
		merge          bool
		lockTimeout    time.Duration
	)
	c := &cobra.Command{
		Use:   "recover [flags] LOCATION\nsessionrecovery recover --session ID [flags] LOCATION",
		Short: "restore every shrunk session, or one",
		Long:  "Restore every session whose backup has more messages than the live file\n(or only the session --session names). The replaced bytes are kept as\n<id>.json.replaced; backups are never changed.",
		RunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("session") { // --session "" is an empty id, refused below
				sw := sweep{e: e, cmd: "recover", flags: &f, dryRun: dryRun, merge: merge, restoreOrphans: restoreOrphans, lockTimeout: lockTimeout}
				return exitWith(sw.run(c.Context(), args))
			}
			if name := notForOneSession(c); name != "" {
				return exitWith(usageError(e.stderr, "recover", "--%s does not apply to recover --session, which restores one session", name))
			}
			one := single{e: e, cmd: "recover", json: f.json, dryRun: dryRun, merge: merge}
			return exitWith(one.run(c.Context(), args, session, func(ctx context.Context, s *opened) (recovery.Status, error) {
				return recovery.Recover(ctx, s.store, session, recovery.Options{RestoreOrphans: restoreOrphans, DryRun: dryRun, Diff: f.diff, Merge: merge})
			}, lockTimeout))
		},
		ValidArgsFunction: completeLocation,
	}
	fs := c.Flags()
	f.register(fs)
	fs.StringVar(&session, "session", "", "restore only the session with this `ID` (the file name less .json)")
	fs.BoolVar(&restoreOrphans, "restore-orphans", false, "also restore <id>.json from <id>.json.bak when <id>.json is missing")
	fs.BoolVarP(&dryRun, "dry-run", "n", false, "report what recover would do, and change nothing (as scan does)")
	fs.BoolVar(&merge, "merge", false, "where a restore would drop messages the backup lacks, and for diverged sessions, write the backup's messages followed by those instead (the rest of the file from the backup, or from the live file when it has as many messages or more); implies --diff")
	lockFlag(fs, &lockTimeout)
	c.RegisterFlagCompletionFunc("session", completeSessionFlag)
	return c
}

// oneSessionFlags are the flags of recover that apply with --session (and
// those every command takes).
var oneSessionFlags = map[string]bool{"session": true, "restore-orphans": true, "json": true, "lock-timeout": true, "dry-run": true, "log-level": true, "log-format": true, "diff": true, "merge": true}

// notForOneSession names a flag given to recover --session that does not
// apply to it, or returns "".
func notForOneSession(c *cobra.Command) (name string) {
	c.Flags().Visit(func(f *pflag.Flag) {
		if !oneSessionFlags[f.Name] && name == "" {
			name = f.Name
		}
	})
	return name
}

// sweep is one run of scan or recover over every session of a location.
type sweep struct {
	e              *env
	cmd            string
	flags          *reportFlags
	dryRun         bool
	merge          bool
	restoreOrphans bool
	lockTimeout    time.Duration
}

func (sw *sweep) run(ctx context.Context, args []string) int {
	e, f, cmd := sw.e, sw.flags, sw.cmd
	if f.concurrency < 1 || f.concurrency > recovery.MaxConcurrency {
		return usageError(e.stderr, cmd, "--concurrency must be between 1 and %d, got %d", recovery.MaxConcurrency, f.concurrency)
	}
	s, code := openLocation(ctx, e, cmd, args, f.quiet, sw.lockTimeout)
	if code != exitOK {
		return code
	}
	defer s.close()
	prog := newProgress(e.stderr, sw.dryRun, !f.noProgress && !f.quiet)
	// The report streams out as sessions finish, so memory stays flat
	// however large the store.
	var (
		out    func(recovery.Status)
		finish func(*recovery.Report) error
	)
	if f.json {
		j := recovery.NewReportWriter(e.stdout)
		out = j.Add
		finish = func(r *recovery.Report) error { return j.Finish(r, nil) }
	} else {
		t := newTable(e.stdout, sw.dryRun, f.verbose, sw.merge)
		out = func(st recovery.Status) {
			prog.clear()
			t.add(st)
		}
		finish = t.finish
	}
	unhandled := 0 // statuses that a cancelled run cut short
	cut := func(st recovery.Status) {
		if errors.Is(st.Err, context.Canceled) {
			unhandled++
		}
	}
	report, err := recovery.RecoverAll(ctx, s.store, recovery.Options{
		DryRun:         sw.dryRun,
		CountAll:       f.countAll,
		RestoreOrphans: sw.restoreOrphans,
		Diff:           f.diff,
		Merge:          sw.merge,
		Concurrency:    f.concurrency,
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
		s.log.Error(fmt.Sprintf("cannot list %s: %v", backends.Redact(s.location), err))
		return exitUsage
	}
	if werr := finish(report); werr != nil {
		s.log.Error("write report: " + werr.Error())
		return exitErrors
	}
	if err == nil && nothingFound {
		if hint := emptyHint(s.location); hint != "" {
			s.log.Warn(hint)
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
		s.log.Error("the run did not complete: " + err.Error())
		if unhandled > 0 {
			s.log.Error(plural(unhandled, "session or orphan", "sessions or orphans") + " not handled or not finished; each is reported with an error and was left as it was unless its outcome says otherwise")
		}
		return exitErrors
	}
	if report.Errors > 0 {
		return exitErrors
	}
	return exitOK
}
