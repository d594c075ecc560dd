// Package sessiongen writes synthetic session stores for benchmarks and
// tests: directories of chat sessions, <id>.json, some with a backup,
// <id>.json.bak, some of those shrunk (the live document has fewer messages
// than its backup, so that recovery restores it).
//
// The documents look like what chat applications save: OpenAI-style
// sessions whose messages (system, user, assistant, tool) hold prose with
// accents, CJK and emoji, code blocks, quotes, backslashes and tabs; whose
// assistant messages carry tool calls with JSON arguments held in strings;
// with numbers, booleans and nulls around them. Each session is serialised
// as one of the applications it imitates would: Python's json.dumps (every
// non-ASCII character escaped, ", " separators), json.dump with indent=2,
// JSON.stringify, or Go's encoding/json.
//
// Everything is determined by the seed: the same Shape writes a
// byte-identical store, whatever the number of cores (built with the same
// Go version for the same architecture, since floating-point functions
// may round differently elsewhere).
package sessiongen

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
)

// Shape describes a store to generate.
type Shape struct {
	// Sessions is the number of sessions (live documents).
	Sessions int
	// BackupShare is the share of sessions that have a backup.
	BackupShare float64
	// ShrunkShare is the share of the sessions with a backup whose live
	// document has fewer messages than the backup. The other backups have
	// as many messages as the live document or fewer.
	ShrunkShare float64
	// MedianBytes is the median size of a session's full document; sizes
	// are log-normal around it, between MinBytes and MaxFactor times it.
	MedianBytes int
	// Sigma is the standard deviation of the sizes' logarithm.
	Sigma float64
	// Seed determines every byte of the store.
	Seed uint64
}

// Bounds of a session's size.
const (
	// MinBytes is the smallest full document drawn (a metadata-only stub
	// is smaller); a median below it is raised to it.
	MinBytes = 256
	// MaxFactor caps a full document at MaxFactor times the median.
	MaxFactor = 40
)

// bytesPerMessage is the average size of a message in a generated
// session; the number of messages follows from the size drawn.
const bytesPerMessage = 900

// Default is the shape of the store in the issue this benchmark answers:
// 10,000 sessions, 30% with a backup, 30% of those shrunk, a median
// session of 24 KiB. The store it writes holds 13,000 files, 345 MB: a
// sigma of 0.5 is what keeps both the median and its total (about
// 344 MB); a wider spread would give a larger total.
func Default() Shape {
	return Shape{
		Sessions:    10_000,
		BackupShare: 0.30,
		ShrunkShare: 0.30,
		MedianBytes: 24 << 10,
		Sigma:       0.5,
		Seed:        1,
	}
}

// Counts returns how many sessions of the shape have a backup, and how many
// of those are shrunk: the share of Sessions (then of the backups),
// rounded to the nearest whole number.
func (sh Shape) Counts() (backups, shrunk int) {
	backups = int(math.Round(float64(sh.Sessions) * sh.BackupShare))
	shrunk = int(math.Round(float64(backups) * sh.ShrunkShare))
	return backups, shrunk
}

func (sh Shape) validate() error {
	switch {
	case sh.Sessions < 0:
		return fmt.Errorf("sessiongen: %d sessions: want 0 or more", sh.Sessions)
	case !(sh.BackupShare >= 0 && sh.BackupShare <= 1):
		return fmt.Errorf("sessiongen: backup share %v: want 0 to 1", sh.BackupShare)
	case !(sh.ShrunkShare >= 0 && sh.ShrunkShare <= 1):
		return fmt.Errorf("sessiongen: shrunk share %v: want 0 to 1", sh.ShrunkShare)
	case sh.MedianBytes <= 0:
		return fmt.Errorf("sessiongen: median size %d bytes: want more than 0", sh.MedianBytes)
	case !(sh.Sigma >= 0 && sh.Sigma <= 4):
		return fmt.Errorf("sessiongen: sigma %v: want 0 to 4", sh.Sigma)
	}
	return nil
}

// Stats describes a store written.
type Stats struct {
	// Files and Bytes count every file written.
	Files int
	Bytes int64
	// Sessions counts the live documents, Backups the backups, Shrunk the
	// sessions whose live document has fewer messages than its backup: the
	// sessions a recovery restores.
	Sessions, Backups, Shrunk int
	// Messages counts the messages of the live documents.
	Messages int64
}

func (s *Stats) add(o Stats) {
	s.Files += o.Files
	s.Bytes += o.Bytes
	s.Sessions += o.Sessions
	s.Backups += o.Backups
	s.Shrunk += o.Shrunk
	s.Messages += o.Messages
}

