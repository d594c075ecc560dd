package recovery

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The count-and-decide stage: read what a job needs, count its messages,
// and decide what to do. Nothing is written here.

// action is what deciding chose to do with a job.
type action int

const (
	leave         action = iota // report only
	restoreLive                 // keep the live bytes, then restore the backup over them
	restoreOrphan               // write the backup where the live document is missing
	mergeLive                   // keep the live bytes, then write the merge of both over them
)

// decision is what counting found and chose for one job: the status as
// far as reading goes, the action, and which bytes were counted, so that
// acting writes only those.
type decision struct {
	st        Status
	act       action
	live, bak counted
	cmp       *comparison // with Options.Diff or Merge, when both are sessions
	cmpErr    error       // why comparing them failed
}

// counted identifies the bytes a count read: a write made from them later
// is made only from exactly these.
type counted struct {
	version string // "" when the store does not tell
	size    int64
	crc     uint32 // CRC-32C of the bytes, when asked for
	// body holds the bytes themselves when they were kept (up to maxKept);
	// nil otherwise. It is the worker's buffer, valid until its next count.
	body []byte
}

// maxKept bounds the backup bytes a worker keeps from its read, so that a
// restore through store.Writer need not read the backup a second time.
// Larger backups are read again, and checked against the count.
const maxKept = 1 << 20

// maxKeptLive bounds the live bytes a worker keeps from its read when it
// may restore on a bucket, so that the copy kept of them need not read the
// live document again: a restore then reads each document once, two GETs. A shrunk live document is the smaller of the two, so the bound
// is lower: a worker keeps at most 1.25 MiB.
const maxKeptLive = 256 << 10

// worker handles jobs one at a time, reusing its counter's and its kept
// bytes' buffers. Its buffers are allocated when first used.
type worker struct {
	s       store.Store
	opts    Options
	counter msgcount.Counter
	kept    keptBytes // the backup's bytes
	live    keptBytes // the live document's bytes
	read    sizedReader
}

// handle decides what to do with j, then does it.
func (w *worker) handle(ctx context.Context, j job) Status {
	d := w.decide(ctx, j)
	w.act(ctx, j, &d)
	return d.st
}

func newStatus(j job) Status {
	st := Status{
		SessionID:    j.ID,
		Key:          j.Live,
		BackupKey:    j.Backup,
		LiveMessages: NotCounted,
		BakMessages:  NotSession, // no backup, until one is read
	}
	if j.hasBackup {
		st.BakMessages = NotCounted
	}
	return st
}

// decide reads and counts what j needs, and chooses its action.
func (w *worker) decide(ctx context.Context, j job) decision {
	d := decision{st: newStatus(j)}
	st := &d.st
	restoring := !w.opts.DryRun
	var err error
	switch {
	case j.orphan():
		st.LiveMessages, st.Recommend = NotSession, NoAction
		restoring = restoring && w.opts.RestoreOrphans
		_, canWrite := w.s.(store.Writer)
		if st.BakMessages, d.bak, err = w.count(ctx, j.Backup, j.backupSize, sumIf(restoring), w.kept.to(restoring && canWrite, maxKept)); err != nil {
			st.fail(fmt.Errorf("backup: %w", err))
			return d
		}
		if st.BakMessages != NotSession {
			st.Recommend = Restore
			if restoring {
				d.act = restoreOrphan
			}
		}
	case !j.hasBackup:
		st.Recommend = NoBackup
		if w.opts.CountAll {
			if st.LiveMessages, _, err = w.count(ctx, j.Live, j.liveSize, sumNone, nil); err != nil {
				st.fail(fmt.Errorf("live document: %w", err))
			}
		}
	default:
		st.Recommend = NoAction
		preview := w.opts.Diff || w.opts.Merge
		// A preview checks that it reads the bytes counted; a restore,
		// that it writes them.
		sum := sumSession
		if restoring {
			sum = sumAll
		} else if !preview {
			sum = sumNone
		}
		_, canWrite := w.s.(store.Writer)
		keepLive := restoring && canWrite && store.IsRemote(w.s)
		if st.LiveMessages, d.live, err = w.count(ctx, j.Live, j.liveSize, sum, w.live.to(keepLive, maxKeptLive)); err != nil {
			st.fail(fmt.Errorf("live document: %w", err))
			return d
		}
		if st.BakMessages, d.bak, err = w.count(ctx, j.Backup, j.backupSize, sum, w.kept.to(restoring, maxKept)); err != nil {
			st.fail(fmt.Errorf("backup: %w", err))
			return d
		}
		if preview && st.LiveMessages >= 0 && st.BakMessages >= 0 {
			cmp, err := w.compare(ctx, &d, w.opts.Merge)
			if err != nil {
				st.Diff, d.cmpErr = &Diff{Error: err.Error()}, err
			} else {
				d.cmp, st.Diff = cmp, &cmp.diff
			}
		}
		if st.BakMessages > st.LiveMessages {
			st.Recommend = Restore
		} else if st.Diff != nil && st.Diff.Returning.Count > 0 {
			st.Recommend = Merge
		}
		if restoring {
			d.act = w.writeFor(&d)
		}
	}
	return d
}

