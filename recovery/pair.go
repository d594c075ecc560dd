package recovery

import (
	"context"
	"fmt"
	"strings"

	"github.com/c0fe5641/sessionrecovery/internal/sessionname"
	"github.com/c0fe5641/sessionrecovery/store"
)

// The list-and-pair stage: one listing of the store's top level, in key
// order (see listing.go), turned into jobs — each session with what the listing told of its
// backup and kept copies, and each backup whose live document is missing.

// job is one session (or orphan backup) to handle, with what the listing
// told about it.
type job struct {
	sessionname.Names
	hasLive, hasBackup bool
	// The sizes the listing gave: a read that ends anywhere else was cut
	// short or raced a writer, and its count cannot be trusted.
	liveSize, backupSize int64
	kept                 sessionname.Kept // the kept-copy names taken
}

// listSession finds the keys of the one session id with a single
// listing, not a request per key: whether its live document and backup
// exist and their sizes, and its kept copies, with the size of each.
func listSession(ctx context.Context, s store.Store, id string) (job, map[string]int64, error) {
	j := job{Names: sessionname.ForID(id)}
	keptSize := map[string]int64{}
	err := s.List(ctx, j.Live, func(o store.Object) error {
		switch o.Key {
		case j.Live:
			j.hasLive, j.liveSize = true, o.Size
		case j.Backup:
			j.hasBackup, j.backupSize = true, o.Size
		default:
			// As the sweep notes them (pairSessions), so that a restore
			// of one session takes the kept-copy name a sweep would.
			j.kept.Note(j.Live, o.Key)
			keptSize[o.Key] = o.Size
		}
		return nil
	})
	if err != nil {
		return job{}, nil, fmt.Errorf("recovery: session %q: list: %w", id, err)
	}
	return j, keptSize, nil
}

// orphan tells whether j is a backup whose live document is missing.
func (j *job) orphan() bool { return !j.hasLive }

// pairSessions lists the store once and emits each session, paired with
// its backup, as soon as the listing is past every key that starts with
// the session's key, and each orphan backup as the listing meets it.
//
// It relies on the listing's byte-wise key order: every key that starts
// with a session's key — its backup and its kept copies among them —
// comes after it, and together they form one unbroken run. So a session is
// complete as soon as a key arrives that it does not prefix. The pending
// sessions form a stack in which each key prefixes the next, so memory
// depends on how names nest, never on how many sessions there are; and
// the jobs come out in key order, except that a session comes after the
// sessions whose keys its key prefixes ("a.json" after "a.json.b.json").
//
// If the listing or emit fails, pairSessions returns the error and the
// sessions met but not emitted, in the order they would have been.
func pairSessions(ctx context.Context, s store.Store, emit func(job) error) (unemitted []job, err error) {
	var stack []*job
	// pop emits the pending sessions that key does not start with; with
	// all set, every pending session.
	pop := func(key string, all bool) error {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if !all && strings.HasPrefix(key, top.Live) {
				return nil
			}
			stack = stack[:len(stack)-1]
			if err := emit(*top); err != nil {
				return err
			}
		}
		return nil
	}
	err = listTop(ctx, s, func(o store.Object) error {
		if err := pop(o.Key, false); err != nil {
			return err
		}
		claimed := false
		for _, pending := range stack {
			if pending.Backup == o.Key {
				pending.hasBackup, pending.backupSize = true, o.Size
				claimed = true
			}
			pending.kept.Note(pending.Live, o.Key)
		}
		if !claimed {
			if names, ok := sessionname.ForBackup(o.Key); ok {
				if err := emit(job{Names: names, hasBackup: true, backupSize: o.Size}); err != nil {
					return err
				}
			}
		}
		if names, ok := sessionname.ForKey(o.Key); ok {
			stack = append(stack, &job{Names: names, hasLive: true, liveSize: o.Size})
		}
		return nil
	})
	if err == nil {
		err = pop("", true)
	}
	if err != nil {
		for i := len(stack) - 1; i >= 0; i-- {
			unemitted = append(unemitted, *stack[i])
		}
	}
	return unemitted, err
}
