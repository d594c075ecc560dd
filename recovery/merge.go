package recovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The merge (Options.Merge): for a session to restore or to merge, the
// live document becomes the backup's messages followed by the live
// document's messages that the backup lacks (Diff.Dropped), in order. The
// rest of the document is one side's, byte for byte: the backup's when the
// backup has more messages (what a restore would give), the live
// document's when it has as many or more (the session the user went on
// with). Between the messages the two sides run into each other, it puts
// the separator that side writes between its first two messages (else the
// other side's, else a comma).
//
// It is written like a restore: the live bytes are kept first, then the
// merge is written over the live version counted, from second reads of
// the two documents that must give the bytes counted, and it is counted
// itself on its way to the store: a merge that would not be a session of
// exactly the expected messages is never written.
//
// Memory holds, beyond fixed buffers, the comparison's (see compare): 16
// bytes and a count for each distinct message of the backup, 16 bytes for
// each dropped message, and one message at a time. The documents pass
// through; neither is held.

// writeFor chooses the write a restoring run makes for a session whose two
// documents were counted, given its advice; it fails st when a merge is
// asked for and cannot be made.
func (w *worker) writeFor(d *decision) action {
	st := &d.st
	switch {
	case !w.opts.Merge:
		if st.Recommend == Restore {
			return restoreLive
		}
		return leave
	case d.cmpErr != nil:
		// Whether to merge, or what, cannot be told: a document changed
		// since it was counted (saved meanwhile), or a read failed.
		st.fail(fmt.Errorf("the two documents could not be compared, so nothing was merged or restored: %w", d.cmpErr))
		return leave
	case st.Recommend != Restore && st.Recommend != Merge:
		return leave
	case st.LiveMessages == NotSession:
		return restoreLive // nothing in the live document to merge
	case d.cmp == nil:
		return leave // not two sessions: nothing was compared
	case st.Recommend == Restore && d.cmp.diff.Dropped.Count == 0:
		return restoreLive // the merge is the backup, byte for byte
	}
	if _, ok := w.s.(store.Writer); !ok {
		st.fail(errors.New("the store cannot write new bytes (it is not a store.Writer), so nothing was merged or restored"))
		return leave
	}
	return mergeLive
}

// putMerge writes the merge to the live key with opts' preconditions.
func (w *worker) putMerge(ctx context.Context, j job, d *decision, opts store.WriteOptions) error {
	wr := w.s.(store.Writer) // writeFor checked
	want := d.cmp.bak.Count + d.cmp.diff.Dropped.Count
	pr, pw := io.Pipe()
	made := make(chan struct{})
	go func() {
		defer close(made)
		pw.CloseWithError(w.writeMerge(ctx, j, d, pw))
	}()
	r := newCountingReader(pr, want)
	err := wr.Write(ctx, j.Live, r, opts)
	pr.CloseWithError(errors.New("the write ended")) // writeMerge stops, if it has not
	r.stop()
	<-made
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// writeMerge writes the merge to out, from second reads of the two
// documents.
func (w *worker) writeMerge(ctx context.Context, j job, d *decision, out io.Writer) error {
	c := d.cmp
	bak, err := reopen(ctx, w.s, j.Backup, d.bak)
	if err != nil {
		return fmt.Errorf("read %q again: %w", j.Backup, err)
	}
	defer bak.Close()
	live, err := reopen(ctx, w.s, j.Live, d.live)
	if err != nil {
		return fmt.Errorf("read %q again: %w", j.Live, err)
	}
	defer live.Close()
	b := &cursor{r: bak, key: j.Backup}
	l := &cursor{r: live, key: j.Live}

	kept, other := c.bak.Sep, c.live.Sep // the separators of the side kept and the other's
	if d.st.Recommend == Merge {
		kept, other = other, kept
	}
	sep := cmp.Or(string(kept), string(other), ",")
	// The dropped messages, each after a separator but where it is the
	// array's first.
	written := c.bak.Count
	dropped := func() error {
		for _, sp := range c.dropped {
			if err := l.skipTo(sp.at); err != nil {
				return err
			}
			if written > 0 {
				if _, err := io.WriteString(out, sep); err != nil {
					return err
				}
			}
			if err := l.copyTo(out, sp.at+sp.n); err != nil {
				return err
			}
			written++
		}
		return nil
	}
	if d.st.Recommend == Restore {
		// The backup's document, the dropped messages after its last.
		if err := b.copyTo(out, c.bak.End); err != nil {
			return err
		}
		if err := dropped(); err != nil {
			return err
		}
		if err := l.copyTo(io.Discard, -1); err != nil {
			return err
		}
		return b.copyTo(out, -1)
	}
	// The live document, the backup's messages before its dropped ones.
	if err := l.copyTo(out, c.live.First); err != nil {
		return err
	}
	if err := b.skipTo(c.bak.First); err != nil {
		return err
	}
	if err := b.copyTo(out, c.bak.End); err != nil {
		return err
	}
	if err := b.copyTo(io.Discard, -1); err != nil {
		return err
	}
	if err := dropped(); err != nil {
		return err
	}
	if err := l.skipTo(c.live.End); err != nil {
		return err
	}
	return l.copyTo(out, -1)
}

// cursor reads a document forward, by offsets.
type cursor struct {
	r   io.Reader
	key string
	at  int64
}

// copyTo copies the bytes up to offset to (to the end with -1) to w.
func (c *cursor) copyTo(w io.Writer, to int64) error {
	var err error
	var n int64
	if to < 0 {
		n, err = io.Copy(w, c.r)
	} else if to > c.at {
		n, err = io.CopyN(w, c.r, to-c.at)
		if err == io.EOF {
			err = fmt.Errorf("%w: it ended at byte %d", ErrShortRead, c.at+n)
		}
	}
	c.at += n
	if err != nil {
		return fmt.Errorf("read %q again: %w", c.key, err)
	}
	return nil
}

func (c *cursor) skipTo(to int64) error { return c.copyTo(io.Discard, to) }

// countingReader passes on the merge, counting its messages on the way,
// and ends it with an error, not io.EOF, unless it is a session of want
// messages.
type countingReader struct {
	r    io.Reader
	feed *io.PipeWriter
	done chan struct{} // closed once n is the count
	n    int
	want int
}

func newCountingReader(r io.Reader, want int) *countingReader {
	fr, fw := io.Pipe()
	c := &countingReader{r: r, feed: fw, done: make(chan struct{}), want: want}
	go func() {
		defer close(c.done)
		n, err := msgcount.Count(fr)
		if err != nil {
			n = msgcount.NotSession
		}
		fr.CloseWithError(io.ErrClosedPipe) // the feed's writes fail from now on
		c.n = n
	}()
	return c
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.feed.Write(p[:n]) // an error means the counter has its answer
	}
	if err == io.EOF {
		c.feed.Close()
		<-c.done
		if c.n != c.want {
			return n, fmt.Errorf("the merge would count %d messages, not %d: not written", c.n, c.want)
		}
	}
	return n, err
}

// stop ends the counter, if the merge ended early, and waits for it. A
// Read may still come, and ends at once.
func (c *countingReader) stop() {
	c.feed.CloseWithError(errors.New("the merge ended"))
	<-c.done
}
