package recovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/c0fe5641/sessionrecovery/store"
)

// The listing under list-and-pair: the store's top level in key order,
// exactly as one List gives it. On a remote store that can start a listing
// part-way (store.RangeLister), it is made of ranges listed at once.
//
// A bucket lists about a thousand keys a request, one request after the
// other: a million sessions take a thousand requests in a row. listTop
// lists the first listHead objects with one listing (a store that holds
// no more costs nothing more), then probes the keys after them for the
// bounds of at most listMaxRanges ranges, and lists up to listListers of
// those at once while it hands their objects on, range after range.
//
// Probes are one-key listings, each one list request, and there are at
// most maxProbes (63) of them whatever the store holds: the first key
// after the head; the length of the prefix all later keys share (a
// binary search, at most 7); the largest byte after it and the largest
// after that (a binary search each, at most 8); one probe for each range
// bound (at most listMaxRanges-1, 8 at a time); and, when the first
// bounds show the keys bunched before the first of them, the same again
// below it, within what is left. Each range but the last also lists part
// of a page beyond its end, and the first range lists again the page
// where the head stopped. For a million keys that is at most 103 requests
// added to the thousand the listing takes.
//
// The bounds are real keys: each is the first key after a point spread
// evenly, between the first key after the head and the largest, over the
// first bytes after their shared prefix, counted as digits of the bytes
// the head's keys hold there. Ranges are even when keys are spread evenly
// over that space (random ids, hashes, counters), with or without a
// shared prefix or a few keys far from the others; other shapes give
// uneven ranges, which are listed in the same order all the same. The
// number of ranges follows what the head suggests the store holds: about
// listBuffer keys a range, or listListers ranges of listMinRange keys or
// more when that makes more of them.
//
// Memory is bounded whatever the store holds: a range hands its objects
// over listBatch at a time and holds at most listBuffer of them ahead of
// the one being handed on; a range that is ahead waits. At most
// listListers ranges are listed at once, so at most
// listListers × (listBuffer + listBatch) + listBatch objects are held
// (about 25 MiB with keys of 40 bytes). Ranges larger than listBuffer
// (more than 40 × 32768 keys, 1.3 million, spread evenly) wait for their
// turn with a full buffer, and take the rest of their time then.
const (
	listHead      = 10000
	listListers   = 8
	listBuffer    = 32768
	listBatch     = 256
	listMaxRanges = 40
	// listMinRange is the fewest keys a range is planned with when the
	// store would make fewer than listListers ranges of listBuffer: a
	// smaller one saves less time than its probe and its last page cost.
	listMinRange = 4096
)

// listLimits are the bounds of a listing: the constants above, or smaller
// ones in tests (which set defaultListLimits, too).
type listLimits struct {
	head, listers, buffer, batch, ranges int
}

var defaultListLimits = listLimits{head: listHead, listers: listListers, buffer: listBuffer, batch: listBatch, ranges: listMaxRanges}

// listTop calls fn for every object at the top of s, in key order, as
// s.List(ctx, "", fn) does, and returns what it would: fn's error
// unchanged, or the listing's.
func listTop(ctx context.Context, s store.Store, fn func(store.Object) error) error {
	return listTopWith(ctx, s, defaultListLimits, fn)
}

// errHeadDone, errFound and errPastEnd stop a listing from its fn.
var (
	errHeadDone = errors.New("the head is listed")
	errFound    = errors.New("found")
	errPastEnd  = errors.New("past the end of the range")
)

// listTopWith is listTop within the limits lim.
func listTopWith(ctx context.Context, s store.Store, lim listLimits, fn func(store.Object) error) error {
	rl, ok := s.(store.RangeLister)
	if !ok || !store.IsRemote(s) {
		return s.List(ctx, "", fn)
	}
	var h head
	fnFailed := false
	err := rl.ListAfter(ctx, "", "", func(o store.Object) error {
		if h.n >= max(lim.head, 1) {
			return errHeadDone
		}
		h.add(o.Key)
		err := fn(o)
		fnFailed = err != nil
		return err
	})
	switch {
	case err == nil || fnFailed:
		return err
	case errors.Is(err, errors.ErrUnsupported) && h.n == 0:
		return s.List(ctx, "", fn)
	case err != errHeadDone:
		return err
	}
	bounds, more, err := planRanges(ctx, rl, &h, lim)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return listFrom(ctx, s, h.last, fn)
	case err != nil:
		return err
	case !more:
		return nil
	}
	return listRanges(ctx, s, rl, append([]string{h.last}, bounds...), lim, fn)
}

