package recovery

import (
	"bytes"
	"encoding/json"
	"strconv"
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
)

// Status is what recovery found, and did, for one session. Its JSON form is
// the reference module's, keys in the same (sorted) order, plus "error"
// when something failed.
type Status struct {
	// BakMessages is the backup's message count; NotSession when there is
	// no backup or it is not a session.
	BakMessages Count `json:"bak_messages"`
	// Error is Err's message, for the JSON report.
	Error string `json:"error,omitempty"`
	// LiveMessages is the live document's message count.
	LiveMessages Count `json:"live_messages"`
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

func (st *Status) fail(err error) {
	st.Err = err
	st.Error = err.Error()
}

// Report is the outcome of a whole-store run.
type Report struct {
	// Details has one Status per session, sorted by SessionID (then key).
	Details []Status `json:"details"`
	// Orphans has one Status per backup whose live session is missing,
	// sorted like Details; the reference module does not see these.
	Orphans []Status `json:"orphans,omitempty"`
	// Restored counts the sessions of Details that were restored.
	Restored int `json:"restored"`
	// Scanned counts the sessions found (the length of Details, unless
	// Options.OnStatus took them).
	Scanned int `json:"scanned"`
	// Errors counts the sessions and orphans whose Err is set; it is not
	// part of the JSON report, where each has its "error".
	Errors int `json:"-"`
}
