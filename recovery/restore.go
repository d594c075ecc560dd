package recovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/c0fe5641/sessionrecovery/internal/sessionname"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The keep-and-restore stage: once counting has decided that a session's
// backup must come back, keep the live bytes under a fresh name, then write
// the backup's bytes over the live document. Every write is made only from
// the bytes that were counted (same version where the store tells it, same
// size and checksum always), never over a name that exists, and never over
// a live document someone saved since it was read.

// errNotCounted is wrapped by the error of a second read whose bytes are
// not the ones counted; it wraps store.ErrChanged.
var errNotCounted = fmt.Errorf("%w: its bytes are not the ones counted", store.ErrChanged)

// reopen opens key again for a write made from its bytes: only if the
// store reports the version counted (when it reports versions at all), and
// through a reader that fails, instead of ending, if the bytes are not the
// ones counted, so that a write from it is abandoned.
func reopen(ctx context.Context, s store.Store, key string, want counted) (io.ReadCloser, error) {
	rc, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	if v := store.Version(rc); v != "" && want.version != "" && v != want.version {
		rc.Close()
		return nil, fmt.Errorf("%w: %q is at version %s, not %s", errNotCounted, key, v, want.version)
	}
	return &checkedReader{read: sizedReader{r: rc, sum: true}, rc: rc, key: key, want: want}, nil
}