// listFrom lists s with List, passing over the keys up to after: what a
// listing that cannot start part-way still owes.
func listFrom(ctx context.Context, s store.Store, after string, fn func(store.Object) error) error {
	return s.List(ctx, "", func(o store.Object) error {
		if o.Key <= after {
			return nil
		}
		return fn(o)
	})
}

// head is what listTop learns from the objects it lists before probing.
type head struct {
	n           int
	first, last string
	// at[b] has bit i set when byte b was seen at position i of a key
	// (for i < 256): what the keys are made of, position by position.
	at [256][4]uint64
}

func (h *head) add(key string) {
	if h.n == 0 {
		h.first = key
	}
	h.n++
	h.last = key
	for i := range min(len(key), 256) {
		h.at[key[i]][i/64] |= 1 << (i % 64)
	}
}

// seen tells whether byte b was seen at a position from i to j-1.
func (h *head) seen(b byte, i, j int) bool {
	for ; i < j && i < 256; i++ {
		if h.at[b][i/64]&(1<<(i%64)) != 0 {
			return true
		}
	}
	return false
}

// maxProbes bounds the probes of one listing; see the top of the file.
const maxProbes = 63

// errNoProbes ends a plan that has used up maxProbes.
var errNoProbes = errors.New("no probe left")

// probe returns the first key after after, and false when there is none.
func probe(ctx context.Context, rl store.RangeLister, after string) (string, bool, error) {
	key := ""
	err := rl.ListAfter(ctx, "", after, func(o store.Object) error {
		key = o.Key
		return errFound
	})
	switch {
	case err == errFound:
		return key, true, nil
	case err != nil:
		return "", false, fmt.Errorf("probe after %q: %w", after, err)
	}
	return "", false, nil
}

// beyond is appended to a prefix to make a start after every key that
// starts with it: the largest code point, twice, which is valid UTF-8 (a
// bucket is asked to start there, not at a shorter start a driver would
// cut it to, whose keys it would have to pass over) and comes after every
// UTF-8 key going on from the prefix but those that go on with it.
const beyond = "\U0010FFFF\U0010FFFF"

// planner finds the bounds of the ranges of a listing, within maxProbes.
type planner struct {
	ctx    context.Context
	rl     store.RangeLister
	h      *head
	lim    listLimits
	probes int
}

// probe returns the first key after after, if it is not after limit
// (when set); the key is returned even when it is.
func (p *planner) probe(after, limit string) (string, bool, error) {
	if p.probes >= maxProbes {
		return "", false, errNoProbes
	}
	p.probes++
	k, found, err := probe(p.ctx, p.rl, after)
	return k, found && (limit == "" || k <= limit), err
}

