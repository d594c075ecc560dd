package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The journal of --resume FILE: one line for each session and orphan a
// run reported, written as it is reported, so that a run stopped by a
// signal, a kill or a lost machine continues where it stopped. A run
// given the journal of an earlier run of the same command reports what
// that run finished from the journal, without reading those sessions
// again, then handles the rest; its report is the one an uninterrupted
// run would have given.
//
// The file is JSON lines: a header naming the command, the location and
// the flags that change the outcome, then an entry per status. Each entry
// is one write, so a killed process loses none it wrote; a machine that
// crashes may lose the last ones (the file is synced at the end of a run,
// not after each line), and those sessions are handled again, which finds
// a restore already made and does nothing. A torn last line is dropped.

// journalHeader identifies the run a journal belongs to.
type journalHeader struct {
	Journal  string `json:"journal"`
	Command  string `json:"command"`
	Location string `json:"location"`
	Flags    string `json:"flags"`
}

const journalMagic = "sessionrecovery resume journal 1"

// journalEntry is one status reported.
type journalEntry struct {
	Orphan bool `json:"orphan,omitempty"`
	// Cut marks a status that the end of the run cut short: not finished.
	Cut bool `json:"cut,omitempty"`
	// Early marks a status written as soon as its session was finished,
	// before its turn in the report: one that wrote to the store (a
	// restore, a kept copy), so that a run killed before that turn does
	// not make it again. Its turn writes it once more, without Early.
	Early bool `json:"early,omitempty"`
	// Intent marks a status written just before the write that restores
	// its session, as it will be if the write lands: a run killed after
	// the write and before its Early entry leaves only this. The next run
	// checks the store (the live document holding the backup's bytes says
	// the write landed) and finishes it, or handles the session again.
	Intent bool `json:"intent,omitempty"`
	// ID is the session id's bytes (base64 in JSON: an id is any bytes).
	ID        []byte          `json:"id"`
	Preserved []byte          `json:"preserved,omitempty"`
	Status    json.RawMessage `json:"status"`
}

// journal is an open --resume file.
type journal struct {
	f    *os.File
	name string
	mu   sync.Mutex // held by a write, made from many goroutines
	err  error      // the first write error

	// From the earlier run:
	pos      recovery.Position
	prefix   int64                 // the bytes of the entries reported in order
	finished []journalEntry        // the entries finished out of order
	orphans  []recovery.Status     // every orphan finished
	totals   recovery.Report       // of everything finished (Details and Orphans empty)
	progress recovery.Progress     // likewise
	replay   func(recovery.Status) // set by the sweep
	intents  []journalEntry        // restores announced, their outcome never written
	held     []recovery.Status     // finished out of order, waiting for their turn
	unlock   func()
}

// openJournal opens (or creates) the journal name for the run hdr
// describes, and reads what an earlier run finished.
func openJournal(name string, hdr journalHeader) (*journal, error) {
	hdr.Journal = journalMagic
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	j := &journal{f: f, name: name}
	unlock, err := lockJournal(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--resume %s: %w", name, err)
	}
	j.unlock = unlock
	if err := j.load(hdr); err != nil {
		j.close()
		return nil, fmt.Errorf("--resume %s: %w", name, err)
	}
	return j, nil
}

