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
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/store"
)

// DefaultConcurrency is the number of sessions handled at once when
// Options.Concurrency is zero. Reads of remote stores spend most of their
// time waiting, so it is well above the number of cores.
const DefaultConcurrency = 32

// Options control a run. The zero value restores, reads only sessions that
// have a backup, leaves orphans alone and uses DefaultConcurrency.
type Options struct {
	// DryRun reports what would be restored and changes nothing.
	DryRun bool
	// CountAll also reads the sessions without a backup, so that their live
	// counts are reported as the reference module reports them.
	CountAll bool
	// RestoreOrphans restores a missing live document from its backup when
	// the backup is a session.
	RestoreOrphans bool
	// Concurrency bounds the sessions handled at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Progress, if set, is called after each session is handled, never
	// concurrently with itself.
	Progress func(Progress)
	// OnStatus, if set, receives every session's Status in report order
	// (by session id, then key) as soon as it is final, never concurrently
	// with itself, and Report.Details stays empty: a run over a store of
	// any size then holds only the sessions in flight.
	OnStatus func(Status)
}

// Progress is the running total of a RecoverAll run.
type Progress struct {
	// Handled counts the sessions and orphans handled so far.
	Handled int
	// Restored counts the restores done (or, in a dry run, recommended).
	Restored int
	// Errors counts the sessions and orphans that had an error.
	Errors int
}

