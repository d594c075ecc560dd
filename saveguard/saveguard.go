// Package saveguard is the save path of an application that keeps its chat
// sessions in a store.Writer, the half of the protection loop that runs
// before package recovery does:
//
//   - Save writes a session. When the stored document has more messages
//     than the new one, and more than the backup holds, it first copies
//     the stored bytes to the backup, so that a bug that shrinks a session
//     can be undone by recovery.
//   - Shrink writes a session that is meant to have fewer messages (the
//     user cleared, compressed or undid it) and retires its backup, so
//     that recovery does not roll the user's decision back.
//   - Delete removes a session and its backup, so that neither recovery nor
//     an orphan restore (recovery.Options.RestoreOrphans) brings it back.
//
// Sessions are named as recovery names them: id "chat" is kept under
// "chat.json" (Key) and its backup under "chat.json.bak" (BackupKey); ids
// are checked with recovery.ValidateID.
//
// # The backup is the high-water mark
//
// A backup is only ever replaced by a document with more messages, until
// Shrink or Delete retires it. After a cascade of shrinking saves (1,000
// messages, then a bug's 10, then 5) the backup still holds the 1,000, and
// recovery brings them back. To decide, a shrinking Save reads the backup
// whole and counts its messages; it writes the backup only if the stored
// document has more, and only if the backup is still as it read it
// (IfVersion, or IfNotExist when there was none). So two Saves at once
// cannot lower it, and a Shrink or Delete that retired it meanwhile is not
// undone: the Save fails with store.ErrChanged, having written nothing. A
// backup that cannot be read is never taken for none: the Save fails and
// writes nothing. One that reads whole (checked against the listing) as
// not a session is replaced.
//
// A failed Save changes nothing recovery relies on. When the live write is
// refused (store.ErrChanged: someone saved, shrank or deleted the session
// since Save read it), a backup that Save created where there was none is
// removed again, if it still holds what Save wrote, since the winner may be
// a Shrink or Delete that found no backup to retire; if that fails, the
// error says so and names the backup. A backup that existed and that Save
// raised stays raised: a Shrink or Delete retires the backup before it
// writes, so one that ran meanwhile made the raise fail or removed the
// raised backup itself, and what remains is a document that was live, with
// more messages, which a concurrent shrinking Save may rely on. After
// any other failure of the live write the raised backup is left as it is:
// the write may have landed (a lost response), and the backup, a copy of
// the document that was live, is then what recovery needs; if it did not
// land, live document and backup hold the same bytes, the state a crash
// between the steps leaves, and recovery has nothing to do.
//
// The cost: a save that keeps or grows the count reads the live document
// and writes it, and never reads the backup. A shrinking save also reads
// the backup (one read, and one List when it reads as not a session), and
// writes it only when it raises it. Removing a backup it created, after a
// refused live write, reads it once more and deletes it once (a store that
// refuses conditional deletes is asked again, unconditionally).
//
// # Crash safety
//
// Each operation is a backup step and a live step, ordered so that a
// process that dies between them leaves a state recovery handles correctly:
//
//   - Save writes the backup first, then the live document: a crash in
//     between leaves the old document live with an identical backup, and
//     recovery has nothing to do. When the backup already holds as many
//     messages or more, the live write is the only step.
//   - Shrink deletes the backup first, then writes the live document: a
//     crash in between leaves the old, larger document live without a
//     backup, and recovery has nothing to do; the shrink did not happen and
//     can be retried. The other order could leave the new document beside a
//     larger backup, which recovery would restore.
//   - Delete deletes the backup first, then the live document: a crash in
//     between leaves the live document without a backup; the delete can be
//     retried. The other order could leave an orphan backup, which
//     recovery.Options.RestoreOrphans would restore.
//
// # Concurrent writers
//
// Save and Shrink read the stored document's version (store.Versioned) and
// write the live document only if it still has that version
// (store.WriteOptions.IfVersion), or only if it still does not exist
// (IfNotExist) when there was none. If someone saved the session in
// between, nothing is overwritten and the error wraps store.ErrChanged: read
// the session again and retry. A store that reports no version ("") cannot
// make that check: the live document is then written unconditionally, and
// so is a backup that exists, so that there a session is safe only with
// one writer at a time (IfNotExist still guards a backup's creation).
// Delete is unconditional: deleting is the user's explicit decision, and
// not every store supports conditional deletes.
//
// Each operation is two writes that cannot be made atomic together, so
// some interleavings with another writer of the same session remain:
//
//   - Save creates the backup, another writer shrinks or deletes the
//     session, and Save dies (or fails to remove the backup) before it
//     removes it: the copy of the document that was live is left beside
//     the other writer's, and recovery restores it if that has fewer
//     messages. A failure says so in Save's error; shrink again.
//   - A store that refuses conditional deletes (backends/blobstore) has
//     Save remove a backup it had created a moment after comparing its
//     bytes, unconditionally: a backup another Save
//     raised in that moment is removed with it.
//   - Two shrinking Saves at once on a session without a backup: if the
//     one whose live write is refused had created the backup, and the
//     other read it and so wrote none of its own, removing it leaves the
//     other's shrink without a backup.
//   - A Shrink that fails with ErrChanged may have retired the backup
//     already, and a Delete that runs between a shrinking Save's backup
//     and live writes leaves the Save's backup as an orphan, which
//     recovery.Options.RestoreOrphans would restore.
package saveguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/c0fe5641/sessionrecovery/internal/sessionname"
	"github.com/c0fe5641/sessionrecovery/msgcount"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// ErrNotSession is wrapped by the error for a document that is not a
