// Package storefault wraps a store.Store so that some of its calls fail,
// hand out readers that end early or fail midway, or are slow: it lets the
// users of a store test their code under the faults that real storage
// has, with any backend underneath.
//
//	s := storefault.New(inner, storefault.Config{Rate: 0.2, Seed: 1})
//	report, err := recovery.RecoverAll(ctx, s, recovery.Options{})
//	stats, _ := storefault.StatsOf(s) // what was injected
//
// A fault never breaks the store.Store contract except by failing: an
// injected error names the operation and the key and wraps ErrInjected; a
// failed Replace or Write leaves its destination as it was; a listing that
// fails has delivered objects in order; an invalid key, or a context
// already done, is passed to the inner store untouched, so that its own
// error says so. The one deliberate exception is ShortRead, a reader that
// ends early with io.EOF and no error: it models a transport that loses
// the end of an object and says nothing, which the contract forbids but
// networks and buggy proxies do. Code that must not take cut bytes for a
// whole object has to notice on its own; session recovery does, by
// comparing the bytes it read with the size the listing gave.
//
// Which calls fail depends only on Config.Seed and on the call: its
// operation, its keys, and how many times the same call was made before
// through the same wrapper. It never depends on timing, so a seed fails the
// same calls however concurrent callers interleave, as long as each one
// call (the same operation on the same keys) is repeated in the same order.
// The wrapper remembers one counter for every distinct call it sees.
package storefault

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/c0fe5641/sessionrecovery/store"
)

// ErrInjected is wrapped by every error that a fault injects.
var ErrInjected = errors.New("injected fault")

// Kind is a kind of fault. Each applies to some operations only; a call
// gets a fault only of a kind that applies to it.
type Kind int

// The kinds of fault.
const (
	// Error fails the call with an error wrapping ErrInjected, without
	// calling the inner store. It applies to Open, Replace, Delete, Link
	// and List; a
	// listing fails either at once or after delivering some objects (a
	// number drawn between 1 and 4096, with small numbers as likely as
	// large ones on a log scale), and at its end if it had fewer.
	Error Kind = iota + 1
	// ShortRead makes Open return a reader that ends early with io.EOF
	// and no error, having dropped a part of the object's end: between one
	// byte and the whole object for objects up to 64 KiB, within the last
	// 64 KiB for larger ones. An empty object has nothing to drop and reads
	// whole. This breaks the contract on purpose (see the package comment).
	ShortRead
	// MidwayError makes Open return a reader that fails, with an error
	// wrapping ErrInjected, before the end of the object, where ShortRead
	// would have ended. It never reports the end of data.
	MidwayError
	// Slow delays the call by Config.Delay and then makes it as usual. For
	// Open it is the reader's first Read that waits. It applies to Open,
	// Replace and Write. A context done while waiting ends the wait, and
	// the call fails with an error wrapping ctx.Err().
	Slow
	// FailedCopy makes Replace start copying, reading part of the source
	// through the inner store, then fail with an error wrapping
	// ErrInjected. The destination is never touched.
	FailedCopy
	// FailedWrite makes Write consume part of its source, then fail with an
	// error wrapping ErrInjected, without writing anything.
	FailedWrite
)

var kindNames = map[Kind]string{
	Error:       "Error",
	ShortRead:   "ShortRead",
	MidwayError: "MidwayError",
	Slow:        "Slow",
	FailedCopy:  "FailedCopy",
	FailedWrite: "FailedWrite",
}