// count reads the document at key whole and counts its messages, and says
// which bytes it counted. size is the size the listing gave: a read that
// reaches its end at any other length failed, whatever the reader said.
// sum says which bytes are checksummed, for a write or a preview made from
// them later; with keep, they are kept in it as well (up to its limit). An error means the
// read failed; the count is then NotCounted.
func (w *worker) count(ctx context.Context, key string, size int64, sum checksum, keep *keptBytes) (Count, counted, error) {
	rc, err := w.s.Open(ctx, key)
	if err != nil {
		return NotCounted, counted{}, err
	}
	version := store.Version(rc)
	w.read = sizedReader{r: rc, sum: sum != sumNone}
	var r io.Reader = &w.read
	if keep != nil {
		r = io.TeeReader(r, keep)
	}
	n, err := w.counter.Count(r)
	if err == nil && !w.read.eof && (sum == sumAll || sum == sumSession && n != msgcount.NotSession) {
		// The counter stops at the first bytes that are not a session; a
		// copy made from this document later is checked against all of it.
		_, err = io.Copy(io.Discard, r)
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
	c := counted{version: version, size: w.read.n, crc: w.read.crc}
	if body, ok := keep.whole(); ok {
		c.body = body
	}
	return Count(n), c, nil
}

// checksum is what count checksums.
type checksum int

func sumIf(write bool) checksum {
	if write {
		return sumAll
	}
	return sumNone
}

const (
	sumNone    checksum = iota
	sumSession          // a document that is a session, for a preview of it
	sumAll              // every document, for a write made from it
)

// ErrShortRead is wrapped by a session's error when a read ended before or
// after the size the listing gave: the transport cut it short, or the
// object changed while it was read. Its count was not trusted.
var ErrShortRead = errors.New("object size mismatch")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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

// Write counts and sums p, as reading it would: a sizedReader without a
// reader is a checksum of what is written to it.
func (s *sizedReader) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	s.crc = crc32.Update(s.crc, castagnoli, p)
	return len(p), nil
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

// keptBytes keeps the first bytes written to it, up to its limit, and
// remembers whether that was all of them.
type keptBytes struct {
	buf   []byte
	limit int
	over  bool
}

// to empties k for a count that keeps up to limit bytes in it, and
// returns it; nil, for a count that keeps nothing, without keep.
func (k *keptBytes) to(keep bool, limit int) *keptBytes {
	if !keep {
		return nil
	}
	if cap(k.buf) > keptRetain {
		k.buf = nil // a large document's buffer is not held for the next
	}
	k.buf, k.limit, k.over = k.buf[:0], limit, false
	return k
}

// keptRetain is the largest buffer a worker keeps from one count to the
// next: most documents fit in it, and the few large ones do not leave
// each of hundreds of workers holding a megabyte.
const keptRetain = 64 << 10

func (k *keptBytes) Write(p []byte) (int, error) {
	if !k.over {
		if len(k.buf)+len(p) > k.limit {
			k.over, k.buf = true, k.buf[:0]
		} else {
			k.buf = append(k.buf, p...)
		}
	}
	return len(p), nil
}

// whole returns the kept bytes if they are the whole document; nil k
// kept none.
func (k *keptBytes) whole() ([]byte, bool) {
	if k == nil || k.over {
		return nil, false
	}
	return k.buf, true
}
