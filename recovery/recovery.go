// Package recovery finds the sessions of a store that a bug shrank and
// restores them from their backups.
//
// A session is a JSON object with a top-level "messages" array, kept under
// a key that ends in ".json" directly in the store (no '/'), whose name does
// not start with '_'. Before an application saves a version of a session
// with fewer messages, it copies the old document to the same key plus
// ".bak". Recovery compares the two message counts and, when the backup has
// more, replaces the live document with the backup's bytes.
//
// The results match the Python module this package re-implements, with
// these deliberate differences, each safer:
//
//   - A read that fails (I/O error, permission, network, cancelled context)
//     is never taken as a count: the session is reported with an error and
//     left alone. Only bytes read whole that are not a session count -1.
//   - Before a live document is replaced, its bytes are kept as
//     "<id>.json.replaced" (or ".replaced.2", ".3", … if taken), which scans
//     ignore, so a restore never destroys anything: a second name for them
//     where the store is a store.Linker, else a copy. On a store.Writer,
//     every write is made only from the bytes counted (the same version,
//     size and CRC-32C on a second read), the kept copy only under a name
//     that does not exist, and the restore only over the live version
//     counted where the store reports versions (a Writer that reports
//     none restores unconditionally). A plain Store offers no conditions:
//     there the kept copy and the restore are Replace calls, with no such
//     checks.
//   - A restore whose new bytes are in place but not confirmed durable
//     (store.ErrNotDurable) is reported Restored, with an error saying so.
//   - A session without a backup is not read unless Options.CountAll is set
//     (its live count is then NotCounted, null in JSON).
//   - A backup whose live document is missing (an orphan) is reported in
//     Report.Orphans and restored only with Options.RestoreOrphans.
//   - Sessions are handled concurrently, with a bound the caller sets.
//   - Documents nested deeper than Python's recursion limit are counted like
//     any other; the Python module drops them from its report.
//
// Backups are never modified. The package depends on store.Store only.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/c0fe5641/sessionrecovery/internal/sessionname"
	"github.com/c0fe5641/sessionrecovery/store"
)

// DefaultConcurrency is the number of sessions handled at once when
// Options.Concurrency is zero, on a store that is not store.Remote (a
// local directory, memory). Reads there still wait on the disk at times,
// so it is above the number of cores.
const DefaultConcurrency = 32

// DefaultRemoteConcurrency is the number of sessions handled at once when
// Options.Concurrency is zero, on a store.Remote (a bucket): each of its
// requests waits a network round trip (tens of milliseconds), during
// which many more sessions can be in flight than on a disk. At 20 ms a
// request it reads about 2,800 sessions with a backup a second (two GETs
// each), more than a listing meets in a bucket where one session in
// twenty has a backup. It was 256: at a million simulated sessions a
// recover then peaked at 210 MB, against 145 MB at 128, for 7% of the
// time (BENCHMARKS.md, Large stores).
const DefaultRemoteConcurrency = 128

// MaxConcurrency bounds Options.Concurrency: a larger value is taken as
// MaxConcurrency. Beyond it, more sessions at once only add memory and
// open files, on any store.
const MaxConcurrency = 1024

// PreservedSuffix is added to a live session's key to name the copy of
// the bytes a restore replaces: "abc.json" is kept as "abc.json.replaced",
// or "abc.json.replaced.2", ".3", … when earlier copies exist. Such keys do
// not end in ".json", so scans ignore them.
const PreservedSuffix = sessionname.KeptSuffix

// ErrInvalidID is wrapped by the error for a session id that cannot name a
// session; the error also names the id.
var ErrInvalidID = sessionname.ErrInvalidID

// ValidateID reports whether id can name a session given to a
// single-session call: not empty, no '/' or NUL, not "." or "..", and not
// starting with '_' (such names are never sessions).
func ValidateID(id string) error { return sessionname.ValidateID(id) }