// String returns the kind's name, as in Go source.
func (k Kind) String() string {
	if name, ok := kindNames[k]; ok {
		return name
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// The operations, and the kinds of fault each may get, in a fixed order
// so that a seed always picks the same kind.
const (
	opList    = "list"
	opOpen    = "open"
	opReplace = "replace"
	opWrite   = "write"
	opDelete  = "delete"
	opLink    = "link"
)

var opKinds = map[string][]Kind{
	opList:    {Error},
	opOpen:    {Error, ShortRead, MidwayError, Slow},
	opReplace: {Error, FailedCopy, Slow},
	opWrite:   {FailedWrite, Slow},
	opDelete:  {Error, Slow},
	opLink:    {Error, Slow},
}

// DefaultDelay is how long a Slow call waits when Config.Delay is zero.
const DefaultDelay = 10 * time.Millisecond

// Config says which faults to inject and how often.
type Config struct {
	// Rate is the share of calls that get a fault, from 0 (none) to 1
	// (every call to which some kind of Kinds applies).
	Rate float64
	// Seed determines which calls get which fault.
	Seed uint64
	// Kinds are the faults that may be injected; a call that gets a fault
	// gets one of the kinds that apply to it, each as likely. Empty means
	// every kind.
	Kinds []Kind
	// Delay is how long a Slow call waits; zero means DefaultDelay.
	Delay time.Duration
}

// Stats counts the calls made through a wrapper and the faults injected.
type Stats struct {
	// Calls counts the calls of List, Open, Replace and Write.
	Calls int
	// Faults counts the faults injected. A fault that needs the inner
	// store to open an object first (a reader's fault, or FailedCopy's
	// source) is not injected, nor counted, when it cannot: the call then
	// fails as the inner store says (a missing object, say).
	Faults int
	// ByKind counts Faults by kind.
	ByKind map[Kind]int
}

// New returns s wrapped so that it injects faults as cfg says. The result
// is a store.Writer when s is one, and a store.Linker when s is one (its
// Link injects faults into the Link of s). Its readers implement
// store.Versioned when those of s do, so that conditional writes keep
// working through it. It is safe for concurrent use if s is. It forwards
// no other method: close s, if it needs closing, yourself. It panics if
// cfg.Rate is not between 0 and 1, cfg.Delay is negative or a kind is
// unknown.
func New(s store.Store, cfg Config) store.Store {
	f := newFaults(s, cfg)
	l, canLink := s.(store.Linker)
	if w, ok := s.(store.Writer); ok {
		fw := &faultWriter{faultStore: f, w: w}
		if canLink {
			return faultWriterLinker{fw, l}
		}
		return fw
	}
	if canLink {
		return faultLinker{f, l}
	}
	return f
}

// faults returns the wrapper's state, whichever of the wrapper types
// embeds it.
func (f *faultStore) faults() *faultStore { return f }

// faultLinker and faultWriterLinker add Link to the wrappers of a store
// that can link.
type (
	faultLinker struct {
		*faultStore
		l store.Linker
	}
	faultWriterLinker struct {
		*faultWriter
		l store.Linker
	}
)

func (f faultLinker) Link(ctx context.Context, dst, src, ifVersion string) error {
	return f.link(ctx, f.l, dst, src, ifVersion)
}

func (f faultWriterLinker) Link(ctx context.Context, dst, src, ifVersion string) error {
	return f.link(ctx, f.l, dst, src, ifVersion)
}

// StatsOf returns what the wrapper s, made by New, has counted so far; ok
// is false when s was not made by New.
func StatsOf(s store.Store) (stats Stats, ok bool) {
	w, ok := s.(interface{ faults() *faultStore })
	if !ok {
		return Stats{}, false
	}
	f := w.faults()
	f.mu.Lock()
	defer f.mu.Unlock()
	stats = f.stats
	stats.ByKind = maps.Clone(f.stats.ByKind)
	return stats, true
}

// faultStore injects faults into List, Open and Replace.
type faultStore struct {
	inner store.Store
	rate  float64
	seed  uint64
	delay time.Duration
	kinds map[string][]Kind // by operation: the kinds enabled that apply

	mu    sync.Mutex // guards what follows
	seen  map[uint64]uint64
	stats Stats
}

// faultWriter is a faultStore over a store.Writer.
type faultWriter struct {
	*faultStore
	w store.Writer
}

var (
	_ store.Store  = (*faultStore)(nil)
	_ store.Writer = (*faultWriter)(nil)
	_ store.Linker = faultLinker{}
	_ store.Linker = faultWriterLinker{}
	_ store.Writer = faultWriterLinker{}
)

func newFaults(s store.Store, cfg Config) *faultStore {
	if math.IsNaN(cfg.Rate) || cfg.Rate < 0 || cfg.Rate > 1 {
		panic(fmt.Sprintf("storefault: rate %v is not between 0 and 1", cfg.Rate))
	}
	if cfg.Delay < 0 {
		panic(fmt.Sprintf("storefault: negative delay %v", cfg.Delay))
	}
	enabled := map[Kind]bool{}
	for _, k := range cfg.Kinds {
		if _, ok := kindNames[k]; !ok {
			panic(fmt.Sprintf("storefault: unknown fault kind %v", k))
		}
		enabled[k] = true
	}
	f := &faultStore{
		inner: s,
		rate:  cfg.Rate,
		seed:  cfg.Seed,
		delay: cmp.Or(cfg.Delay, DefaultDelay),
		kinds: map[string][]Kind{},
		seen:  map[uint64]uint64{},
		stats: Stats{ByKind: map[Kind]int{}},
	}
	for op, kinds := range opKinds {
		f.kinds[op] = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool {
			return len(enabled) > 0 && !enabled[k]
		})
	}
	return f
}

// decide counts a call and says which fault it gets (0 for none), with a
// generator for the fault's details that depends only on the seed and the
// call. A call that may not fault (invalid keys, say) or whose context is
// done gets none, so that the inner store answers it.
func (f *faultStore) decide(ctx context.Context, mayFault bool, op string, keys ...string) (Kind, *rand.Rand) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Calls++
	kinds := f.kinds[op]
	if !mayFault || ctx.Err() != nil || f.rate == 0 || len(kinds) == 0 {
		return 0, nil
	}
	h := fnv.New64a()
	h.Write([]byte(op))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
	}
	call := h.Sum64()
	n := f.seen[call]
	f.seen[call] = n + 1
	h.Write(binary.LittleEndian.AppendUint64(nil, n))
	rng := rand.New(rand.NewPCG(f.seed, h.Sum64()))
	if rng.Float64() >= f.rate {
		return 0, nil
	}
	return kinds[rng.IntN(len(kinds))], rng
}