// Write writes a store of the given shape into dir, creating dir if
// needed: <id>.json for each session, <id>.json.bak for those with a
// backup. It refuses to overwrite a file that exists. Sessions are
// generated on all cores; the bytes do not depend on their number.
func Write(dir string, shape Shape) (Stats, error) {
	if err := shape.validate(); err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("sessiongen: %w", err)
	}
	backups, shrunk := shape.Counts()
	// A random permutation ranks the sessions: the first ranks have a
	// backup, the very first are shrunk. The counts are then exact.
	rank := rand.New(rand.NewPCG(shape.Seed, 0x9e3779b97f4a7c15)).Perm(shape.Sessions)

	var (
		mu       sync.Mutex
		total    Stats
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	stop := make(chan struct{})
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var g storeGen
			var mine Stats
			for i := range next {
				r := rank[i]
				st, err := g.session(dir, shape, i, r < backups, r < shrunk)
				mine.add(st)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						close(stop)
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			total.add(mine)
			mu.Unlock()
		})
	}
feed:
	for i := range shape.Sessions {
		select {
		case next <- i:
		case <-stop:
			break feed
		}
	}
	close(next)
	wg.Wait()
	return total, firstErr
}

// storeGen is one worker of Write, with its reused buffers.
type storeGen struct {
	buf bytes.Buffer
	id  []byte
}

// session writes session i and its backup, if it has one.
func (g *storeGen) session(dir string, shape Shape, i int, hasBackup, shrunk bool) (Stats, error) {
	d := g.documents(shape, i, hasBackup, shrunk)
	name := filepath.Join(dir, string(g.id)+".json")
	nb, err := g.write(d.s, name, d.chunks[:d.live], d.liveUpdated)
	st := Stats{Sessions: 1, Files: 1, Bytes: nb, Messages: int64(d.live)}
	if shrunk {
		st.Shrunk = 1
	}
	if err != nil || d.bak < 0 {
		return st, err
	}
	nb, err = g.write(d.s, name+".bak", d.chunks[:d.bak], d.bakUpdated)
	st.Files++
	st.Bytes += nb
	st.Backups = 1
	return st, err
}

// drawn is one session as drawn from its seed, before it is serialised:
// its messages, and how many of them its live document and its backup
// hold (bak -1: no backup).
type drawn struct {
	s                       *session
	chunks                  [][]byte
	live, bak               int
	liveUpdated, bakUpdated float64
}

// documents draws session i of shape; its id is left in g.id.
func (g *storeGen) documents(shape Shape, i int, hasBackup, shrunk bool) drawn {
	rng := rand.New(rand.NewPCG(shape.Seed, uint64(i)))
	size := drawSize(rng, shape.MedianBytes, shape.Sigma)
	n := max(1, int(math.Round(float64(size)/bytesPerMessage*math.Exp(0.3*rng.NormFloat64()))))
	// Ids sort in the order of i, and their random part makes them look
	// like the ids of real applications.
	g.id = strconv.AppendInt(g.id[:0], int64(i), 10)
	for len(g.id) < 7 {
		g.id = append([]byte{'0'}, g.id...)
	}
	g.id = randomID(append(g.id, '_'), rng, "", 10)
	s := newSession(rng, g.id)
	chunks := s.messages(size, n)
	full := s.updated

	d := drawn{s: s, chunks: chunks, live: n, bak: -1, liveUpdated: full, bakUpdated: full}
	switch {
	case shrunk:
		d.bak = n
		if rng.IntN(2) == 0 {
			d.live = 0 // a metadata-only stub
		} else {
			d.live = rng.IntN(n)
		}
		d.liveUpdated = full + float64(1+rng.IntN(86400))
	case hasBackup:
		d.bak = n
		if rng.IntN(10) >= 3 {
			d.bak = max(0, n-1-rng.IntN(max(1, n/2)))
		}
		d.bakUpdated = full - float64(rng.IntN(86400))
	}
	return d
}

// Session returns session i of shape, with or without a backup, shrunk or
// not, as Write would write it: its id, its live document, and its backup
// (nil when it has none). Write decides which sessions have a backup from
// a permutation of them all; Session leaves that to its caller, such as a
// simulated bucket that serves documents it never stores.
func (sh Shape) Session(i int, hasBackup, shrunk bool) (id string, live, bak []byte) {
	var g storeGen
	d := g.documents(sh, i, hasBackup || shrunk, shrunk)
	var buf bytes.Buffer
	_ = d.s.write(&buf, d.chunks[:d.live], d.liveUpdated) // a bytes.Buffer does not fail
	live = bytes.Clone(buf.Bytes())
	if d.bak >= 0 {
		buf.Reset()
		_ = d.s.write(&buf, d.chunks[:d.bak], d.bakUpdated)
		bak = bytes.Clone(buf.Bytes())
	}
	return string(g.id), live, bak
}

func (g *storeGen) write(s *session, name string, chunks [][]byte, updated float64) (int64, error) {
	g.buf.Reset()
	if err := s.write(&g.buf, chunks, updated); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, fmt.Errorf("sessiongen: %w", err)
	}
	_, err = f.Write(g.buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("sessiongen: write %s: %w", name, err)
	}
	return int64(g.buf.Len()), nil
}

func drawSize(rng *rand.Rand, median int, sigma float64) int {
	median = max(median, MinBytes)
	size := float64(median) * math.Exp(sigma*rng.NormFloat64())
	return int(min(max(size, MinBytes), float64(median)*MaxFactor))
}
