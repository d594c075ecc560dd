package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func sha256sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// gate stops the simulated bucket at a chosen request: from the k-th GET
// on, every request waits until release, so that the command can be
// killed at a known point, with nothing served after it.
type gate struct {
	k       int64
	gets    atomic.Int64
	once    sync.Once
	tripped chan struct{}
	release chan struct{}
}

func newGate(k int) *gate {
	return &gate{k: int64(k), tripped: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) hook(kind string) {
	if kind == "get" && g.gets.Add(1) == g.k {
		g.once.Do(func() { close(g.tripped) })
	}
	select {
	case <-g.tripped:
		<-g.release
	default:
	}
}

// resume runs command with a journal, kills it (SIGKILL) when half of the
// backups have been read, then runs it again with the same journal, and
// checks that the two together did what one run does.
func (b *bench) resume(ctx context.Context, name, command string) (*result, error) {
	sim := b.simConfig(0)
	backups := int(float64(sim.Sessions) * sim.BackupShare)
	g := newGate(max(1, backups)) // of 2 reads a backup: half way
	srv, err := b.start(0, g)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	journal := b.path(name + ".journal")
	os.Remove(journal)
	args := []string{command, "--json", "--no-progress", "--resume", journal, srv.Location()}
	if b.cfg.concurrency > 0 {
		args = append(args, fmt.Sprintf("--concurrency=%d", b.cfg.concurrency))
	}
	first := exec.CommandContext(ctx, b.cfg.cli, args...)
	first.Env = env()
	firstOut, err := os.Create(b.path(name + "-killed.json"))
	if err != nil {
		return nil, err
	}
	defer firstOut.Close()
	first.Stdout = firstOut
	start := time.Now()
	if err := first.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
	select {
	case <-g.tripped:
		first.Process.Kill()
		<-exited
	case err := <-exited:
		close(g.release)
		return nil, fmt.Errorf("the first run ended (%v) before the kill point", err)
	}
	killedAfter := time.Since(start)
	close(g.release)
	firstCounts := srv.Counts()
	srv.Reset()

	out := b.path(name + ".json")
	u, stderr, err := b.launched(ctx, out, command, "--json", "--resume", journal, srv.Location())
	if err != nil {
		return nil, err
	}
	r := &result{name: name, wall: u.Wall, cpu: u.CPU, rssKB: u.MaxRSSKB, counts: srv.Counts(), throttled: srv.Throttled()}
	if u.Exit != 0 {
		return r, fmt.Errorf("the continued run: exit status %d: %s", u.Exit, lastLines(stderr, 5))
	}
	entries, finished, early := journalStats(journal)
	r.notes = append(r.notes,
		fmt.Sprintf("killed after %.1f s, at GET %d; that run was served %s", killedAfter.Seconds(), g.k, kinds(firstCounts)),
		fmt.Sprintf("the continued run (the figures above) reported the rest; the journal holds %d entries, %d sessions finished, %d restores noted as made", entries, finished, early))
	t := srv.Totals()
	gets := firstCounts["get"] + r.counts["get"]
	want := 2 * t.Backups
	r.notes = append(r.notes, fmt.Sprintf("GETs of the two runs together: %d, one run's: %d (the difference: the sessions in flight at the kill, read again)", gets, want))
	sum, err := fileSum(out)
	if err != nil {
		return r, err
	}
	switch command {
	case "scan":
		if err := b.sameAs(r, "scan", b.scanSum, sum); err != nil {
			return r, err
		}
	case "recover":
		if err := b.sameAs(r, "recover", b.recoverSum, sum); err != nil {
			return r, err
		}
		if err := b.sameWritesAfterKill(r, srv); err != nil {
			return r, err
		}
	}
	return r, nil
}

// sameWritesAfterKill compares what the two runs wrote with what recover
// wrote: the same objects, except that a session whose live bytes were
// kept and not yet restored at the kill is kept again (.replaced.2, the
// same bytes) by the continued run.
func (b *bench) sameWritesAfterKill(r *result, srv *started) error {
	if b.recoverWrites == nil {
		return nil
	}
	got := writes(srv)
	for k, v := range b.recoverWrites {
		if got[k] != v {
			return fmt.Errorf("%q: not what recover wrote", k)
		}
	}
	again := 0
	for k, v := range got {
		if _, ok := b.recoverWrites[k]; ok {
			continue
		}
		base, _, ok := strings.Cut(k, ".json.replaced.")
		if !ok || got[base+".json.replaced"] != v {
			return fmt.Errorf("%q: written, and not by recover", k)
		}
		again++
	}
	r.checks = append(r.checks, "the bucket holds what recover wrote, byte for byte")
	if again > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d sessions kept a second time (.replaced.2, the same bytes): their copy was made and their restore not at the kill", again))
	}
	return nil
}

// journalStats counts a journal's entries, the sessions finished, and the
// early entries (restores noted as they were made); intents (restores
// about to be made) are entries, and neither of the others.
func journalStats(name string) (entries, finished, early int) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, 0, 0
	}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		if l == "" {
			continue
		}
		entries++
		switch {
		case strings.Contains(l, `"intent":true`):
		case strings.Contains(l, `"early":true`):
			early++
		case !strings.Contains(l, `"cut":true`):
			finished++
		}
	}
	return entries, finished, early
}