// session (msgcount.NotSession: not a JSON object with a "messages" array).
// Such a document is never written.
var ErrNotSession = errors.New("document is not a session (a JSON object with a \"messages\" array)")

// Key is the key of session id's live document: id + ".json".
func Key(id string) string { return sessionname.ForID(id).Live }

// BackupKey is the key of session id's backup: Key(id) + ".bak".
func BackupKey(id string) string { return sessionname.ForID(id).Backup }

// Guard saves, shrinks and deletes the sessions of one store. It is safe
// for concurrent use if its store is; operations on one session by several
// callers are serialised by the store's version checks, not by the Guard.
type Guard struct {
	s store.Writer
}

// New returns a Guard over s. s must not be nil.
func New(s store.Writer) *Guard {
	return &Guard{s: s}
}

// Save writes document as session id's live document, whole, and keeps a
// backup when that would lose messages: if the stored document has more
// messages than document, and more than the backup holds, its bytes
// (exactly those read) are first written to BackupKey(id). A backup with
// as many messages or more is left as it is, so that it stays the largest
// document the session had (see the package doc). A save that keeps or
// grows the count writes no backup, reads none, and leaves an existing one
// as it is. A missing session is created, only if no one creates it
// meanwhile.
//
// A document that is not a session, or an invalid id, is refused with an
// error wrapping ErrNotSession or recovery.ErrInvalidID, and nothing is
// changed. If the stored document or the backup changed since Save read
// it, the live document is not written, the backup is as it was or raised
// (Save removes one it had created), and the error wraps store.ErrChanged;
// an error that also says the backup could not be put back names it. Any other
// failure of the live write leaves a backup Save wrote as it is, and says
// so (see the package doc). A stored
// document or backup that cannot be read is never taken as missing or
// empty: Save fails and writes nothing. One that reads as not a session is
// checked against the store's listing (one List call), so that a read cut
// short without an error is not mistaken for it; such a stored document
// gets no backup, since recovery never restores one, and such a backup is
// replaced.
func (g *Guard) Save(ctx context.Context, id string, document []byte) error {
	n, err := check(id, document)
	if err != nil {
		return opError("save", id, err)
	}
	cur, err := g.read(ctx, Key(id), true)
	if err != nil {
		return opError("save", id, err)
	}
	var raised *stored // what the backup held before this save wrote over it
	if cur.exists {
		had := msgcount.CountBytes(cur.body)
		if had == msgcount.NotSession {
			// A read cut short without an error reads as a document that
			// is not a session: believe that only if the bytes are all
			// there, since no backup is made of it.
			if err := g.checkWhole(ctx, Key(id), len(cur.body)); err != nil {
				return opError("save", id, err)
			}
		}
		if had > n {
			if raised, err = g.raise(ctx, id, cur.body, had); err != nil {
				return opError("save", id, err)
			}
		}
	}
	if err := g.writeLive(ctx, id, document, cur); err != nil {
		if raised != nil {
			err = g.withdraw(ctx, id, *raised, cur.body, err)
		}
		return opError("save", id, err)
	}
	return nil
}

// Shrink writes document as session id's live document and retires its
// backup, for a save that is meant to have fewer messages: the user
// cleared, compressed or undid the session. After it, recovery has nothing
// to roll back. The backup is deleted first and the document written
// second, so a crash in between leaves the old document live without a
// backup: the shrink did not happen, and recovery changes nothing.
//
// The backup is discarded whatever it holds, including one that recovery
// has not yet restored: run recovery at startup, before users act.
//
// Shrink refuses what Save refuses, and reports a concurrent save as Save
// does (the backup may then be gone already; the session as saved by the
// other writer is left as it is).
func (g *Guard) Shrink(ctx context.Context, id string, document []byte) error {
	if _, err := check(id, document); err != nil {
		return opError("shrink", id, err)
	}
	cur, err := g.read(ctx, Key(id), false)
	if err != nil {
		return opError("shrink", id, err)
	}
	if err := g.deleteIfExists(ctx, BackupKey(id)); err != nil {
		return opError("shrink", id, fmt.Errorf("retire the backup first (nothing was written): %w", err))
	}
	if err := g.writeLive(ctx, id, document, cur); err != nil {
		return opError("shrink", id, err)
	}
	return nil
}

