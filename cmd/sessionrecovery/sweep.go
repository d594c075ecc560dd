package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
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
	shard       string
	resume      string
}

func (f *reportFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print the report as JSON on stdout, and nothing else there")
	fs.BoolVar(&f.countAll, "count-all", false, "also read sessions that have no backup, to report their message counts (the report then equals the Python module's)")
	fs.IntVar(&f.concurrency, "concurrency", 0, fmt.Sprintf("handle at most `N` sessions at once, 1 to %d (default %d for a directory, %d for a bucket, whose requests wait on the network)", recovery.MaxConcurrency, recovery.DefaultConcurrency, recovery.DefaultRemoteConcurrency))
	fs.BoolVar(&f.verbose, "verbose", false, "list every session in the table, not only those restored, to restore, or failed")
	fs.BoolVar(&f.noProgress, "no-progress", false, "show no running count on stderr (it shows only on a terminal)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "show no running count and no notices on stderr; warnings and errors still show")
	diffFlag(fs, &f.diff)
	fs.StringVar(&f.shard, "shard", "", "handle only part `K/N` of the sessions (those whose id hashes to K of N), so that N machines share one run: K is a number from 0 to N-1 or the name of an environment variable holding it, such as JOB_COMPLETION_INDEX; merge-reports joins the shards' --json reports")
	fs.StringVar(&f.resume, "resume", "", "record each session handled in the journal `FILE`, and, if FILE holds the journal of an earlier run of the same command, continue that run: what it finished is reported from FILE, not read again")
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
			sw := sweep{e: e, cmd: "scan", flags: &f, dryRun: true, concurrencySet: c.Flags().Changed("concurrency"), shardSet: c.Flags().Changed("shard")}
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
				sw := sweep{e: e, cmd: "recover", flags: &f, dryRun: dryRun, merge: merge, restoreOrphans: restoreOrphans, lockTimeout: lockTimeout, concurrencySet: c.Flags().Changed("concurrency"), shardSet: c.Flags().Changed("shard")}
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
	concurrencySet bool // --concurrency was given
	shardSet       bool // --shard was given
	dryRun         bool
	merge          bool
	restoreOrphans bool
	lockTimeout    time.Duration
}

func (sw *sweep) run(ctx context.Context, args []string) int {
	e, f, cmd := sw.e, sw.flags, sw.cmd
	if sw.concurrencySet && (f.concurrency < 1 || f.concurrency > recovery.MaxConcurrency) {
		return usageError(e.stderr, cmd, "--concurrency must be between 1 and %d, got %d", recovery.MaxConcurrency, f.concurrency)
	}
	var shard recovery.Shard
	if sw.shardSet {
		var err error
		if shard, err = parseShard(f.shard, os.Getenv); err != nil {
			return usageError(e.stderr, cmd, "%v", err)
		}
	}
	s, code := openLocation(ctx, e, cmd, args, f.quiet, sw.lockTimeout)
	if code != exitOK {
		return code
	}
	defer s.close()
	var jr *journal
	if f.resume != "" {
		var err error
		if jr, err = openJournal(f.resume, sw.journalHeader(s.location)); err != nil {
			return usageError(e.stderr, cmd, "%v", err)
		}
		if err := jr.settle(ctx, s.store); err != nil {
			jr.close()
			fmt.Fprintf(e.stderr, "sessionrecovery %s: --resume %s: %v\n", cmd, f.resume, err)
			return exitErrors
		}
	}
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
	opts := recovery.Options{
		DryRun:         sw.dryRun,
		CountAll:       f.countAll,
		RestoreOrphans: sw.restoreOrphans,
		Diff:           f.diff,
		Merge:          sw.merge,
		Concurrency:    f.concurrency,
		Shard:          shard,
		Progress:       prog.update,
		OnStatus: func(st recovery.Status) {
			cut(st)
			out(st)
		},
	}
	if jr != nil {
		if code := sw.withJournal(jr, &opts, out, prog); code != exitOK {
			jr.close()
			return code
		}
	}
	report, err := recovery.RecoverAll(ctx, s.store, opts)
	if report != nil {
		for _, st := range report.Orphans {
			cut(st)
		}
	}
	if jr != nil {
		jr.flushHeld()
		jr.merge(report)
		if jerr := jr.close(); jerr != nil {
			s.log.Error(jerr.Error() + ": a run continued from it may handle again sessions this run finished")
			if err == nil {
				err = jerr
			}
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

// journalHeader names the run a --resume journal belongs to: the command,
// the location, and the flags that change what is reported.
func (sw *sweep) journalHeader(location string) journalHeader {
	f := sw.flags
	var flags []string
	for _, fl := range []struct {
		on   bool
		name string
	}{{sw.dryRun, "--dry-run"}, {f.countAll, "--count-all"}, {f.diff, "--diff"}, {sw.merge, "--merge"}, {sw.restoreOrphans, "--restore-orphans"}} {
		if fl.on {
			flags = append(flags, fl.name)
		}
	}
	if f.shard != "" {
		sh, _ := parseShard(f.shard, os.Getenv)
		flags = append(flags, "--shard="+sh.String())
	}
	return journalHeader{Command: sw.cmd, Location: backends.Redact(location), Flags: strings.Join(flags, " ")}
}

// withJournal makes the run continue the journal's: what it finished is
// handed on first (the sessions reported in order) or at its turn (those
// finished out of order), and every status this run reports is recorded.
func (sw *sweep) withJournal(jr *journal, opts *recovery.Options, out func(recovery.Status), prog *progress) int {
	if err := jr.start(out); err != nil {
		sw.e.stderr.Write([]byte("sessionrecovery " + sw.cmd + ": --resume " + jr.name + ": " + err.Error() + "\n"))
		return exitErrors
	}
	opts.After = jr.pos
	// From now on the held statuses, and this run's, go where this run's
	// would have gone without a journal.
	jr.replay = opts.OnStatus
	opts.OnStatus = func(st recovery.Status) {
		jr.record(st, false)
		jr.next(st)
	}
	opts.OnOrphan = func(st recovery.Status) { jr.record(st, true) }
	opts.OnFinish = jr.recordEarly
	opts.BeforeRestore = jr.recordIntent
	base := jr.progress
	opts.Progress = func(p recovery.Progress) {
		prog.update(recovery.Progress{Handled: base.Handled + p.Handled, Restored: base.Restored + p.Restored, Errors: base.Errors + p.Errors})
	}
	return exitOK
}
