package recovery

import (
	"context"
	"strings"

	"github.com/c0fe5641/sessionrecovery/store"
)

// pairSessions lists the store once and calls emit with one job per session
// and one per orphan backup, each as soon as the listing has passed every
// key that could change it.
//
// It relies on the listing's byte-wise key order: every key that starts with
// a session's key — its backup and its preserved copies among them — comes
// after it, and together they form one unbroken run. So a session can be
// emitted as soon as a key arrives that it does not prefix. The pending
// sessions form a stack in which each key prefixes the next, so memory
// depends on how names nest, never on how many sessions there are.
func pairSessions(ctx context.Context, s store.Store, emit func(job) error) error {
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
			if err := emit(*top); err != nil {
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
		for _, p := range stack {
			if p.backup == o.Key {
				p.hasBackup = true
				claimed = true
			}
			p.keep.note(p.live, o.Key)
		}
		if !claimed {
			if orphan, ok := orphanForKey(o.Key); ok {
				if err := emit(job{session: orphan, hasBackup: true}); err != nil {
					return err
				}
			}
		}
		if sess, ok := sessionForKey(o.Key); ok {
			stack = append(stack, &job{session: sess, hasLive: true})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return pop("", true)
}