// load reads the header and entries, checks the header is hdr's (or
// writes it to an empty file), drops a torn last line, and leaves the file
// positioned for appending.
func (j *journal) load(hdr journalHeader) error {
	want, _ := json.Marshal(hdr)
	r := bufio.NewReaderSize(j.f, 256<<10)
	var off int64 // the end of the last whole line
	line, err := r.ReadBytes('\n')
	switch {
	case errors.Is(err, io.EOF) && len(line) == 0 || errors.Is(err, io.EOF) && isTorn(line):
		// A new journal (or one whose header was torn): start it.
		if err := j.f.Truncate(0); err != nil {
			return err
		}
		_, err := j.f.WriteAt(append(want, '\n'), 0)
		if err == nil {
			_, err = j.f.Seek(int64(len(want))+1, io.SeekStart)
		}
		return err
	case err != nil && !errors.Is(err, io.EOF):
		return err
	}
	if !bytes.Equal(bytes.TrimSuffix(line, []byte("\n")), want) {
		var got journalHeader
		if json.Unmarshal(line, &got) != nil || got.Journal != journalMagic {
			return errors.New("not a journal of sessionrecovery (give a new file name, or the journal of the run to continue)")
		}
		return fmt.Errorf("the journal of another run (%s %s %s), not of this one (%s %s %s): give the same command, location and flags to continue it, or another file", got.Command, got.Flags, got.Location, hdr.Command, hdr.Flags, hdr.Location)
	}
	off = int64(len(line))
	inOrder := true
	type entryKey struct {
		orphan bool
		id     string
	}
	early := map[entryKey]journalEntry{}   // not yet met in order
	intents := map[entryKey]journalEntry{} // announced, with no outcome yet
	for n := 2; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 { // torn: the write of a killed process
				if err := j.f.Truncate(off); err != nil {
					return err
				}
			}
			break
		}
		if err != nil {
			return err
		}
		var e journalEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		st, err := e.status()
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		off += int64(len(line))
		k := entryKey{e.Orphan, string(e.ID)}
		if e.Intent {
			intents[k] = e
			continue
		}
		if !e.Cut {
			// An outcome. A status cut short is none: its write may have
			// landed as the run was stopped, which settle finds out.
			delete(intents, k)
		}
		if e.Early {
			early[k] = e
			continue
		}
		delete(early, k)
		switch {
		case e.Cut:
			inOrder = false
			continue
		case inOrder:
			j.pos.Advance(st, e.Orphan)
			j.prefix = off
		default:
			j.pos.Finish(st, e.Orphan)
			if !e.Orphan {
				j.finished = append(j.finished, e)
			}
		}
		j.count(st, e.Orphan)
	}
	// Finished, and written to the store, but never reported in order: the
	// run was killed between the two.
	for _, e := range early {
		if err := j.finishEarly(e); err != nil {
			return err
		}
	}
	for _, e := range intents {
		j.intents = append(j.intents, e)
	}
	_, err = j.f.Seek(off, io.SeekStart)
	return err
}

// finishEarly counts e, an entry finished out of order, as finished.
func (j *journal) finishEarly(e journalEntry) error {
	st, err := e.status()
	if err != nil {
		return err
	}
	j.pos.Finish(st, e.Orphan)
	if !e.Orphan {
		j.finished = append(j.finished, e)
	}
	j.count(st, e.Orphan)
	return nil
}

// settle decides the restores the earlier run announced and never
// finished: one whose live document now holds exactly its backup's bytes
// landed, and is finished as announced (and noted so in the journal);
// the others are left to this run, which handles them again. It reads two
// documents a restore announced, of which there are at most as many as
// the earlier run handled at once.
func (j *journal) settle(ctx context.Context, s store.Store) error {
	for _, e := range j.intents {
		st, err := e.status()
		if err != nil {
			return err
		}
		if same, err := sameBytes(ctx, s, st.Key, st.BackupKey); err != nil || !same {
			continue
		}
		j.write(st, e.Orphan, entryEarly)
		if err := j.finishEarly(e); err != nil {
			return err
		}
	}
	j.intents = nil
	if j.err != nil {
		return j.err
	}
	return nil
}

// sameBytes tells whether the objects a and b hold the same bytes,
// reading both side by side, whatever their size.
func sameBytes(ctx context.Context, s store.Store, a, b string) (bool, error) {
	ra, err := s.Open(ctx, a)
	if err != nil {
		return false, err
	}
	defer ra.Close()
	rb, err := s.Open(ctx, b)
	if err != nil {
		return false, err
	}
	defer rb.Close()
	const chunk = 64 << 10
	bufA, bufB := make([]byte, chunk), make([]byte, chunk)
	for {
		na, errA := io.ReadFull(ra, bufA)
		nb, errB := io.ReadFull(rb, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		endA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		endB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		switch {
		case errA != nil && !endA:
			return false, errA
		case errB != nil && !endB:
			return false, errB
		case endA || endB:
			return endA && endB, nil
		}
	}
}

func isTorn(line []byte) bool { return !bytes.HasSuffix(line, []byte("\n")) }

// count adds st to the totals of what the earlier run finished.
func (j *journal) count(st recovery.Status, orphan bool) {
	t, p := &j.totals, &j.progress
	p.Handled++
	if st.Err != nil {
		p.Errors++
		t.Errors++
	}
	if st.Restored {
		p.Restored++
	}
	if orphan {
		j.orphans = append(j.orphans, st)
		if st.Restored {
			t.OrphansRestored++
		}
		return
	}
	t.Scanned++
	if st.Restored {
		t.Restored++
	}
}

// status is the entry's Status as the run reported it.
func (e journalEntry) status() (recovery.Status, error) {
	var st recovery.Status
	if err := json.Unmarshal(e.Status, &st); err != nil {
		return st, err
	}
	st.SessionID = string(e.ID)
	st.Key = st.SessionID + ".json"
	st.BackupKey = st.Key + ".bak"
	st.PreservedKey = string(e.Preserved)
	if st.Error != "" {
		st.Err = errors.New(st.Error)
	}
	return st, nil
}

// start hands on, through out, the sessions the earlier run reported in
// order, streaming them from the file; those it finished out of order
// wait for their turn among the new run's (next).
func (j *journal) start(out func(recovery.Status)) error {
	j.replay = out
	r := bufio.NewReaderSize(io.NewSectionReader(j.f, 0, j.prefix), 256<<10)
	if _, err := r.ReadBytes('\n'); err != nil && j.prefix > 0 {
		return err
	}
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		var e journalEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return err
		}
		// An early entry is met again in order, or is held; an intent is
		// followed by its outcome, or was settled.
		if e.Orphan || e.Cut || e.Early || e.Intent {
			continue
		}
		st, err := e.status()
		if err != nil {
			return err
		}
		out(st)
	}
	for _, e := range j.finished {
		st, err := e.status()
		if err != nil {
			return err
		}
		j.held = append(j.held, st)
	}
	slices.SortFunc(j.held, func(a, b recovery.Status) int { return recovery.CompareReportOrder(a.Key, b.Key) })
	return nil
}

