package recovery

import (
	"context"
	"strings"

	"github.com/c0fe5641/sessionrecovery/store"
)

// pairing receives what pairSessions finds.
type pairing struct {
	// session is called when the listing meets a session, before any job.
	session func(*job)
	// key is called for every listed key, once the sessions it closed have
	// been emitted.
	key func(key string)
	// emit is called with each session once its listing run is over, and
	// with each orphan backup.
	emit func(job) error
}

// pairSessions lists the store once and pairs each session with its backup.
//
// It relies on the listing's byte-wise key order: every key that starts
// with a session's key — its backup and its preserved copies among them —
// comes after it, and together they form one unbroken run. So a session is
// complete as soon as a key arrives that it does not prefix. The pending
// sessions form a stack in which each key prefixes the next, so memory
// depends on how names nest, never on how many sessions there are.
func pairSessions(ctx context.Context, s store.Store, p pairing) error {
	var stack []*job
	// pop emits the pending sessions that key does not start with; with
	// all set, every pending session.
	pop := func(key string, all bool) error {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if !all && strings.HasPrefix(key, top.live) {
				return nil
			}
			stack = stack[:len(stack)-1]
			if err := p.emit(*top); err != nil {
				return err
			}
		}
		return nil
	}
	err := s.List(ctx, "", func(o store.Object) error {
		if err := pop(o.Key, false); err != nil {
			return err
		}
		claimed := false
		for _, pending := range stack {
			if pending.backup == o.Key {
				pending.hasBackup, pending.backupSize = true, o.Size
				claimed = true
			}
			pending.keep.note(pending.live, o.Key)
		}
		if !claimed {
			if orphan, ok := orphanForKey(o.Key); ok {
				if err := p.emit(job{session: orphan, hasBackup: true, backupSize: o.Size}); err != nil {
					return err
				}
			}
		}
		if sess, ok := sessionForKey(o.Key); ok {
			j := &job{session: sess, hasLive: true, liveSize: o.Size}
			p.session(j)
			stack = append(stack, j)
		}
		p.key(o.Key)
		return nil
	})
	if err != nil {
		return err
	}
	return pop("", true)
}
