package recovery

import (
	"context"
	"fmt"
	"io"

	"github.com/c0fe5641/sessionrecovery/internal/messages"
)

// Diff is what restoring a session would change, message by message: the
// preview that Options.Diff adds to a session's Status, which also finds
// the sessions to merge (Merge).
//
// Messages are the same when their JSON values are equal: member order,
// white space and string escapes do not matter. Where equality is in
// doubt they differ, so that a merge keeps both rather than lose one:
// numbers are compared as written (1 and 1.0 differ). A lone UTF-16
// surrogate escape is itself (not U+FFFD), and NaN equals NaN. A message
// edited in place (a reply
// regenerated, a member added) is another message: its old version
// returns, its new one is dropped, and a session whose live document
// holds as many messages as its backup or more then advises Merge.
//
// Messages are matched as a multiset, in order: a message the live
// document holds twice and the backup once is dropped once, its later
// occurrence. The JSON keys are in sorted order, as in the rest of the
// report.
type Diff struct {
	// Dropped are the live document's messages that the backup lacks: a
	// restore takes them out of the session (the kept .replaced copy
	// still holds them); a merge keeps them.
	Dropped MessageRun `json:"dropped"`
	// Error says why the preview could not be made (a document that
	// changed since it was counted, or a read that failed); the counts are
	// then zero. A failed preview does not change the session's advice,
	// but a merge is not made without one.
	Error string `json:"error,omitempty"`
	// Returning are the backup's messages that the live document lacks:
	// a restore, or a merge, brings them back.
	Returning MessageRun `json:"returning"`
}

// MessageRun is a group of messages: how many, and the first and last of
// them, abbreviated.
type MessageRun struct {
	Count int           `json:"count"`
	First *MessageBrief `json:"first,omitempty"`
	Last  *MessageBrief `json:"last,omitempty"`

	last messages.Message // the last one so far, briefed when the run is whole
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

func brief(m messages.Message) *MessageBrief {
	role, start := m.Brief(BriefRunes)
	return &MessageBrief{Index: m.Index, Role: role, Start: start}
}

func (r *MessageRun) add(m messages.Message) {
	r.Count++
	if r.First == nil {
		r.First = brief(m)
	}
	r.last = m
}

// done briefs the last message of the run.
func (r *MessageRun) done() {
	if r.Count > 0 {
		r.Last = brief(r.last)
	}
	r.last = messages.Message{}
}

// comparison is what comparing a session's two documents found: the
// preview, and what a merge writes from.
type comparison struct {
	diff      Diff
	bak, live messages.Layout
	dropped   []span // where the dropped messages lie in the live document, when asked for
}

// span is where a message lies in its document.
type span struct{ at, n int64 }

// tally is what comparing knows of one distinct message of the backup.
type tally struct {
	bak     uint32 // occurrences in the backup
	matched uint32 // of those, matched by an occurrence in the live document
	seen    uint32 // occurrences met on the backup's second reading
}

// compare compares the messages of the live document and the backup that
// decide counted, reading each again; a read that does not give the bytes
// counted (the document changed since) fails it. The backup is read twice
// and the live document once. Memory holds one message at a time (two
// while a run's last is kept), a 16-byte hash and three counts for each
// distinct message of the backup, and, with spans, 16 bytes for each
// dropped message.
func (w *worker) compare(ctx context.Context, d *decision, spans bool) (*comparison, error) {
	st := &d.st
	c := &comparison{}
	tallies := map[messages.ID]tally{}
	// Pass 1: how many times the backup holds each message.
	var err error
	c.bak, err = w.eachMessage(ctx, st.BackupKey, d.bak, func() { clear(tallies) }, func(m messages.Message) error {
		id := m.ID()
		t := tallies[id]
		t.bak++
		tallies[id] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Pass 2: each live message takes the next unmatched occurrence of it
	// in the backup; those left without one are dropped.
	diff := &c.diff
	c.live, err = w.eachMessage(ctx, st.Key, d.live, func() {
		resetTallies(tallies, func(t *tally) { t.matched = 0 })
		diff.Dropped, c.dropped = MessageRun{}, nil
	}, func(m messages.Message) error {
		id := m.ID()
		if t, ok := tallies[id]; ok && t.matched < t.bak {
			t.matched++
			tallies[id] = t
			return nil
		}
		diff.Dropped.add(m)
		if spans {
			c.dropped = append(c.dropped, span{m.Offset, int64(len(m.Raw))})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	diff.Dropped.done()
	// Pass 3: the backup's occurrences beyond those matched return.
	if _, err := w.eachMessage(ctx, st.BackupKey, d.bak, func() {
		resetTallies(tallies, func(t *tally) { t.seen = 0 })
		diff.Returning = MessageRun{}
	}, func(m messages.Message) error {
		id := m.ID()
		t := tallies[id]
		t.seen++
		tallies[id] = t
		if t.seen > t.matched {
			diff.Returning.add(m)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	diff.Returning.done()
	return c, nil
}

// resetTallies applies zero to every tally, for a document whose
// "messages" member comes again (the last one counts); it writes only the
// tallies it changes, none at the first array.
func resetTallies(tallies map[messages.ID]tally, zero func(*tally)) {
	for id, t := range tallies {
		before := t
		if zero(&t); t != before {
			tallies[id] = t
		}
	}
}

// eachMessage reads the messages of the document at key, which must be
// the bytes c counted.
func (w *worker) eachMessage(ctx context.Context, key string, c counted, reset func(), fn func(messages.Message) error) (messages.Layout, error) {
	rc, err := w.s.Open(ctx, key)
	if err != nil {
		return messages.Layout{}, fmt.Errorf("read %q: %w", key, err)
	}
	r := &sizedReader{r: rc, sum: true}
	l, err := messages.Each(r, reset, fn)
	if err == nil {
		_, err = io.Copy(io.Discard, r)
	}
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil && (r.n != c.size || r.crc != c.crc) {
		err = fmt.Errorf("it changed since it was counted: %w", errNotCounted)
	}
	if err != nil {
		return messages.Layout{}, fmt.Errorf("read %q: %w", key, err)
	}
	return l, nil
}