// checkedReader reads an object again and checks, before it reports the
// end, that it gave the bytes counted.
type checkedReader struct {
	read sizedReader // counts and sums, as the count did
	rc   io.ReadCloser
	key  string
	want counted
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.read.Read(p)
	switch got := &c.read; {
	case got.n > c.want.size:
		return n, fmt.Errorf("%w: %w: %q now has more than the %d bytes counted", errNotCounted, ErrShortRead, c.key, c.want.size)
	case !got.eof:
		return n, err
	case got.n != c.want.size:
		// Cut short, or changed: either way not the bytes counted.
		return n, fmt.Errorf("%w: %w: read %d bytes of %q where %d were counted", errNotCounted, ErrShortRead, got.n, c.key, c.want.size)
	case got.crc != c.want.crc:
		return n, fmt.Errorf("%w: %q changed since it was counted (CRC-32C %08x, counted %08x)", errNotCounted, c.key, got.crc, c.want.crc)
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.rc.Close() }

// act does what deciding chose, and records the outcome in d.st.
func (w *worker) act(ctx context.Context, j job, d *decision) {
	switch d.act {
	case restoreLive:
		w.keepAndWrite(ctx, j, d.live, &d.st, func(keep string) error {
			w.announce(d.st, keep, false)
			return w.putBackup(ctx, j, d.bak, store.WriteOptions{IfVersion: d.live.version})
		})
	case mergeLive:
		w.keepAndWrite(ctx, j, d.live, &d.st, func(string) error {
			return w.putMerge(ctx, j, d, store.WriteOptions{IfVersion: d.live.version})
		})
		d.st.Merged = d.st.Restored
	case restoreOrphan:
		w.restoreOrphan(ctx, j, d.bak, &d.st)
	}
}

// announce hands Options.BeforeRestore the status st will be if the
// restore about to be written lands, its replaced bytes kept as keep.
func (w *worker) announce(st Status, keep string, orphan bool) {
	if w.opts.BeforeRestore == nil {
		return
	}
	st.Restored, st.PreservedKey = true, keep
	w.opts.BeforeRestore(st, orphan)
}

// keepAndWrite keeps the live document's bytes, then makes write, the
// restore over them, given the name they are kept under.
func (w *worker) keepAndWrite(ctx context.Context, j job, live counted, st *Status, write func(keep string) error) {
	keep, linked, err := w.keep(ctx, j, live)
	if err != nil {
		err = fmt.Errorf("keep the live document before restoring, so nothing was restored: %w", err)
		if keep != "" { // made, but not confirmed durable
			w.failAfterKeep(ctx, j, keep, linked, err, st)
		} else {
			st.fail(err)
		}
		return
	}
	err = write(keep)
	if restored(err, st, fmt.Sprintf(" (the replaced bytes are kept as %q)", keep)) {
		st.PreservedKey = keep
		return
	}
	err = restoreError(err)
	if !errors.Is(err, store.ErrChanged) {
		err = w.mayHaveBeenMade(ctx, j.Live, live, "restore", err)
	}
	w.failAfterKeep(ctx, j, keep, linked, err, st)
}

// restoreOrphan writes the backup where the live document is missing,
// only if it is still missing: the listing is a moment old, and an
// application may have created it since. The new document gets the
// backup's permissions (and owner, on stores that have them), so that it
// is never more widely readable than the backup.
func (w *worker) restoreOrphan(ctx context.Context, j job, bak counted, st *Status) {
	w.announce(*st, "", true)
	err := w.putBackup(ctx, j, bak, store.WriteOptions{IfNotExist: true, PermOf: j.Backup})
	if !restored(err, st, "") {
		st.fail(restoreError(err))
	}
}

// restored records a restore that is in place — made, or made but not
// confirmed durable — and tells whether it is; what says where the
// replaced bytes are, for the message.
func restored(err error, st *Status, what string) bool {
	switch {
	case err == nil:
		st.Restored = true
	case errors.Is(err, store.ErrNotDurable):
		st.Restored = true
		st.fail(fmt.Errorf("restored from the backup%s, but the store could not confirm it is durable, so a crash may undo it: %w", what, err))
	}
	return st.Restored
}

// failAfterKeep records err in st once keep was made, after cleanUp has
// decided what becomes of keep.
func (w *worker) failAfterKeep(ctx context.Context, j job, keep string, linked bool, err error, st *Status) {
	err, kept := w.cleanUp(ctx, j, keep, linked, err)
	if kept {
		st.PreservedKey = keep
	}
	st.fail(err)
}

// keep gives the live document's bytes, as counted, a name of their own
// that no scan takes for a session: a second name for them where the store
// can link, else a copy, made only from the version counted and never over
// an existing name. A name taken since the listing makes it try the next.
// On failure, keep is the name it was making ("" if none could be made).
func (w *worker) keep(ctx context.Context, j job, live counted) (keep string, linked bool, err error) {
	names := j.kept
	for range maxKeepTries {
		name, ok := names.Take(j.Live)
		if !ok {
			return "", false, fmt.Errorf("every kept-copy name of %q up to %q is taken: move the old %s* copies away", j.Live, sessionname.LastKept(j.Live), j.Live+PreservedSuffix)
		}
		linked, err = w.keepAs(ctx, j, name, live)
		switch {
		case err == nil:
			return name, linked, nil
		case errors.Is(err, store.ErrNotDurable):
			return name, linked, err
		case !errors.Is(err, fs.ErrExist):
			return "", false, err
		}
	}
	return "", false, fmt.Errorf("%d kept-copy names of %q in a row were taken while recovery ran: %w", maxKeepTries, j.Live, err)
}

// maxKeepTries bounds the names keep tries when each turns out taken.
const maxKeepTries = 8

// keepAs makes name the kept copy of the live document; an error wrapping
// fs.ErrExist says that name is taken.
func (w *worker) keepAs(ctx context.Context, j job, name string, live counted) (linked bool, err error) {
	if l, ok := w.s.(store.Linker); ok {
		err := l.Link(ctx, name, j.Live, live.version)
		if !errors.Is(err, errors.ErrUnsupported) {
			return err == nil || errors.Is(err, store.ErrNotDurable), err
		}
	}
	wr, ok := w.s.(store.Writer)
	if !ok {
		// A plain Store offers no condition: the copy is of whatever the
		// live document holds now, over whatever name holds. Documented.
		return false, w.s.Replace(ctx, name, j.Live)
	}
	// On a bucket, the bytes counted, when they were kept and the store
	// has versions: a read fewer, and the restore's write is made only if
	// the live document is still the version counted. If it is not, this
	// copy is of the version counted, which nothing replaced; it stays
	// where the store cannot delete it on condition (a bucket), and the
	// session's error says so. Elsewhere the document is read again and checked against
	// the count first, which a local disk does at little cost, so that no
	// copy is made of a document that changed meanwhile.
	var src io.Reader
	if live.body != nil && live.version != "" && store.IsRemote(w.s) {
		src = bytes.NewReader(live.body)
	} else {
		rc, err := reopen(ctx, w.s, j.Live, live)
		if err != nil {
			return false, fmt.Errorf("read %q again to copy it: %w", j.Live, err)
		}
		defer rc.Close()
		src = rc
	}
	err = wr.Write(ctx, name, src, store.WriteOptions{IfNotExist: true, PermOf: j.Live})
	if errors.Is(err, store.ErrChanged) && !errors.Is(err, errNotCounted) {
		return false, fmt.Errorf("%w (%w)", err, fs.ErrExist)
	}
	return false, err
}

// putBackup writes the backup's bytes, as counted, to the live key with
// opts' preconditions. A plain Store has no preconditions: there it is a
// Replace, after a check that a missing live document is still missing.
func (w *worker) putBackup(ctx context.Context, j job, bak counted, opts store.WriteOptions) error {
	if _, ok := w.s.(store.Writer); !ok && opts.IfNotExist {
		if err := w.stillMissing(ctx, j.Live); err != nil {
			return err
		}
	}
	return w.put(ctx, j.Live, j.Backup, bak, opts)
}

// put writes the bytes of src, as counted, to dst with opts'
// preconditions: the bytes kept from counting src when they are whole,
// else src read again and checked against the count. A Writer that
// reports no versions writes unconditionally; the bytes written are still
// only those counted. On a plain Store it is a Replace, without
// preconditions.
func (w *worker) put(ctx context.Context, dst, src string, c counted, opts store.WriteOptions) error {
	wr, ok := w.s.(store.Writer)
	if !ok {
		return w.s.Replace(ctx, dst, src)
	}
	if c.body != nil {
		return wr.Write(ctx, dst, bytes.NewReader(c.body), opts)
	}
	rc, err := reopen(ctx, w.s, src, c)
	if err != nil {
		return fmt.Errorf("read %q again: %w", src, err)
	}
	defer rc.Close()
	return wr.Write(ctx, dst, rc, opts)
}

// stillMissing checks that key is still missing, on a store that cannot
// write conditionally: it leaves only a short window.
func (w *worker) stillMissing(ctx context.Context, key string) error {
	rc, err := w.s.Open(ctx, key)
	if err == nil {
		rc.Close()
		return fmt.Errorf("live document %q appeared during the run: %w", key, store.ErrChanged)
	}
	if errors.Is(err, store.ErrNotExist) {
		return nil
	}
	return err
}

// cleanUp decides what becomes of keep after the restore failed with err.
// A copy stays (it is harmless). A second name (a link) is removed only
// when the live document is provably still the same file, so that nothing
// but a redundant name goes; otherwise it may be the only name of the
// bytes that were live, and it stays. It returns err, saying what was
// kept, and whether keep is still there.
func (w *worker) cleanUp(ctx context.Context, j job, keep string, linked bool, err error) (_ error, kept bool) {
	if !linked {
		return fmt.Errorf("%w (the live document's bytes are kept in %q)", err, keep), true
	}
	wr, ok := w.s.(store.Writer)
	if !ok {
		return fmt.Errorf("%w (%q may be a second name for the live document, not a copy: check it, then delete it)", err, keep), true
	}
	// Even when the run was cancelled: this undoes the run's own change.
	ctx = context.WithoutCancel(ctx)
	liveV, lerr := versionOf(ctx, w.s, j.Live)
	keepV, kerr := versionOf(ctx, w.s, keep)
	if lerr != nil || kerr != nil || liveV == "" || liveV != keepV {
		return fmt.Errorf("%w (the bytes the live document held are kept in %q)", err, keep), true
	}
	derr := wr.Delete(ctx, keep, store.WriteOptions{IfVersion: keepV})
	if derr != nil && !errors.Is(derr, store.ErrNotDurable) { // not durable: removed all the same
		return fmt.Errorf("%w (%q, a second name for the live document, could not be removed: %v)", err, keep, derr), true
	}
	return err, false
}

// mayHaveBeenMade completes the error of a write (what, over key) that
// failed for another reason than a changed version. Over a network a
// write whose answer was lost may have been made, so unless key provably
// still holds the version counted, the error says that it may have been:
// because key changed, or because that could not be checked (the check's
// own failure, such as EMFILE, is not taken for a change).
func (w *worker) mayHaveBeenMade(ctx context.Context, key string, c counted, what string, err error) error {
	v, verr := versionOf(context.WithoutCancel(ctx), w.s, key)
	switch {
	case verr != nil:
		return fmt.Errorf("%w; whether the %s was made could not be checked (%v), so it may have been", err, what, verr)
	case v == "":
		return fmt.Errorf("%w; the store tells no versions, so whether the %s was made cannot be checked: it may have been", err, what)
	case v != c.version:
		return fmt.Errorf("%w; the live document is no longer the version read, so the %s may have been made", err, what)
	}
	return err
}

// versionOf opens key only to learn its version.
func versionOf(ctx context.Context, s store.Store, key string) (string, error) {
	rc, err := s.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	return store.Version(rc), nil
}

func restoreError(err error) error {
	if errors.Is(err, store.ErrChanged) {
		return fmt.Errorf("the live document or the backup changed after it was read (saved by someone else?), so nothing was restored: %w", err)
	}
	return fmt.Errorf("restore from backup: %w", err)
}
