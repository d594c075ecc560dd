package recovery

import (
	"cmp"
	"container/heap"
	"strings"
	"sync"
)

// releaser hands out finished statuses in report order — by session id,
// then key — as soon as no session that could sort before them can still
// turn up, so that a run can stream its report without holding it.
//
// The listing comes in key order, and key order is id order except where
// one id is a proper prefix p of another id X and p's key p+".json" sorts
// after X's key (as "a.json" sorts after "a-b.json"). So a session is held
// until the listing has passed the largest such p+".json": its wait key. In
// practice, ids rarely prefix one another and nothing is held for long.
type releaser struct {
	mu     sync.Mutex
	queue  slotQueue
	listed string // the last key the listing reached
	done   bool   // the listing is over
	out    func(Status)
}

// slot is one session from the moment it is listed until it is released.
type slot struct {
	id, key string
	wait    string // release only once the listing reached it
	st      Status
	final   bool
}

func newReleaser(out func(Status)) *releaser {
	return &releaser{out: out}
}

// listedSession registers a session the moment the listing meets it.
func (r *releaser) listedSession(s session) *slot {
	sl := &slot{id: s.id, key: s.live, wait: waitKey(s)}
	r.mu.Lock()
	heap.Push(&r.queue, sl)
	r.mu.Unlock()
	return sl
}

// listedKey records that the listing has reached key.
func (r *releaser) listedKey(key string) {
	r.mu.Lock()
	r.listed = key
	r.release()
	r.mu.Unlock()
}

// finish records the end of the listing, successful or not: nothing more
// can arrive.
func (r *releaser) finish() {
	r.mu.Lock()
	r.done = true
	r.release()
	r.mu.Unlock()
}

// complete records a session's final status.
func (r *releaser) complete(sl *slot, st Status) {
	r.mu.Lock()
	sl.st, sl.final = st, true
	r.release()
	r.mu.Unlock()
}

// abandon releases, in order, whatever is left once no more work will be
// done (after a failed listing some sessions were never handled).
func (r *releaser) abandon(fill func(*slot) Status) {
	r.mu.Lock()
	for r.queue.Len() > 0 {
		sl := heap.Pop(&r.queue).(*slot)
		if !sl.final {
			sl.st = fill(sl)
		}
		r.out(sl.st)
	}
	r.mu.Unlock()
}

func (r *releaser) release() {
	for r.queue.Len() > 0 {
		head := r.queue[0]
		if !head.final || (!r.done && head.wait != "" && r.listed < head.wait) {
			return
		}
		heap.Pop(&r.queue)
		r.out(head.st)
	}
}

// waitKey is the largest key of a session whose id is a proper prefix of
// s's id yet whose key sorts after s's key; "" when there is none.
func waitKey(s session) string {
	wait := ""
	for i := 1; i < len(s.id); i++ {
		// s.id[:i]+".json" > s.live, compared without building the string
		// unless it is a candidate: both share s.id[:i] when s.live is
		// s.id+".json".
		if strings.HasPrefix(s.live, s.id[:i]) && sessionExt <= s.live[i:] {
			continue
		}
		if k := s.id[:i] + sessionExt; k > s.live && k > wait {
			wait = k
		}
	}
	return wait
}

// slotQueue is a min-heap of slots in report order.
type slotQueue []*slot

func (q slotQueue) Len() int { return len(q) }
func (q slotQueue) Less(i, j int) bool {
	return cmp.Or(strings.Compare(q[i].id, q[j].id), strings.Compare(q[i].key, q[j].key)) < 0
}
func (q slotQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *slotQueue) Push(x any)   { *q = append(*q, x.(*slot)) }
func (q *slotQueue) Pop() any {
	old := *q
	sl := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return sl
}