// planRanges probes the keys after h.last and returns the bounds of the
// ranges to list after it: real keys, in increasing order, each the end
// of one range and the start of the next (the last range has no end).
// more is false when no key comes after h.last.
func planRanges(ctx context.Context, rl store.RangeLister, h *head, lim listLimits) (bounds []string, more bool, err error) {
	p := &planner{ctx: ctx, rl: rl, h: h, lim: lim}
	next, more, err := p.probe(h.last, "")
	if err != nil || !more {
		return nil, more, err
	}
	bounds, err = p.plan(next, "", lim.ranges, true)
	if err == errNoProbes {
		err = nil
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	// Keys at or before next would make empty or one-key ranges; only
	// keys with 0xff bytes can give them.
	bounds = slices.DeleteFunc(bounds, func(k string) bool { return k <= next })
	return bounds, true, err
}

// plan returns the bounds of at most n ranges for the keys from next, the
// first key after the head, up to limit (all of them when limit is "").
// With refine, a plan whose first points find all the keys before the
// first of them (keys that share a prefix, and others far after) plans
// again below that point, once.
func (p *planner) plan(next, limit string, n int, refine bool) ([]string, error) {
	// The prefix every key up to limit shares: the longest j for which no
	// key after next[:j]+beyond is within limit, by a binary search in
	// which a key found that leaves the prefix says how far they share.
	lo, hi := 0, min(len(next), 64)+1
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		k, found, err := p.probe(next[:mid]+beyond, limit)
		switch {
		case err != nil:
			return nil, err
		case !found:
			lo = mid
		default:
			hi = min(mid, commonPrefix(next, k)+1)
		}
	}
	cp := next[:lo]

	// The largest byte after cp, and the largest after that.
	top, topKey, err := p.largestByte(cp, next, limit)
	if err != nil || top < 0 {
		return nil, err
	}
	top2, _, err := p.largestByte(cp+string([]byte{byte(top)}), topKey, limit)
	if err != nil {
		return nil, err
	}

	d := newDigits(p.h, len(cp), next, topKey)
	from := d.value(next[len(cp):])
	to := d.value(string([]byte{byte(top), byte(max(top2, 0)), 0xff, 0xff}))
	if to <= from {
		return nil, nil
	}
	if strings.HasPrefix(p.h.first, cp) && strings.HasPrefix(p.h.last, cp) {
		if width := d.value(p.h.last[len(cp):]) - d.value(p.h.first[len(cp):]); width > 0 {
			// The keys the head suggests come after it, at its density:
			// ranges of about a buffer each, but as many as can be listed
			// at once if they would hold listMinRange keys or more.
			est := float64(p.h.n) * float64(to-from) / float64(width)
			want := max(est/float64(p.lim.buffer)+1, min(float64(p.lim.listers), est/listMinRange))
			n = int(min(want, float64(n)))
		}
	}

	// No more points than probes left, so that they spread over it all.
	n = min(n, maxProbes-p.probes+1)

	// The first key after each of n-1 points spread evenly from next to
	// the top, a batch at a time; a point before the key found for an
	// earlier one would find that key again, and is not probed.
	points := make([]string, 0, n)
	for i := 1; i < n; i++ {
		points = append(points, cp+d.text(from+(to-from)*uint64(i)/uint64(n)))
	}
	var bounds []string
	found, first := next, true
	for len(points) > 0 && p.probes < maxProbes {
		var batch []string
		for len(points) > 0 && len(batch) < min(p.lim.listers, maxProbes-p.probes) {
			if pt := points[0]; pt >= found {
				batch = append(batch, pt)
			}
			points = points[1:]
		}
		keys := make([]string, len(batch))
		ok := make([]bool, len(batch))
		errs := make([]error, len(batch))
		p.probes += len(batch)
		var wg sync.WaitGroup
		for i, pt := range batch {
			wg.Go(func() { keys[i], ok[i], errs[i] = probe(p.ctx, p.rl, pt) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return bounds, err
		}
		for i, k := range keys {
			if !ok[i] || (limit != "" && k > limit) {
				points = nil // nothing after this point, nor after later ones
				break
			}
			bounds = append(bounds, k)
			found = max(found, k)
		}
		if first && refine && len(batch) > 0 && (len(bounds) == 0 || len(batch) > 1 && keys[0] > batch[1]) {
			// Nothing between the first two points: the keys before the
			// first may be many, sharing a longer prefix.
			sub, err := p.plan(next, batch[0], n-1-len(bounds), false)
			bounds = append(bounds, sub...)
			if err != nil {
				return bounds, err
			}
		}
		first = false
	}
	return bounds, nil
}

// largestByte returns the largest byte that follows prefix in a key after
// known (a key that starts with prefix) up to limit, and the first key
// found with it (known if none other); -1 when no such key goes on past
// prefix. It is a binary search of at most 7 probes; a key found with a
// larger byte than asked for moves it on at once. It searches the ASCII
// bytes only: a probe must be valid UTF-8, or the bucket is asked to
// start where a driver cuts it, and passes over every key up to it. A
// non-ASCII byte is found when a key found holds one (which only makes
// the ranges less even, never loses a key).
func (p *planner) largestByte(prefix, known, limit string) (int, string, error) {
	lo, key := -1, known
	if len(known) > len(prefix) && strings.HasPrefix(known, prefix) {
		lo = int(known[len(prefix)])
	}
	hi := 0x80
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		// The first key whose byte after prefix is mid or more.
		after := prefix
		if mid > 0 {
			after = prefix + string([]byte{byte(mid - 1)}) + beyond
		}
		k, found, err := p.probe(max(after, known), limit)
		switch {
		case err != nil:
			return 0, "", err
		case !found || !strings.HasPrefix(k, prefix) || len(k) == len(prefix):
			hi = mid
		default:
			lo, key = max(mid, int(k[len(prefix)])), k
		}
	}
	return lo, key, nil
}

// commonPrefix returns the length of the prefix a and b share.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// digits reads the first bytes of a key, after a shared prefix, as a
// number whose digits are the bytes keys are made of there (so that no
// point is spent where no key can be), and writes such numbers back as
// keys.
type digits struct {
	alphabet []byte // in increasing order
	// digit[b] is the digit of byte b: the place of the first byte of
	// alphabet that is b or more, the last place after them all.
	digit [256]uint64
	base  uint64
}

// numDigits is how many bytes a value reads: base ≤ 256, so that 256⁴
// fits in a uint64.
const numDigits = 4

// alphabetWindow is how many positions, from the first one read, the
// bytes of the alphabet are taken from: the bytes that make up ids, not
// those of a suffix such as ".json" further on.
const alphabetWindow = numDigits + 2

// newDigits makes the digits of the bytes seen in the head's keys, and in
// extra keys, at the positions from from to from+alphabetWindow-1.
func newDigits(h *head, from int, extra ...string) *digits {
	var seen [256]bool
	for b := range 256 {
		seen[b] = h.seen(byte(b), from, from+alphabetWindow)
	}
	for _, k := range extra {
		for i := from; i < len(k) && i < from+alphabetWindow; i++ {
			seen[k[i]] = true
		}
	}
	d := &digits{}
	for b, ok := range seen {
		if ok {
			d.alphabet = append(d.alphabet, byte(b))
		}
	}
	if len(d.alphabet) < 2 {
		d.alphabet = d.alphabet[:0]
		for b := range 256 {
			d.alphabet = append(d.alphabet, byte(b))
		}
	}
	i := 0
	for b := range 256 {
		for i < len(d.alphabet)-1 && int(d.alphabet[i]) < b {
			i++
		}
		d.digit[b] = uint64(i)
	}
	d.base = uint64(len(d.alphabet))
	return d
}

// value returns the number that s's first bytes make; missing bytes count
// as the smallest digit. It never decreases as s increases.
func (d *digits) value(s string) uint64 {
	v := uint64(0)
	for i := range numDigits {
		v *= d.base
		if i < len(s) {
			v += d.digit[s[i]]
		}
	}
	return v
}

// text returns the bytes whose value is v.
func (d *digits) text(v uint64) string {
	b := make([]byte, numDigits)
	for i := numDigits - 1; i >= 0; i-- {
		b[i] = d.alphabet[v%d.base]
		v /= d.base
	}
	return string(b)
}

// keyRange is one range of a listing: the keys after after, up to end
// (inclusive) unless last. Its lister sends its objects in batches on out
// and closes out when it ends, err set to why, if it failed.
type keyRange struct {
	after, end string
	last       bool
	out        chan []store.Object
	err        error
	sent       int // objects the store gave the lister
}

// listRanges lists the ranges between bounds (the first range after
// bounds[0]) at most lim.listers at once, and calls fn with their objects
// in order, range after range.
func listRanges(ctx context.Context, s store.Store, rl store.RangeLister, bounds []string, lim listLimits, fn func(store.Object) error) error {
	ranges := make([]*keyRange, len(bounds))
	for i, after := range bounds {
		r := &keyRange{after: after, last: i == len(bounds)-1, out: make(chan []store.Object, max(lim.buffer/lim.batch, 1))}
		if !r.last {
			r.end = bounds[i+1]
		}
		ranges[i] = r
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	started := 0
	for i, r := range ranges {
		for ; started < len(ranges) && started < i+lim.listers; started++ {
			next := ranges[started]
			wg.Go(func() { next.list(lctx, rl, lim.batch) })
		}
		for batch := range r.out {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, o := range batch {
				if err := fn(o); err != nil {
					return err
				}
			}
		}
		if r.err != nil {
			if errors.Is(r.err, errors.ErrUnsupported) && r.sent == 0 {
				// Everything up to the range's start has been handed on.
				cancel()
				wg.Wait()
				return listFrom(ctx, s, r.after, fn)
			}
			return fmt.Errorf("list after %q: %w", r.after, r.err)
		}
	}
	return nil
}

// list lists the range and sends its objects, batch at a time.
func (r *keyRange) list(ctx context.Context, rl store.RangeLister, batchSize int) {
	defer close(r.out)
	batch := make([]store.Object, 0, batchSize)
	send := func() error {
		select {
		case r.out <- batch:
			batch = make([]store.Object, 0, batchSize)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := rl.ListAfter(ctx, "", r.after, func(o store.Object) error {
		r.sent++
		if !r.last && o.Key > r.end {
			return errPastEnd
		}
		batch = append(batch, o)
		if len(batch) == batchSize {
			return send()
		}
		return nil
	})
	if err == errPastEnd {
		err = nil
	}
	// What was listed before a failure is handed on too, as one List
	// would have.
	if len(batch) > 0 && ctx.Err() == nil {
		if serr := send(); err == nil {
			err = serr
		}
	}
	r.err = err
}
