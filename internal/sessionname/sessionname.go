// Package sessionname is the one home of how sessions are named in a
// store, shared by recovery (which finds and restores them) and saveguard
// (which writes them): the live document's key, its backup's key, the
// names of the copies a restore keeps, and which ids and keys are
// sessions at all.
//
// A session is an object directly in the store (no '/') whose name ends in
// ".json" and does not start with '_'. Its id is the name less ".json",
// its backup the name plus ".bak", and the bytes a restore replaced are
// kept as the name plus ".replaced" (then ".replaced.2", ".3", …).
package sessionname

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/c0fe5641/sessionrecovery/store"
)

const (
	// Ext ends the key of every live session document.
	Ext = ".json"
	// BackupExt is added to a live key to name its backup.
	BackupExt = ".bak"
	// KeptSuffix is added to a live key to name the copy of the bytes a
	// restore replaced. Such keys do not end in Ext, so scans ignore them.
	KeptSuffix = ".replaced"
)

// Names are the keys of one session.
type Names struct {
	ID     string // the session's id
	Live   string // its live document
	Backup string // its backup
}

// ErrInvalidID is wrapped by the error for an id that cannot name a
// session; the error also names the id.
var ErrInvalidID = errors.New("invalid session id")

// ValidateID reports whether id can name a session: not empty, no '/' or
// NUL, not "." or "..", not starting with '_' (such names are never
// sessions), and making a valid store key.
func ValidateID(id string) error {
	var reason string
	switch {
	case id == "":
		reason = "empty"
	case strings.ContainsAny(id, "/\x00"):
		reason = "contains '/' or NUL"
	case id == "." || id == "..":
		reason = "is a relative directory name"
	case strings.HasPrefix(id, "_"):
		reason = "starts with '_', which marks files that are not sessions"
	}
	if reason == "" {
		if err := store.ValidateKey(id + Ext); err != nil {
			reason = err.Error()
		}
	}
	if reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidID, id, reason)
	}
	return nil
}

// ForID names the session of a valid id.
func ForID(id string) Names {
	live := id + Ext
	return Names{ID: id, Live: live, Backup: live + BackupExt}
}

// ForKey says whether key is a live session document, and if so names its
// session.
//
// The id and the backup follow Python's pathlib, as the reference module
// does: the id is the name less ".json" and the backup the name plus
// ".bak" — except for a name that is exactly ".json", which pathlib sees
// as a hidden file with no suffix: its id is ".json" and its backup
// ".json.json.bak".
func ForKey(key string) (Names, bool) {
	if !strings.HasSuffix(key, Ext) || strings.HasPrefix(key, "_") || strings.Contains(key, "/") {
		return Names{}, false
	}
	if key == Ext {
		return Names{ID: key, Live: key, Backup: key + Ext + BackupExt}, true
	}
	return Names{ID: strings.TrimSuffix(key, Ext), Live: key, Backup: key + BackupExt}, true
}

// ForBackup says whether key is the backup of a session, and if so names
// that session.
func ForBackup(key string) (Names, bool) {
	live, ok := strings.CutSuffix(key, BackupExt)
	if !ok {
		return Names{}, false
	}
	n, ok := ForKey(live)
	if !ok || n.Backup != key {
		return Names{}, false
	}
	return n, true
}

// MaxKeptN is the highest N a kept-copy name ".replaced.N" is given.
// Larger numbers in a store are not names this module made, and are never
// made by it, so they cannot collide; it keeps N+1 from overflowing.
const MaxKeptN = 1<<31 - 1

// Kept tracks which kept-copy names of one live key are taken. The zero
// value knows of none.
type Kept struct {
	base bool // live + KeptSuffix exists
	maxN int  // highest N of live + KeptSuffix + ".N", up to MaxKeptN
}

// Note records key if it is one of live's kept-copy names: exactly
// live + KeptSuffix, or that plus "." and a number written as this module
// writes one (decimal, no sign, no leading zero, at most MaxKeptN).
func (k *Kept) Note(live, key string) {
	rest, ok := strings.CutPrefix(key, live+KeptSuffix)
	if !ok {
		return
	}
	if rest == "" {
		k.base = true
		return
	}
	if n, ok := keptNumber(rest); ok && n > k.maxN {
		k.maxN = n
	}
}

// keptNumber parses ".N" as this module writes it.
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
	return n, n <= MaxKeptN
}

// Take returns the first of live's kept-copy names not known to be taken,
// and counts it as taken from then on; ok is false when the numbers are
// used up. A listing tells which names were taken when it ran; one taken
// since is found by the write that creates the copy, which must never
// replace an existing object, and the caller then takes the next.
func (k *Kept) Take(live string) (name string, ok bool) {
	if !k.base {
		k.base = true
		if k.maxN == 0 {
			return live + KeptSuffix, true
		}
	}
	if k.maxN >= MaxKeptN {
		return "", false
	}
	k.maxN = max(k.maxN+1, 2)
	return live + KeptSuffix + "." + strconv.Itoa(k.maxN), true
}

// Latest returns the kept-copy name of live that Take gave last, of those
// noted: the highest ".replaced.N", else ".replaced". ok is false when none
// was noted. Take numbers upwards, so it is the copy kept most recently,
// unless names were made by hand.
func (k *Kept) Latest(live string) (name string, ok bool) {
	switch {
	case k.maxN >= 2:
		return live + KeptSuffix + "." + strconv.Itoa(k.maxN), true
	case k.base:
		return live + KeptSuffix, true
	}
	return "", false
}

// LastKept is the highest kept-copy name of live, for messages.
func LastKept(live string) string {
	return live + KeptSuffix + "." + strconv.Itoa(MaxKeptN)
}

// ForKept says whether key is a kept copy of a session, a name Kept.Take
// gives (live + KeptSuffix, or that plus ".N"), and if so names that
// session.
func ForKept(key string) (Names, bool) {
	i := strings.LastIndex(key, Ext+KeptSuffix)
	if i < 0 {
		return Names{}, false
	}
	live, rest := key[:i+len(Ext)], key[i+len(Ext)+len(KeptSuffix):]
	if rest != "" {
		if n, ok := keptNumber(rest); !ok || n < 2 {
			return Names{}, false
		}
	}
	return ForKey(live)
}