// injected counts one fault of kind k.
func (f *faultStore) injected(k Kind) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Faults++
	f.stats.ByKind[k]++
}

// wait waits for the store's delay or for ctx to be done.
func (f *faultStore) wait(ctx context.Context) error {
	t := time.NewTimer(f.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxPartial bounds the bytes a FailedCopy or a FailedWrite reads before
// it fails.
const maxPartial = 64 << 10

// List implements store.Store.
func (f *faultStore) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	kind, rng := f.decide(ctx, store.ValidatePrefix(prefix) == nil, opList, prefix)
	if kind != Error {
		return f.inner.List(ctx, prefix, fn)
	}
	f.injected(Error)
	after := 0
	if rng.IntN(4) > 0 { // else at once
		after = 1 + rng.IntN(1<<rng.IntN(13))
	}
	if after == 0 {
		return fmt.Errorf("storefault: list %q: %w", prefix, ErrInjected)
	}
	stop := errors.New("stop")
	n := 0
	err := f.inner.List(ctx, prefix, func(o store.Object) error {
		if n == after {
			return stop
		}
		n++
		return fn(o)
	})
	if err != nil && err != stop {
		return err // fn's own error, or the inner store's
	}
	return fmt.Errorf("storefault: list %q: failed after %d objects: %w", prefix, n, ErrInjected)
}

// Open implements store.Store.
func (f *faultStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	kind, rng := f.decide(ctx, store.ValidateKey(key) == nil, opOpen, key)
	switch kind {
	case 0:
		return f.inner.Open(ctx, key)
	case Error:
		f.injected(kind)
		return nil, fmt.Errorf("storefault: open %q: %w", key, ErrInjected)
	}
	rc, err := f.inner.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	f.injected(kind)
	var r io.ReadCloser
	switch kind {
	case ShortRead:
		r = &cutReader{r: rc, keep: rng.Float64()}
	case MidwayError:
		r = &cutReader{r: rc, keep: rng.Float64(), fail: func(n int64) error {
			return fmt.Errorf("storefault: read %q: failed after %d bytes: %w", key, n, ErrInjected)
		}}
	case Slow:
		r = &slowReader{ReadCloser: rc, ctx: ctx, f: f, key: key}
	}
	if v, ok := rc.(store.Versioned); ok {
		return versionedReader{ReadCloser: r, v: v}, nil
	}
	return r, nil
}

// Replace implements store.Store.
func (f *faultStore) Replace(ctx context.Context, dst, src string) error {
	valid := store.ValidateKey(dst) == nil && store.ValidateKey(src) == nil && dst != src
	kind, rng := f.decide(ctx, valid, opReplace, dst, src)
	switch kind {
	case Error:
		f.injected(kind)
		return fmt.Errorf("storefault: replace %q from %q: %w", dst, src, ErrInjected)
	case FailedCopy:
		rc, err := f.inner.Open(ctx, src)
		if err != nil {
			// The copy could not start: fail as the inner Replace would.
			return fmt.Errorf("storefault: replace %q from %q: %w", dst, src, err)
		}
		f.injected(kind)
		n, _ := io.CopyN(io.Discard, rc, rng.Int64N(maxPartial))
		rc.Close()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("storefault: replace %q from %q: %w", dst, src, err)
		}
		return fmt.Errorf("storefault: replace %q from %q: copy failed after %d bytes: %w", dst, src, n, ErrInjected)
	case Slow:
		f.injected(kind)
		if err := f.wait(ctx); err != nil {
			return fmt.Errorf("storefault: replace %q from %q: %w", dst, src, err)
		}
	}
	return f.inner.Replace(ctx, dst, src)
}

