package recovery

import (
	"context"
	"errors"
	"fmt"

	"github.com/c0fe5641/sessionrecovery/internal/jsonenc"
	"github.com/c0fe5641/sessionrecovery/store"
)

// Undo: put back what the last restore of one session replaced. A restore
// writes the backup's bytes over the live document and keeps the bytes it
// replaced under a kept-copy name; undo writes the most recent kept copy
// back over the live document, but only while the live document still
// holds the backup's bytes, that is the version the restore wrote. The
// bytes undo replaces are kept like any restore's, under the next
// kept-copy name, and the kept copy it puts back stays where it is.

// ErrNothingToUndo is wrapped by the error of an undo that found nothing it
// may put back: the session has no kept copy, no live document, or no
// backup to tell what a restore wrote.
var ErrNothingToUndo = errors.New("nothing to undo")

// ErrNotRestoredVersion is wrapped by the error of an undo refused because
// the live document is not the version a restore wrote: it does not hold
// the backup's bytes (it was saved since, or never restored). It wraps
// store.ErrChanged.
var ErrNotRestoredVersion error = changedError("the live document is not the version a restore wrote")

// changedError is an error of its own that wraps store.ErrChanged, so
// that its message need not start with ErrChanged's.
type changedError string

func (e changedError) Error() string { return string(e) }
func (e changedError) Unwrap() error { return store.ErrChanged }

// UndoOptions tune Undo.
type UndoOptions struct {
	// DryRun reads and checks everything, and reports what Undo would do,
	// changing nothing.
	DryRun bool
}

// UndoStatus is what Undo found, and did, for one session.
type UndoStatus struct {
	// SessionID is the session's id.
	SessionID string `json:"session_id"`
	// LiveMessages is the live document's message count before the undo.
	LiveMessages Count `json:"live_messages"`
	// KeptKey is the kept copy put back (or that would be), the one a
	// restore made last; "" when there is none.
	KeptKey string `json:"kept_key"`
	// KeptMessages is KeptKey's message count.
	KeptMessages Count `json:"kept_messages"`
	// Undone is true when the live document now holds KeptKey's bytes.
	// With Err also set, the write was made but not confirmed durable.
	Undone bool `json:"undone"`
	// PreservedKey names where the live bytes the undo replaced are kept
	// (set when Undone is true or, after a failed write, while they are
	// still kept there).
	PreservedKey string `json:"preserved_key,omitempty"`
	// Error is Err's message, for JSON.
	Error string `json:"error,omitempty"`

	// Key is the live document's key and BackupKey its backup's.
	Key       string `json:"-"`
	BackupKey string `json:"-"`
	// Err is set when nothing may be undone (ErrNothingToUndo,
	// ErrNotRestoredVersion), a read failed, or the write did. Unless
	// Undone is set, the live document was left as it was, except where
	// Err says the write may have been made.
	Err error `json:"-"`
}

// MarshalJSON writes the status with its session id in the lossless form
// Status uses.
func (st UndoStatus) MarshalJSON() ([]byte, error) {
	type plain UndoStatus // without this method
	return jsonenc.Marshal(struct {
		plain
		SessionID escapedID `json:"session_id"`
	}{plain(st), escapedID(st.SessionID)})
}

func (st *UndoStatus) fail(err error) {
	st.Err = err
	st.Error = err.Error()
}

// Undo puts back the bytes the most recent restore of session id replaced:
// the kept copy with the highest number (<id>.json.replaced.N, else
// <id>.json.replaced) is written over the live document, only if the live
// document holds exactly the backup's bytes (same size and CRC-32C) — the
// version a restore writes — or the merge of that kept copy and the backup
// (Options.Merge; made again to be compared) and, on a store.Writer that reports versions,
// only over the version checked. The live bytes it replaces are kept under
// the next kept-copy name first, as a restore keeps them; the kept copy
// and the backup are not changed.
//
// The backup still has more messages than what Undo puts back, so a later
// recovery restores the session again unless its backup is moved away.
//
// The error is for an invalid id or a failed listing; anything confined to
// the session, such as a refusal, is in UndoStatus.Err.
func Undo(ctx context.Context, s store.Store, id string, opts UndoOptions) (UndoStatus, error) {
	if err := ValidateID(id); err != nil {
		return UndoStatus{}, err
	}
	j, keptSize, err := listSession(ctx, s, id)
	if err != nil {
		return UndoStatus{}, err
	}
	st := UndoStatus{SessionID: id, Key: j.Live, BackupKey: j.Backup, LiveMessages: NotCounted, KeptMessages: NotCounted}
	w := worker{s: s}
	w.undo(ctx, j, keptSize, opts, &st)
	return st, nil
}

