package recovery

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/c0fe5641/sessionrecovery/internal/jsonenc"
)

// Count is a document's message count as the report gives it.
type Count int

const (
	// NotSession is the count of a document read whole that is not a
	// session: not valid JSON, not a JSON object, or without a "messages"
	// array. A missing live document also counts NotSession.
	NotSession Count = -1
	// NotCounted is the count of a document that was not read: a live
	// session without a backup when Options.CountAll is off, or a document
	// whose read failed (Status.Err says why). It is null in JSON.
	NotCounted Count = -2
)

// MarshalJSON writes NotCounted as null and every other count as a number.
func (c Count) MarshalJSON() ([]byte, error) {
	if c == NotCounted {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(c), 10), nil
}

// UnmarshalJSON reads null as NotCounted.
func (c *Count) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*c = NotCounted
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*c = Count(n)
	return nil
}

// Recommendation is what recovery advises for one session.
type Recommendation string

// The recommendations, as the reference module names them.
const (
	// Restore: the backup holds more messages than the live document.
	Restore Recommendation = "restore"
	// NoAction: the live document holds at least as many messages as the
	// backup, or a read failed and nothing can be decided.
	NoAction Recommendation = "no_action"
	// NoBackup: the session has no backup.
	NoBackup Recommendation = "no_backup"
	// Merge, only with Options.Diff or Options.Merge: the live document
	// has as many messages as the backup or more, so the count rule
	// advises nothing, but the backup holds messages the live document
	// lacks: a wipe the user has since written past, or messages edited
	// in place (see Diff). A restore would drop the newer messages, so
	// none is made; with Options.Merge, a merge is. Status.Diff says what
	// each side holds.
	Merge Recommendation = "merge"
)

// Status is what recovery found, and did, for one session. Its JSON form is
// the reference module's, keys in the same (sorted) order, plus "error"
// when something failed. A session id that is not valid UTF-8 (a file
// name is any bytes) is written losslessly as Python writes such a name:
// each byte that is not part of valid UTF-8 becomes the escape \udcXX of
// a lone surrogate (PEP 383's "surrogateescape", which Python decodes back
// to the same bytes); Go's decoder reads those as U+FFFD.
type Status struct {
	// BakMessages is the backup's message count; NotSession when there is
	// no backup or it is not a session.
	BakMessages Count `json:"bak_messages"`
	// Diff is the message-level preview, with Options.Diff, of a session
	// whose live document and backup are both sessions; nil otherwise.
	Diff *Diff `json:"diff,omitempty"`
	// Error is Err's message, for the JSON report.
	Error string `json:"error,omitempty"`
	// LiveMessages is the live document's message count.
	LiveMessages Count `json:"live_messages"`
	// Merged is true when the restore wrote a merge (Options.Merge): the
	// backup's messages, then the live document's that the backup lacks.
	Merged bool `json:"merged,omitempty"`
	// Recommend is the advice for this session.
	Recommend Recommendation `json:"recommend"`
	// Restored is true when the live document was replaced by the backup.
	// With Err also set, the restore was made but not confirmed durable
	// (Err wraps store.ErrNotDurable).
	Restored bool `json:"restored"`
	// SessionID is the session's id: its key less ".json".
	SessionID string `json:"session_id"`

	// Key is the live document's key and BackupKey its backup's.
	Key       string `json:"-"`
	BackupKey string `json:"-"`
	// PreservedKey names where the live bytes a restore replaced are kept
	// (set when Restored is true and a live document existed), or, after a
	// restore that failed, where they are still kept.
	PreservedKey string `json:"-"`
	// Err is set when a read, the keeping of the live bytes or the restore
	// failed. Unless Restored is set, nothing was restored, except where
	// Err says the restore may have been made (a write whose answer was
	// lost); a kept copy of the live document may then exist, as
	// PreservedKey and Err say.
	Err error `json:"-"`
}

// MarshalJSON writes the status with its session id in the lossless form
// the type's documentation describes.
func (st Status) MarshalJSON() ([]byte, error) {
	type plain Status // without this method
	return jsonenc.Marshal(struct {
		plain
		SessionID escapedID `json:"session_id"`
	}{plain(st), escapedID(st.SessionID)})
}

// escapedID is a string written as a JSON string, with the bytes that are
// not valid UTF-8 escaped as lone surrogates \udc80 to \udcff.
type escapedID string

func (id escapedID) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(id)) {
		return jsonenc.Marshal(string(id))
	}
	b := []byte{'"'}
	for s := string(id); s != ""; {
		valid := 0 // the valid UTF-8 that s starts with
		for valid < len(s) {
			r, size := utf8.DecodeRuneInString(s[valid:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			valid += size
		}
		if valid > 0 {
			q, err := jsonenc.Marshal(s[:valid])
			if err != nil {
				return nil, err
			}
			b = append(b, q[1:len(q)-1]...)
		}
		if valid < len(s) {
			b = append(b, `\udc`...)
			b = strconv.AppendUint(b, uint64(s[valid]), 16)
			valid++
		}
		s = s[valid:]
	}
	return append(b, '"'), nil
}

func (st *Status) fail(err error) {
	st.Err = err
	st.Error = err.Error()
}

// Report is the outcome of a whole-store run.
type Report struct {
	// Details has one Status per session, in listing order (see
	// RecoverAll).
	Details []Status `json:"details"`
	// Orphans has one Status per backup whose live session is missing, in
	// the order of their keys; the reference module does not see these.
	Orphans []Status `json:"orphans,omitempty"`
	// OrphansRestored counts the orphans restored (Options.RestoreOrphans);
	// Restored does not count them, as the reference module has none.
	OrphansRestored int `json:"orphans_restored,omitempty"`
	// Restored counts the sessions of Details that were restored.
	Restored int `json:"restored"`
	// Scanned counts the sessions found (the length of Details, unless
	// Options.OnStatus took them).
	Scanned int `json:"scanned"`
	// Errors counts the sessions and orphans whose Err is set; it is not
	// part of the JSON report, where each has its "error".
	Errors int `json:"-"`
}