// Write implements store.Writer.
func (f *faultWriter) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	kind, rng := f.decide(ctx, store.ValidateKey(key) == nil, opWrite, key)
	switch kind {
	case FailedWrite:
		f.injected(kind)
		n, _ := io.CopyN(io.Discard, r, rng.Int64N(maxPartial))
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("storefault: write %q: %w", key, err)
		}
		return fmt.Errorf("storefault: write %q: failed after sending %d bytes: %w", key, n, ErrInjected)
	case Slow:
		f.injected(kind)
		if err := f.wait(ctx); err != nil {
			return fmt.Errorf("storefault: write %q: %w", key, err)
		}
	}
	return f.w.Write(ctx, key, r, opts)
}

// Delete implements store.Writer. An Error fault fails before the inner
// store is called: nothing is deleted.
func (f *faultWriter) Delete(ctx context.Context, key string, opts store.WriteOptions) error {
	kind, _ := f.decide(ctx, store.ValidateKey(key) == nil, opDelete, key)
	switch kind {
	case Error:
		f.injected(kind)
		return fmt.Errorf("storefault: delete %q: %w", key, ErrInjected)
	case Slow:
		f.injected(kind)
		if err := f.wait(ctx); err != nil {
			return fmt.Errorf("storefault: delete %q: %w", key, err)
		}
	}
	return f.w.Delete(ctx, key, opts)
}

// link is store.Linker's Link over l, the inner store. An Error fault
// fails before the inner store is called: nothing is linked.
func (f *faultStore) link(ctx context.Context, l store.Linker, dst, src, ifVersion string) error {
	valid := store.ValidateKey(dst) == nil && store.ValidateKey(src) == nil
	kind, _ := f.decide(ctx, valid, opLink, dst, src)
	switch kind {
	case Error:
		f.injected(kind)
		return fmt.Errorf("storefault: link %q to %q: %w", dst, src, ErrInjected)
	case Slow:
		f.injected(kind)
		if err := f.wait(ctx); err != nil {
			return fmt.Errorf("storefault: link %q to %q: %w", dst, src, err)
		}
	}
	return l.Link(ctx, dst, src, ifVersion)
}