func (w *worker) undo(ctx context.Context, j job, keptSize map[string]int64, opts UndoOptions, st *UndoStatus) {
	keptKey, ok := j.kept.Latest(j.Live)
	switch {
	case !ok:
		st.fail(fmt.Errorf("%w: %q has no kept copy %s*, so no restore replaced it", ErrNothingToUndo, j.Live, j.Live+PreservedSuffix))
		return
	case !j.hasLive:
		st.KeptKey = keptKey
		st.fail(fmt.Errorf("%w: live document %q is missing, so nothing was changed: %w", ErrNothingToUndo, j.Live, store.ErrNotExist))
		return
	case !j.hasBackup:
		st.KeptKey = keptKey
		st.fail(fmt.Errorf("%w: no backup %q tells what a restore wrote, so nothing was changed", ErrNothingToUndo, j.Backup))
		return
	}
	st.KeptKey = keptKey
	// Of the backup, only the count, size and checksum: it is compared,
	// never written.
	bakN, bak, err := w.count(ctx, j.Backup, j.backupSize, sumAll, nil)
	if err != nil {
		st.fail(fmt.Errorf("backup: %w", err))
		return
	}
	var live counted
	if st.LiveMessages, live, err = w.count(ctx, j.Live, j.liveSize, sumAll, nil); err != nil {
		st.fail(fmt.Errorf("live document: %w", err))
		return
	}
	// Last, so that its bytes stay in the worker's buffer for the write.
	var kept counted
	if st.KeptMessages, kept, err = w.count(ctx, keptKey, keptSize[keptKey], sumAll, w.kept.to(true, maxKept)); err != nil {
		st.fail(fmt.Errorf("kept copy: %w", err))
		return
	}
	if live.size != bak.size || live.crc != bak.crc {
		// Not the backup's bytes: the merge of the kept copy and the
		// backup (Options.Merge), or a save.
		merged, err := w.isMergeOf(ctx, j, keptKey, st.KeptMessages, kept, bakN, bak, live)
		switch {
		case err != nil:
			st.fail(fmt.Errorf("%w (it differs from the backup %q, and whether it is their merge could not be told: %w), so nothing was changed", ErrNotRestoredVersion, j.Backup, err))
			return
		case !merged:
			st.fail(fmt.Errorf("%w (it is neither the backup %q nor its merge with %q: saved since, or never restored), so nothing was changed", ErrNotRestoredVersion, j.Backup, keptKey))
			return
		}
	}
	if opts.DryRun {
		return
	}
	keep, linked, err := w.keep(ctx, j, live)
	if err != nil {
		err = fmt.Errorf("keep the live document before undoing, so nothing was undone: %w", err)
		if keep == "" {
			st.fail(err)
		} else { // made, but not confirmed durable
			w.undoFailed(ctx, j, keep, linked, err, st)
		}
		return
	}
	err = w.put(ctx, j.Live, keptKey, kept, store.WriteOptions{IfVersion: live.version})
	switch {
	case err == nil:
		st.Undone, st.PreservedKey = true, keep
		return
	case errors.Is(err, store.ErrNotDurable):
		st.Undone, st.PreservedKey = true, keep
		st.fail(fmt.Errorf("undone (the replaced bytes are kept as %q), but the store could not confirm it is durable, so a crash may revert it: %w", keep, err))
		return
	case errors.Is(err, store.ErrChanged):
		err = fmt.Errorf("the live document or the kept copy changed after it was read, so nothing was undone: %w", err)
	default:
		err = w.mayHaveBeenMade(ctx, j.Live, live, "undo", fmt.Errorf("undo: %w", err))
	}
	w.undoFailed(ctx, j, keep, linked, err, st)
}

// undoFailed records err in st once keep was made, after cleanUp has
// decided what becomes of keep.
func (w *worker) undoFailed(ctx context.Context, j job, keep string, linked bool, err error, st *UndoStatus) {
	err, stays := w.cleanUp(ctx, j, keep, linked, err)
	if stays {
		st.PreservedKey = keep
	}
	st.fail(err)
}

// isMergeOf tells whether live, the live document's bytes, are those a
// recovery with Options.Merge writes from the kept copy (then live) and
// the backup: the merge is made again, into a checksum only.
func (w *worker) isMergeOf(ctx context.Context, j job, keptKey string, keptN Count, kept counted, bakN Count, bak counted, live counted) (bool, error) {
	if keptN < 0 || bakN < 0 {
		return false, nil // a merge is of two sessions
	}
	was := j
	was.Live = keptKey
	d := decision{
		st:   Status{Key: keptKey, BackupKey: j.Backup, LiveMessages: keptN, BakMessages: bakN},
		live: kept, bak: bak,
	}
	cmp, err := w.compare(ctx, &d, true)
	if err != nil {
		return false, err
	}
	d.cmp = cmp
	switch {
	case bakN > keptN:
		d.st.Recommend = Restore
	case cmp.diff.Returning.Count > 0:
		d.st.Recommend = Merge
	default:
		return false, nil // nothing to merge: no merge was written
	}
	var sum sizedReader
	sum.sum = true
	if err := w.writeMerge(ctx, was, &d, &sum); err != nil {
		return false, err
	}
	return sum.n == live.size && sum.crc == live.crc, nil
}