// Delete removes session id's backup, then its live document, so that no
// recovery brings the session back; a crash in between leaves the live
// document without a backup, and Delete can be retried. Missing documents
// are not an error: deleting a deleted session succeeds. The delete is
// unconditional: it wins over a concurrent save. Copies that recovery kept
// of replaced documents (recovery.PreservedSuffix) are left alone; recovery
// never restores them.
func (g *Guard) Delete(ctx context.Context, id string) error {
	if err := sessionname.ValidateID(id); err != nil {
		return opError("delete", id, err)
	}
	if err := g.deleteIfExists(ctx, BackupKey(id)); err != nil {
		return opError("delete", id, fmt.Errorf("delete the backup first (the session was left as it was): %w", err))
	}
	if err := g.deleteIfExists(ctx, Key(id)); err != nil {
		return opError("delete", id, fmt.Errorf("backup deleted, live document not (retry the delete): %w", err))
	}
	return nil
}

// check validates id and document and returns document's message count.
func check(id string, document []byte) (int, error) {
	if err := sessionname.ValidateID(id); err != nil {
		return 0, err
	}
	n := msgcount.CountBytes(document)
	if n == msgcount.NotSession {
		return 0, ErrNotSession
	}
	return n, nil
}

// stored is what a Guard read of a session's live document or backup.
type stored struct {
	exists  bool
	version string // "" when the store does not tell
	body    []byte // read only when asked
}

// read opens key and notes its version, and its bytes when body is set.
func (g *Guard) read(ctx context.Context, key string, body bool) (stored, error) {
	rc, err := g.s.Open(ctx, key)
	if errors.Is(err, store.ErrNotExist) {
		return stored{}, nil
	}
	if err != nil {
		return stored{}, fmt.Errorf("read %q: %w", key, err)
	}
	cur := stored{exists: true, version: store.Version(rc)}
	if body {
		cur.body, err = io.ReadAll(rc)
	}
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return stored{}, fmt.Errorf("read %q: %w", key, err)
	}
	return cur, nil
}