// Options control a run. The zero value restores, reads only sessions that
// have a backup, leaves orphans alone and uses DefaultConcurrency.
//
// The callbacks, OnStatus, OnOrphan and Progress, are called on one
// goroutine, one call at a time, never concurrently with each other or
// with themselves, and never while recovery holds a lock: for each session
// or orphan, as its turn in the report comes, OnStatus (for a session) or
// OnOrphan (for an orphan), and then Progress. A slow callback slows the run, since only a bounded number of
// finished statuses wait for it, but it blocks no store call in flight.
type Options struct {
	// DryRun reports what would be restored and changes nothing.
	DryRun bool
	// CountAll also reads the sessions without a backup, so that their live
	// counts are reported as the reference module reports them.
	CountAll bool
	// RestoreOrphans restores a missing live document from its backup when
	// the backup is a session.
	RestoreOrphans bool
	// Diff adds to each session whose live document and backup are both
	// sessions a preview of what a restore changes, message by message
	// (Status.Diff). It reads the backup twice more and the live document
	// once more; the outcomes are those of a run without it, but that a
	// session whose backup holds messages the live document lacks, while
	// the count rule advises nothing, is advised Merge.
	Diff bool
	// Merge, in a run that restores, writes a merge where a restore would
	// drop messages: for a session to restore whose live document holds
	// messages the backup lacks, and for a session advised Merge, the live
	// document becomes the backup's messages followed by those, the rest
	// of the document taken whole from one side (the backup's when it has
	// more messages, else the live document's). It is kept and written
	// like a restore, on a store.Writer only, and Status.Merged says it
	// was made. It implies Diff, and reads each document once more.
	Merge bool
	// Concurrency bounds the sessions handled at once; 0 (or less) means
	// DefaultConcurrency, or DefaultRemoteConcurrency on a store.Remote,
	// and more than MaxConcurrency means MaxConcurrency. Workers are started as work comes, so a bound far
	// above the number of sessions costs nothing.
	Concurrency int
	// Progress, if set, is given the running total after each session and
	// orphan is reported.
	Progress func(Progress)
	// OnStatus, if set, receives every session's Status in report order
	// as soon as its turn comes, and Report.Details stays empty: a run
	// over a store of any size then holds only a bounded number of
	// sessions.
	OnStatus func(Status)
	// OnOrphan, if set, receives every orphan's Status as its turn comes,
	// as OnStatus does a session's; Report.Orphans has them all the same.
	OnOrphan func(Status)
	// OnFinish, if set, is called by the worker that handled a session or
	// orphan as soon as it is finished, before its turn in the report
	// comes: from many goroutines at once, concurrently with the other
	// callbacks, and holding back that worker. It is for a record of what
	// a run changed that must not wait for the report's order, such as a
	// journal (the command's --resume) noting each restore as it is made.
	OnFinish func(st Status, orphan bool)
	// BeforeRestore, if set, is called by a worker just before the write
	// that restores a session (the backup's bytes over the live document,
	// its replaced bytes already kept) or an orphan, with the Status it
	// reports if that write lands: a record written ahead of the write, so
	// that a run killed between the write and OnFinish can tell, later,
	// that it was made (the live document then holds the backup's bytes).
	// Merges are not announced. Like OnFinish, it is called from many
	// goroutines at once and holds back its worker.
	BeforeRestore func(st Status, orphan bool)
	// Shard, if its Count is above 1, restricts the run to one part of the
	// store's sessions (see Shard): the others are neither read nor
	// reported.
	Shard Shard
	// After, if set, restricts the run to the sessions and orphans that
	// come after it in report order: those an earlier run that reached
	// After had not finished (see Position).
	After Position
}

// Progress is the running total of a RecoverAll run.
type Progress struct {
	// Handled counts the sessions and orphans reported so far.
	Handled int
	// Restored counts the restores done (or, in a dry run, recommended).
	Restored int
	// Errors counts the sessions and orphans that had an error.
	Errors int
}

func concurrency(n int, s store.Store) int {
	switch {
	case n <= 0 && store.IsRemote(s):
		return DefaultRemoteConcurrency
	case n <= 0:
		return DefaultConcurrency
	case n > MaxConcurrency:
		return MaxConcurrency
	}
	return n
}

// window is how many sessions may be between the listing and the report
// at once: four a worker on a local store. On a bucket, a session whose
// request is retried after a throttling waits out the backoff (a tenth of
// a second, up to seconds) while the report waits for it; sessions without
// a backup cost no request, and the listing reaches 65,536 of them in
// about a second, so the run goes on meanwhile. The statuses waiting take
// some hundreds of bytes each: about 30 MB at most.
func window(workers int, s store.Store) int {
	if store.IsRemote(s) {
		return max(4*workers, remoteWindow)
	}
	return 4 * workers
}

const remoteWindow = 1 << 16

// ErrList is wrapped by the error of RecoverAll when listing the store
// failed (a missing bucket, no credentials, an unreadable directory): the
// sessions listed before the failure are in the report, those after it
// were never reached.
var ErrList = errors.New("list sessions")

