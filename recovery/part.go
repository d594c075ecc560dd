package recovery

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
)

// The part-of-a-run stage: which of the listed sessions this run handles.
// A run may be one shard of several (Options.Shard), each run by its own
// process or machine, and may continue an earlier run that stopped
// (Options.After). Sessions outside the part are skipped before anything
// is read or reported.

// Shard names one of Count disjoint parts of a store: the sessions whose
// id hashes to Index. Count runs with the same Count and the indexes 0 to
// Count-1 handle every session exactly once between them, and their
// reports merged (MergeReports) are one run's report. The zero value, and
// a Count of 1, is the whole store.
//
// The hash is FNV-1a (64 bits) of the session id, modulo Count: it is
// part of the format, and does not change between versions, so that
// shards run by different builds still partition the store. A session and
// its backup have the same id, so they are always in the same shard; so
// is an orphan backup with its missing session.
type Shard struct {
	Index, Count int
}

// MaxShards bounds Shard.Count.
const MaxShards = 1 << 20

// ErrInvalidShard is wrapped by the error for a Shard that names no part.
var ErrInvalidShard = errors.New("invalid shard")

// Validate says whether s names a part of a store.
func (s Shard) Validate() error {
	switch {
	case s.Count == 0 && s.Index == 0:
		return nil
	case s.Count < 1 || s.Count > MaxShards:
		return fmt.Errorf("%w %d/%d: the count must be between 1 and %d", ErrInvalidShard, s.Index, s.Count, MaxShards)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("%w %d/%d: the index must be between 0 and %d", ErrInvalidShard, s.Index, s.Count, s.Count-1)
	}
	return nil
}

// Holds tells whether the session id belongs to the shard.
func (s Shard) Holds(id string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Position is what an earlier run finished: every session up to the key
// Session and every orphan up to the backup key Orphan (each "" if none),
// and, beyond those, the keys in Finished (a session's key, an orphan's
// backup key). A run given a Position (Options.After) handles only the
// rest, so that a stopped run continues without redoing a session it
// finished. A run reports in order — sessions in report order
// (CompareReportOrder), orphans byte-wise by backup key — so what it
// reported before the first status its end cut short is a prefix, held in
// two keys; what it finished after that (sessions in flight when it was
// stopped) is listed in Finished.
type Position struct {
	Session  string
	Orphan   string
	Finished map[string]bool
}

// IsZero tells whether p is the start of a run.
func (p Position) IsZero() bool { return p.Session == "" && p.Orphan == "" && len(p.Finished) == 0 }

// Advance moves p past st, a status reported as a session (orphan false)
// or as an orphan, next in report order. An orphan restored is also noted
// in Finished, since the restore made it a session.
func (p *Position) Advance(st Status, orphan bool) {
	switch {
	case orphan && st.Restored:
		p.Finish(st, orphan)
		fallthrough
	case orphan:
		p.Orphan = st.BackupKey
	default:
		p.Session = st.Key
	}
}

// Finish adds st to the statuses p holds finished out of order.
func (p *Position) Finish(st Status, orphan bool) {
	if p.Finished == nil {
		p.Finished = map[string]bool{}
	}
	if orphan {
		p.Finished[st.BackupKey] = true
	} else {
		p.Finished[st.Key] = true
	}
}

// done tells whether the run that reached p finished j. A session whose
// backup is in Finished is done too: that run restored it as an orphan,
// which made it a session.
func (p Position) done(j job) bool {
	if j.orphan() {
		return p.Orphan != "" && j.Backup <= p.Orphan || p.Finished[j.Backup]
	}
	return p.Session != "" && CompareReportOrder(j.Live, p.Session) <= 0 || p.Finished[j.Live] || p.Finished[j.Backup]
}

// CompareReportOrder compares two session keys in the order a run reports
// sessions: byte-wise, except that a key comes after the keys it is a
// prefix of ("a.json" after "a.json.b.json"), as if the end of a key were
// greater than any byte. It returns -1, 0 or +1.
func CompareReportOrder(a, b string) int {
	switch {
	case a == b:
		return 0
	case strings.HasPrefix(b, a):
		return 1
	case strings.HasPrefix(a, b):
		return -1
	}
	return strings.Compare(a, b)
}

// inPart tells whether the run handles j.
func (o *Options) inPart(j job) bool {
	return o.Shard.Holds(j.ID) && !o.After.done(j)
}