// checkWhole checks that the object at key has size n, as the listing
// tells it.
func (g *Guard) checkWhole(ctx context.Context, key string, n int) error {
	size := int64(-1)
	err := g.s.List(ctx, key, func(o store.Object) error {
		if o.Key == key {
			size = o.Size
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %q to check its read was whole: %w", key, err)
	}
	if size != int64(n) {
		return fmt.Errorf("read %q: %w: read %d bytes where the listing says %d (cut short, or changed while read), so nothing was written", key, recovery.ErrShortRead, n, size)
	}
	return nil
}

// raise makes session id's backup a copy of live, the stored document
// of had messages that a save with fewer is about to replace, unless the
// backup already holds as many messages or more: a backup is only ever
// replaced by a larger document. It writes only if the backup is still as
// it read it, so that a stale decision never lowers a backup another save
// raised meanwhile, nor brings back one a Shrink or Delete retired. It
// returns what the backup held before, when it wrote over it; nil when it
// wrote nothing.
func (g *Guard) raise(ctx context.Context, id string, live []byte, had int) (*stored, error) {
	key := BackupKey(id)
	prev, err := g.read(ctx, key, true)
	if err != nil {
		// Never taken for "no backup": that could destroy the only copy.
		return nil, fmt.Errorf("%w, so nothing was saved", err)
	}
	if prev.exists {
		kept := msgcount.CountBytes(prev.body)
		if kept == msgcount.NotSession {
			// As for the live document: only a whole read is believed.
			if err := g.checkWhole(ctx, key, len(prev.body)); err != nil {
				return nil, err
			}
		}
		if kept >= had {
			return nil, nil
		}
	}
	// IfVersion "" on an existing backup: the store reports no versions,
	// and the write is unconditional.
	opts := store.WriteOptions{IfVersion: prev.version, IfNotExist: !prev.exists}
	err = g.s.Write(ctx, key, bytes.NewReader(live), opts)
	switch {
	case refused(err, opts):
		return nil, fmt.Errorf("%q changed since it was read (by another save, shrink or delete?), so nothing was saved; read the session again and retry: %w", key, asChanged(err))
	case err != nil:
		return nil, fmt.Errorf("back up %q to %q before a save with fewer messages, so nothing was saved: %w", Key(id), key, err)
	}
	return &prev, nil
}

// writeLive writes document to session id's live document if it is still
// as cur saw it.
func (g *Guard) writeLive(ctx context.Context, id string, document []byte, cur stored) error {
	key := Key(id)
	var opts store.WriteOptions
	switch {
	case !cur.exists:
		opts.IfNotExist = true
	default:
		opts.IfVersion = cur.version // "" when unknown: an unconditional write
	}
	err := g.s.Write(ctx, key, bytes.NewReader(document), opts)
	switch {
	case refused(err, opts):
		return fmt.Errorf("%q changed since it was read (saved or deleted by someone else?), so it was left as it is; read it again and retry: %w", key, asChanged(err))
	case err != nil:
		return fmt.Errorf("write %q: %w", key, err)
	}
	return nil
}

// withdraw removes the backup this save created (there was none) as a
// copy of wrote, after the live write failed with werr: a Shrink or
// Delete that found no backup to retire may have won the race, and the
// backup would roll it back. It does so only when werr proves that nothing
// was written (ErrChanged: the store refused the write's condition), since
// a backup withdrawn after a write that did land would lose wrote's
// messages; and only if the backup still holds wrote, so that another
// writer's backup is left alone.
//
// A backup that existed and was raised stays raised: a Shrink or Delete
// retires a backup before it writes, so one that ran meanwhile either made
// the raise fail or removed the raised backup itself, and the raised
// backup is a document that was live with more messages, which a
// concurrent shrinking Save may be relying on. It returns werr, saying
// what became of the backup when it is not as it was.
func (g *Guard) withdraw(ctx context.Context, id string, prev stored, wrote []byte, werr error) error {
	key := BackupKey(id)
	if !errors.Is(werr, store.ErrChanged) {
		// A failed write may still have landed (a lost response): the
		// backup, a copy of what was live, is then what recovery needs.
		return fmt.Errorf("%w; the backup %q was left holding the document that was live, in case the write landed", werr, key)
	}
	if prev.exists {
		return fmt.Errorf("%w; the backup %q was raised to the document that was live, which has more messages than the one it held (a backup only grows)", werr, key)
	}
	// Even when the save was cancelled: this undoes the save's own change.
	if err := g.removeCreated(context.WithoutCancel(ctx), key, wrote); err != nil {
		return fmt.Errorf("%w; and the backup %q that this save had written could not be put back as it was (removed), so recovery may restore it over the other writer's save: %w", werr, key, err)
	}
	return werr
}

// removeCreated removes key, a backup this save created as a copy of
// wrote, if key still holds wrote. A key that holds anything else is
// another writer's, and is left alone.
func (g *Guard) removeCreated(ctx context.Context, key string, wrote []byte) error {
	now, err := g.read(ctx, key, true)
	if err != nil {
		return err
	}
	if !now.exists || !bytes.Equal(now.body, wrote) {
		if now.exists && len(now.body) < len(wrote) && bytes.HasPrefix(wrote, now.body) {
			return fmt.Errorf("read %q: %w: %d bytes, the start of the %d written", key, recovery.ErrShortRead, len(now.body), len(wrote))
		}
		return nil
	}
	opts := store.WriteOptions{IfVersion: now.version} // "" when unknown: unconditional
	err = g.s.Delete(ctx, key, opts)
	if errors.Is(err, errors.ErrUnsupported) && opts.IfVersion != "" {
		// A store that refuses conditional deletes (blobstore) deletes
		// unconditionally: key held wrote a moment ago.
		err = g.s.Delete(ctx, key, store.WriteOptions{})
	}
	if refused(err, opts) || errors.Is(err, store.ErrNotExist) {
		return nil // changed or removed since it was compared: not this save's any more
	}
	if errors.Is(err, store.ErrNotDurable) {
		return nil // removed, not yet confirmed durable: as a crash before the delete
	}
	return err
}

// refused says whether err is a store's refusal of opts' condition: the
// object changed, or (for IfVersion, on some stores) vanished. Nothing was
// written.
func refused(err error, opts store.WriteOptions) bool {
	return errors.Is(err, store.ErrChanged) ||
		(opts.IfVersion != "" && errors.Is(err, store.ErrNotExist))
}

// asChanged returns err, a refusal, wrapping store.ErrChanged.
func asChanged(err error) error {
	if errors.Is(err, store.ErrChanged) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrChanged, err)
}

// deleteIfExists deletes key; a missing key is not an error.
func (g *Guard) deleteIfExists(ctx context.Context, key string) error {
	err := g.s.Delete(ctx, key, store.WriteOptions{})
	if err != nil && !errors.Is(err, store.ErrNotExist) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

func opError(op, id string, err error) error {
	return fmt.Errorf("saveguard: %s session %q: %w", op, id, err)
}