// next hands on the held sessions that come before st, then st.
func (j *journal) next(st recovery.Status) {
	for len(j.held) > 0 && recovery.CompareReportOrder(j.held[0].Key, st.Key) < 0 {
		j.replay(j.held[0])
		j.held = j.held[1:]
	}
	j.replay(st)
}

// flushHeld hands on the held sessions left at the end of the run.
func (j *journal) flushHeld() {
	for _, st := range j.held {
		j.replay(st)
	}
	j.held = nil
}

// recordEarly appends st to the journal as soon as its session is
// finished, if it wrote to the store; it is an Options.OnFinish.
func (j *journal) recordEarly(st recovery.Status, orphan bool) {
	if st.Restored || st.PreservedKey != "" {
		j.write(st, orphan, entryEarly)
	}
}

// recordIntent appends st, the status of a restore about to be written,
// to the journal; it is an Options.BeforeRestore.
func (j *journal) recordIntent(st recovery.Status, orphan bool) {
	j.write(st, orphan, entryIntent)
}

// record appends st, reported by this run, to the journal.
func (j *journal) record(st recovery.Status, orphan bool) { j.write(st, orphan, entryInTurn) }

// The kinds of entry written.
type entryKind int

const (
	entryInTurn entryKind = iota // a status at its turn in the report
	entryEarly                   // a session finished, before its turn
	entryIntent                  // a restore about to be written
)

func (j *journal) write(st recovery.Status, orphan bool, kind entryKind) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	status, err := json.Marshal(st)
	if err == nil {
		var line []byte
		line, err = json.Marshal(journalEntry{
			Orphan:    orphan,
			Cut:       errors.Is(st.Err, context.Canceled),
			Early:     kind == entryEarly,
			Intent:    kind == entryIntent,
			ID:        []byte(st.SessionID),
			Preserved: []byte(st.PreservedKey),
			Status:    status,
		})
		if err == nil {
			_, err = j.f.Write(append(line, '\n'))
		}
	}
	if err != nil {
		j.err = fmt.Errorf("write the journal %s: %w", j.name, err)
	}
}

// merge adds what the earlier run finished to r, the new run's report.
func (j *journal) merge(r *recovery.Report) {
	r.Scanned += j.totals.Scanned
	r.Restored += j.totals.Restored
	r.Errors += j.totals.Errors
	r.OrphansRestored += j.totals.OrphansRestored
	if len(j.orphans) > 0 {
		r.Orphans = append(slices.Clone(j.orphans), r.Orphans...)
		slices.SortStableFunc(r.Orphans, func(a, b recovery.Status) int { return strings.Compare(a.BackupKey, b.BackupKey) })
	}
}

// close syncs and closes the journal, and returns the first error met
// writing it.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.err
	if serr := j.f.Sync(); err == nil && serr != nil {
		err = fmt.Errorf("sync the journal %s: %w", j.name, serr)
	}
	if j.unlock != nil {
		j.unlock()
	}
	if cerr := j.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}