// RecoverAll scans the store's top level, where sessions live (one List
// of the empty prefix, which enters no folder; on a remote
// store.RangeLister of more than 10,000 objects, ranges of it listed at
// once and handed on in the same order), and restores every session
// whose backup has more messages than its live document (with
// opts.DryRun, it only reports them). A failure confined to one session is reported in that
// session's Status and does not stop the run; the error return is for a
// listing that failed or a cancelled context, and comes with the report of
// what was handled before (sessions listed but never handled are reported
// with that error).
//
// The report comes in the order of the listing: byte-wise by key, except
// that a session comes after the sessions whose keys its key prefixes
// ("a.json" after "a.json.b.json", which are rare); orphans likewise by
// their backup's key.
//
// With opts.Shard or opts.After, only that part of the sessions is
// handled and reported; the listing is still of the whole top level.
func RecoverAll(ctx context.Context, s store.Store, opts Options) (*Report, error) {
	if err := opts.Shard.Validate(); err != nil {
		return &Report{Details: []Status{}}, fmt.Errorf("recovery: %w", err)
	}
	n := concurrency(opts.Concurrency, s)
	d := newDelivery(opts, window(n, s))
	c := &crew{s: s, opts: opts, max: n, tasks: make(chan task)}
	// The dispatcher's own worker handles the sessions that need no read
	// (no backup, no --count-all): most of a large store, whose status
	// follows from the listing, so that no handoff to another goroutine
	// is spent on them.
	inline := worker{s: s, opts: opts}
	unemitted, err := pairSessions(ctx, s, func(j job) error {
		if !opts.inPart(j) {
			return nil
		}
		sl := d.reserve(j)
		if err := ctx.Err(); err != nil {
			sl.finish(notHandled(j, err))
			return err
		}
		if !j.hasBackup && !opts.CountAll {
			c.finish(ctx, &inline, task{j, sl})
			return nil
		}
		if !c.hand(ctx, task{j, sl}) {
			sl.finish(notHandled(j, ctx.Err()))
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("recovery: %w: %w", ErrList, err)
		for _, j := range unemitted {
			if !opts.inPart(j) {
				continue
			}
			d.reserve(j).finish(notHandled(j, err))
		}
	}
	c.stop()
	return d.close(), err
}

// crew runs up to max workers, started only as jobs come and no worker is
// free, so that a bound far above the work costs nothing.
type crew struct {
	s       store.Store
	opts    Options
	max     int
	started int // only the dispatching goroutine touches it
	tasks   chan task
	wg      sync.WaitGroup
}

// task is one job and where its status goes.
type task struct {
	j  job
	sl *slot
}

// hand gives t to a free worker, starting one if none is free and the
// bound allows, else waiting for one; false if ctx ended first.
func (c *crew) hand(ctx context.Context, t task) bool {
	select {
	case c.tasks <- t:
		return true
	default:
	}
	if c.started < c.max {
		c.started++
		c.wg.Go(func() {
			w := worker{s: c.s, opts: c.opts}
			for t := range c.tasks {
				c.finish(ctx, &w, t)
			}
		})
	}
	select {
	case c.tasks <- t:
		return true
	case <-ctx.Done():
		return false
	}
}

// finish has w handle t's job, and hands on its status.
func (c *crew) finish(ctx context.Context, w *worker, t task) {
	st := w.handle(ctx, t.j)
	if c.opts.OnFinish != nil {
		c.opts.OnFinish(st, t.j.orphan())
	}
	t.sl.finish(st)
}

// stop waits for the workers to finish the jobs they have.
func (c *crew) stop() {
	close(c.tasks)
	c.wg.Wait()
}

// Inspect reads one session and its backup and tells what a recovery would
// do; it changes nothing. The live document is read even without a backup.
// The error is for an invalid id or a failed listing; a failure confined to
// the session is in Status.Err.
func Inspect(ctx context.Context, s store.Store, id string) (Status, error) {
	return single(ctx, s, id, Options{DryRun: true})
}

// Recover restores one session from its backup if the backup has more
// messages, with the same rules as RecoverAll (opts.CountAll and
// opts.Concurrency do not apply: the live document is always read).
func Recover(ctx context.Context, s store.Store, id string, opts Options) (Status, error) {
	return single(ctx, s, id, opts)
}

// Preview is Inspect with a message-level preview (Status.Diff) when
// the live document and the backup are both sessions.
func Preview(ctx context.Context, s store.Store, id string) (Status, error) {
	return single(ctx, s, id, Options{DryRun: true, Diff: true})
}

func single(ctx context.Context, s store.Store, id string, opts Options) (Status, error) {
	if err := ValidateID(id); err != nil {
		return Status{}, err
	}
	j, _, err := listSession(ctx, s, id)
	if err != nil {
		return Status{}, err
	}
	if !j.hasLive && !j.hasBackup {
		st := newStatus(j)
		st.Recommend = NoBackup
		st.LiveMessages = NotSession
		st.fail(fmt.Errorf("no live document %q and no backup %q: %w", j.Live, j.Backup, store.ErrNotExist))
		return st, nil
	}
	opts.CountAll = true
	w := worker{s: s, opts: opts}
	return w.handle(ctx, j), nil
}
