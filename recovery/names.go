package recovery

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/c0fe5641/sessionrecovery/store"
)

const (
	sessionExt = ".json"
	backupExt  = ".bak"
	// PreservedSuffix is added to a live session's key to name the copy of
	// the bytes a restore replaces: "abc.json" is kept as
	// "abc.json.replaced", or "abc.json.replaced.2", ".3", … when earlier
	// copies exist. Such keys do not end in ".json", so scans ignore them.
	PreservedSuffix = ".replaced"
)

// ErrInvalidID is wrapped by the error for a session id that cannot name a
// session; the error also names the id.
var ErrInvalidID = errors.New("invalid session id")

// ValidateID reports whether id can name a session given to a
// single-session call: not empty, no '/', '\\' or NUL, not "." or "..", and
// not starting with '_' (such names are never sessions).
func ValidateID(id string) error {
	var reason string
	switch {
	case id == "":
		reason = "empty"
	case strings.ContainsAny(id, "/\\\x00"):
		reason = `contains '/', '\' or NUL`
	case id == "." || id == "..":
		reason = "is a relative directory name"
	case strings.HasPrefix(id, "_"):
		reason = "starts with '_', which marks files that are not sessions"
	}
	if reason == "" {
		if err := store.ValidateKey(id + sessionExt); err != nil {
			reason = err.Error()
		}
	}
	if reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidID, id, reason)
	}
	return nil
}

// session names one session: its id and the keys of its live document and
// its backup.
type session struct {
	id, live, backup string
}

// sessionForKey says whether key is a live session document, and if so
// which. A session is an object directly in the scanned store (no '/')
// whose name ends in ".json" and does not start with '_'.
//
// The id and the backup follow Python's pathlib, as the reference does: the
// id is the name less ".json", and the backup is the name plus ".bak" —
// except for a name that is exactly ".json", which pathlib sees as a hidden
// file with no suffix: its id is ".json" and its backup ".json.json.bak".
func sessionForKey(key string) (session, bool) {
	if !strings.HasSuffix(key, sessionExt) || strings.HasPrefix(key, "_") || strings.Contains(key, "/") {
		return session{}, false
	}
	if key == sessionExt {
		return session{id: key, live: key, backup: key + sessionExt + backupExt}, true
	}
	return session{id: strings.TrimSuffix(key, sessionExt), live: key, backup: key + backupExt}, true
}

// sessionForID is the session a single-session call names by id.
func sessionForID(id string) session {
	live := id + sessionExt
	return session{id: id, live: live, backup: live + backupExt}
}

// orphanForKey says whether key is a backup whose session's name is a
// session name, so that a missing live document makes it an orphan.
func orphanForKey(key string) (session, bool) {
	live, ok := strings.CutSuffix(key, backupExt)
	if !ok {
		return session{}, false
	}
	s, ok := sessionForKey(live)
	if !ok || s.backup != key {
		return session{}, false
	}
	return s, true
}

// maxKeptN is the highest N a kept-copy name ".replaced.N" is given.
// Larger numbers in the store are not names this package made, and are
// never made by it, so they cannot collide; it keeps N+1 from
// overflowing.
const maxKeptN = 1<<31 - 1

// preserved tracks which kept-copy names of one live key are taken.
type preserved struct {
	base bool // live + PreservedSuffix exists
	maxN int  // highest N of live + PreservedSuffix + ".N", up to maxKeptN
}

// note records key if it is one of live's kept-copy names: exactly
// live + PreservedSuffix, or that plus "." and a number written as this
// package writes one (decimal, no sign, no leading zero, at most maxKeptN).
func (p *preserved) note(live, key string) {
	rest, ok := strings.CutPrefix(key, live+PreservedSuffix)
	if !ok {
		return
	}
	if rest == "" {
		p.base = true
		return
	}
	if n, ok := keptNumber(rest); ok && n > p.maxN {
		p.maxN = n
	}
}

// keptNumber parses ".N" as this package writes it.
func keptNumber(rest string) (int, bool) {
	digits, ok := strings.CutPrefix(rest, ".")
	if !ok || digits == "" || len(digits) > 10 || digits[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= maxKeptN
}

// take returns the first of live's kept-copy names not known to be
// taken, and counts it as taken from then on; ok is false when the
// numbers are used up. The listing tells which names were taken when it
// ran; one taken since is found by the write that creates the copy, which
// never replaces an existing object, and the caller then takes the next.
func (p *preserved) take(live string) (name string, ok bool) {
	if !p.base {
		p.base = true
		if p.maxN == 0 {
			return live + PreservedSuffix, true
		}
	}
	if p.maxN >= maxKeptN {
		return "", false
	}
	p.maxN = max(p.maxN+1, 2)
	return live + PreservedSuffix + "." + strconv.Itoa(p.maxN), true
}
