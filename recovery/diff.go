package recovery

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/c0fe5641/sessionrecovery/internal/messages"
)

// Diff is what restoring a session would change, message by message: the
// preview that Options.Diff adds to a session's Status, which also finds
// the sessions to merge (Merge). Messages are the
// same when their JSON values are equal: member order, white space and
// string escapes do not matter, numbers must be written the same way.
// They are matched as a multiset, in order: a message the live document
// holds twice and the backup once is dropped once, its later occurrence.
type Diff struct {
	// Returning are the backup's messages that the live document lacks:
	// a restore brings them back.
	Returning MessageRun `json:"returning"`
	// Dropped are the live document's messages that the backup lacks: a
	// restore takes them out of the session (the kept .replaced copy
	// still holds them).
	Dropped MessageRun `json:"dropped"`
	// Error says why the preview could not be made (a document that
	// changed since it was counted, or is not standard JSON: Python's
	// NaN and Infinity are not); the counts are then zero. A failed
	// preview does not change the session's outcome.
	Error string `json:"error,omitempty"`
}

// MessageRun is a group of messages: how many, and the first and last of
// them, abbreviated.
type MessageRun struct {
	Count int           `json:"count"`
	First *MessageBrief `json:"first,omitempty"`
	Last  *MessageBrief `json:"last,omitempty"`
}

// MessageBrief is a message, abbreviated.
type MessageBrief struct {
	// Index is the message's position in its document's messages array,
	// from 0.
	Index int `json:"index"`
	// Role is its "role" member, when that is a string.
	Role string `json:"role,omitempty"`
	// Start is the start of its content (its "content" member when that
	// is a string, else the JSON of that member or of the message), on
	// one line, at most BriefRunes runes and "…".
	Start string `json:"start"`
}

// BriefRunes is the most runes of a message's content a MessageBrief holds.
const BriefRunes = 60


func (r *MessageRun) add(m messages.Message) {
	r.Count++
	b := &MessageBrief{Index: m.Index, Role: m.Role(), Start: m.Start(BriefRunes)}
	if r.First == nil {
		r.First = b
	}
	r.Last = b
}

// diff compares the messages of the live document and the backup that
// decide counted, reading each again; a read that does not give the
// bytes counted (the document changed since) fails the preview. The
// backup is read twice and the live document once; memory holds one
// message at a time and 16 bytes and a count for each distinct message.
func (w *worker) diff(ctx context.Context, d *decision) *Diff {
	diff, err := w.compare(ctx, d)
	if err != nil {
		return &Diff{Error: err.Error()}
	}
	return diff
}

func (w *worker) compare(ctx context.Context, d *decision) (*Diff, error) {
	st := &d.st
	// Pass 1: how many times the backup holds each message.
	inBackup := map[messages.ID]int{}
	if err := w.eachMessage(ctx, st.BackupKey, d.bak, func() { clear(inBackup) }, func(m messages.Message) error {
		inBackup[m.ID()]++
		return nil
	}); err != nil {
		return nil, err
	}
	// Pass 2: the live messages beyond the backup's occurrences of them
	// are dropped.
	var diff Diff
	inLive := map[messages.ID]int{}
	if err := w.eachMessage(ctx, st.Key, d.live, func() { clear(inLive); diff.Dropped = MessageRun{} }, func(m messages.Message) error {
		id := m.ID()
		inLive[id]++
		if inLive[id] > inBackup[id] {
			diff.Dropped.add(m)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// Pass 3: the backup's messages beyond the live occurrences return.
	seen := map[messages.ID]int{}
	if err := w.eachMessage(ctx, st.BackupKey, d.bak, func() { clear(seen); diff.Returning = MessageRun{} }, func(m messages.Message) error {
		id := m.ID()
		seen[id]++
		if seen[id] > inLive[id] {
			diff.Returning.add(m)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return &diff, nil
}

// eachMessage reads the messages of the document at key, which must be
// the bytes c counted.
func (w *worker) eachMessage(ctx context.Context, key string, c counted, reset func(), fn func(messages.Message) error) error {
	rc, err := w.s.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("read %q: %w", key, err)
	}
	defer rc.Close()
	r := &sizedReader{r: rc, sum: true}
	err = messages.Each(r, reset, fn)
	if err == nil {
		_, err = io.Copy(io.Discard, r)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil && (r.n != c.size || r.crc != c.crc) {
		err = errors.New("it changed since it was counted")
	}
	if err != nil {
		return fmt.Errorf("read %q: %w", key, err)
	}
	return nil
}