// RecoverAll scans the whole store and restores every session whose backup
// has more messages than its live document (with opts.DryRun, it only
// reports them). A failure confined to one session is reported in that
// session's Status and does not stop the run; the error return is for a
// listing that failed or a cancelled context, and comes with the report of
// what was handled before (sessions listed but never handled are reported
// with that error).
func RecoverAll(ctx context.Context, s store.Store, opts Options) (*Report, error) {
	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	report := &Report{Details: []Status{}}
	out := opts.OnStatus
	if out == nil {
		out = func(st Status) { report.Details = append(report.Details, st) }
	}
	var (
		mu       sync.Mutex // guards report and progress
		progress Progress
		wg       sync.WaitGroup
	)
	tally := func(st Status, live bool) {
		mu.Lock()
		defer mu.Unlock()
		if live {
			report.Scanned++
			if st.Restored {
				report.Restored++
			}
		} else {
			report.Orphans = append(report.Orphans, st)
		}
		progress.Handled++
		if st.Restored || (opts.DryRun && live && st.Recommend == Restore && st.Err == nil) {
			progress.Restored++
		}
		if st.Err != nil {
			progress.Errors++
			report.Errors++
		}
		if opts.Progress != nil {
			opts.Progress(progress)
		}
	}
	rel := newReleaser(func(st Status) {
		tally(st, true)
		out(st)
	})

	jobs := make(chan job, n)
	for range n {
		wg.Go(func() {
			w := worker{s: s, opts: opts}
			for j := range jobs {
				st := w.handle(ctx, j)
				if j.slot != nil {
					rel.complete(j.slot, st)
				} else {
					tally(st, false)
				}
			}
		})
	}
	err := pairSessions(ctx, s, pairing{
		session: func(j *job) { j.slot = rel.listedSession(j.session) },
		key:     rel.listedKey,
		emit: func(j job) error {
			select {
			case jobs <- j:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
	close(jobs)
	wg.Wait()
	if err != nil {
		err = fmt.Errorf("recovery: list sessions: %w", err)
		rel.abandon(func(sl *slot) Status {
			st := Status{SessionID: sl.id, Key: sl.key, LiveMessages: NotCounted, BakMessages: NotCounted, Recommend: NoAction}
			st.fail(fmt.Errorf("%q not handled: %w", sl.key, err))
			return st
		})
	} else {
		rel.finish()
	}
	slices.SortFunc(report.Orphans, func(a, b Status) int {
		return cmp.Or(strings.Compare(a.SessionID, b.SessionID), strings.Compare(a.Key, b.Key))
	})
	return report, err
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

func single(ctx context.Context, s store.Store, id string, opts Options) (Status, error) {
	if err := ValidateID(id); err != nil {
		return Status{}, err
	}
	j := job{session: sessionForID(id)}
	// One listing tells whether the live document, the backup and earlier
	// preserved copies exist, without a request per key.
	err := s.List(ctx, j.live, func(o store.Object) error {
		switch o.Key {
		case j.live:
			j.hasLive, j.liveSize = true, o.Size
		case j.backup:
			j.hasBackup, j.backupSize = true, o.Size
		default:
			j.keep.note(j.live, o.Key)
		}
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("recovery: session %q: list: %w", id, err)
	}
	opts.CountAll = true
	w := worker{s: s, opts: opts}
	if !j.hasLive && !j.hasBackup {
		st := w.newStatus(j)
		st.Recommend = NoBackup
		st.LiveMessages = NotSession
		st.fail(fmt.Errorf("no live document %q and no backup %q: %w", j.live, j.backup, store.ErrNotExist))
		return st, nil
	}
	return w.handle(ctx, j), nil
}

// job is one session (or orphan backup) to handle, with what the listing
// told about it.
type job struct {
	session
	hasLive, hasBackup bool
	// The sizes the listing gave: a read that ends anywhere else was cut
	// short or raced a writer, and its count cannot be trusted.
	liveSize, backupSize int64
	keep                 preserved
	slot                 *slot // where its status goes; nil for an orphan
}

// maxKept bounds the backup bytes a worker keeps from its read, so that a
// restore through store.Writer need not read the backup a second time.
// Larger backups are read again.
const maxKept = 1 << 20

// worker handles jobs one at a time, reusing its counter's and its kept
// backup's buffers.
type worker struct {
	s       store.Store
	opts    Options
	counter msgcount.Counter
	kept    keptBytes
	read    sizedReader
}

func (w *worker) newStatus(j job) Status {
	return Status{
		SessionID:    j.id,
		Key:          j.live,
		BackupKey:    j.backup,
		LiveMessages: NotCounted,
		BakMessages:  NotSession,
	}
}

func (w *worker) handle(ctx context.Context, j job) Status {
	st := w.newStatus(j)
	if !j.hasLive {
		w.orphan(ctx, j, &st)
		return st
	}
	if !j.hasBackup {
		st.Recommend = NoBackup
		if w.opts.CountAll {
			n, _, err := w.count(ctx, j.live, j.liveSize, false, false)
			if err != nil {
				st.fail(fmt.Errorf("live document: %w", err))
				return st
			}
			st.LiveMessages = n
		}
		return st
	}
	st.Recommend = NoAction
	restoring := !w.opts.DryRun
	live, liveRead, err := w.count(ctx, j.live, j.liveSize, restoring, false)
	if err != nil {
		st.fail(fmt.Errorf("live document: %w", err))
		return st
	}
	st.LiveMessages = live
	bak, bakRead, err := w.count(ctx, j.backup, j.backupSize, restoring, restoring)
	if err != nil {
		st.BakMessages = NotCounted
		st.fail(fmt.Errorf("backup: %w", err))
		return st
	}
	st.BakMessages = bak
	if bak <= live {
		return st
	}
	st.Recommend = Restore
	if restoring {
		w.keepAndRestore(ctx, j, liveRead, bakRead, &st)
	}
	return st
}

// orphan handles a backup whose live document is missing.
func (w *worker) orphan(ctx context.Context, j job, st *Status) {
	st.LiveMessages = NotSession
	st.Recommend = NoAction
	writer, canWrite := w.s.(store.Writer)
	restoring := w.opts.RestoreOrphans && !w.opts.DryRun
	bak, bakRead, err := w.count(ctx, j.backup, j.backupSize, restoring, restoring && canWrite)
	if err != nil {
		st.BakMessages = NotCounted
		st.fail(fmt.Errorf("backup: %w", err))
		return
	}
	st.BakMessages = bak
	if bak == NotSession {
		return
	}
	st.Recommend = Restore
	if !restoring {
		return
	}
	// The listing is a moment old: never overwrite a live document that an
	// application created since.
	if canWrite {
		err = w.writeBackup(ctx, writer, j, bakRead, store.WriteOptions{IfNotExist: true})
	} else {
		err = w.replaceIfStillMissing(ctx, j)
	}
	switch {
	case err == nil:
		st.Restored = true
	case errors.Is(err, store.ErrNotDurable):
		st.Restored = true
		st.fail(fmt.Errorf("restored from the backup, but the store could not confirm it is durable, so a crash may undo it: %w", err))
	default:
		st.fail(restoreError(err))
	}
}

// replaceIfStillMissing restores an orphan on a store that cannot write
// conditionally: it checks the live document is still missing, leaving
// only a short window.
func (w *worker) replaceIfStillMissing(ctx context.Context, j job) error {
	rc, err := w.s.Open(ctx, j.live)
	if err == nil {
		rc.Close()
		return fmt.Errorf("live document %q appeared during the run: %w", j.live, store.ErrChanged)
	}
	if !errors.Is(err, store.ErrNotExist) {
		return err
	}
	return w.s.Replace(ctx, j.live, j.backup)
}

// count reads the document at key whole and counts its messages, and says
// which bytes it counted: their version, size and checksum. size is the
// size the listing gave: a read that reaches its end at any other length
// failed, whatever the reader said. With sum, the bytes are checksummed,
// for a write made from them later; with keep, they are kept in w.kept as
// well (up to maxKept). An error means the read failed; the count is then
// meaningless.
func (w *worker) count(ctx context.Context, key string, size int64, sum, keep bool) (Count, counted, error) {
	rc, err := w.s.Open(ctx, key)
	if err != nil {
		return NotCounted, counted{}, err
	}
	version := store.Version(rc)
	w.read = sizedReader{r: rc, sum: sum}
	var r io.Reader = &w.read
	w.kept.reset(keep)
	if keep {
		r = io.TeeReader(r, &w.kept)
	}
	n, err := w.counter.Count(r)
	if err == nil && sum && !w.read.eof {
		// The counter stops at the first bytes that are not a session; a
		// copy made from this document later is checked against all of it.
		_, err = io.Copy(io.Discard, &w.read)
	}
	cerr := rc.Close()
	if err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	// The counter stops early only on bytes that are not a session; if it
	// read to the end, the end must be where the listing put it.
	if err == nil && w.read.eof && w.read.n != size {
		err = fmt.Errorf("%w: read %d bytes where the listing said %d (cut short, or changed while read)", ErrShortRead, w.read.n, size)
	}
	if err != nil {
		return NotCounted, counted{}, fmt.Errorf("read %q: %w", key, err)
	}
	return Count(n), counted{version: version, size: w.read.n, crc: w.read.crc}, nil
}

// ErrShortRead is wrapped by a session's error when a read ended before or
// after the size the listing gave: the transport cut it short, or the
// object changed while it was read. Its count was not trusted.
var ErrShortRead = errors.New("object size mismatch")

// sizedReader counts the bytes read, sums them if asked (CRC-32C, at
// several GB/s a core: far below the counter's cost) and notes the end of
// data.
type sizedReader struct {
	r   io.Reader
	n   int64
	sum bool
	crc uint32
	eof bool
}

func (s *sizedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.sum {
		s.crc = crc32.Update(s.crc, castagnoli, p[:n])
	}
	if err == io.EOF {
		s.eof = true
	}
	return n, err
}

// keptBytes keeps the first maxKept bytes written to it, and remembers
// whether that was all of them.
type keptBytes struct {
	buf      []byte
	on, over bool
}

func (k *keptBytes) reset(on bool) {
	k.buf, k.on, k.over = k.buf[:0], on, false
}

func (k *keptBytes) Write(p []byte) (int, error) {
	if !k.over {
		if len(k.buf)+len(p) > maxKept {
			k.over, k.buf = true, k.buf[:0]
		} else {
			k.buf = append(k.buf, p...)
		}
	}
	return len(p), nil
}

// whole returns the kept bytes if they are the whole document.
func (k *keptBytes) whole() ([]byte, bool) {
	return k.buf, k.on && !k.over
}
