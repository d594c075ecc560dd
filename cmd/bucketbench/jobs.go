package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/c0fe5641/sessionrecovery/internal/bucketsim"
)

// bench runs the jobs, and keeps what later jobs compare with.
type bench struct {
	cfg config
	exe string
	log io.Writer

	scanSum, recoverSum string            // the reports of scan and recover
	scanCounts          map[string]int    // the requests scan was served
	recoverWrites       map[string]string // what recover wrote: key -> SHA-256
}

// result is one job's figures and checks.
type result struct {
	name      string
	wall      time.Duration
	cpu       time.Duration
	rssKB     int64
	counts    map[string]int
	throttled map[string]int
	checks    []string
	notes     []string
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "%-18s %7.1f s  CPU %6.1f s  peak RSS %6.1f MB  requests %s", r.name, r.wall.Seconds(), r.cpu.Seconds(), float64(r.rssKB)/1024, kinds(r.counts))
	if len(r.throttled) > 0 {
		fmt.Fprintf(w, "  throttled %s", kinds(r.throttled))
	}
	fmt.Fprintln(w)
	for _, c := range r.checks {
		fmt.Fprintf(w, "    ok: %s\n", c)
	}
	for _, n := range r.notes {
		fmt.Fprintf(w, "    %s\n", n)
	}
}

func kinds(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func (b *bench) simConfig(throttle float64) bucketsim.Config {
	return bucketsim.Config{
		Sessions:      b.cfg.sessions,
		BackupShare:   b.cfg.backupShare,
		ShrunkShare:   b.cfg.shrunkShare,
		MedianBytes:   b.cfg.medianBytes,
		Seed:          b.cfg.seed,
		Latency:       b.cfg.latency,
		ThrottleShare: throttle,
	}
}

// started is a simulated bucket serving on loopback.
type started struct {
	*bucketsim.Server
	gate *gate
}

func (b *bench) start(throttle float64, g *gate) (*started, error) {
	cfg := b.simConfig(throttle)
	if g != nil {
		cfg.Hook = g.hook
	}
	srv, err := bucketsim.New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := srv.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return &started{Server: srv, gate: g}, nil
}

// env is the command's environment: this process's, with what a client
// of the simulated bucket needs.
func env() []string {
	e := os.Environ()
	for k, v := range bucketsim.Env() {
		e = append(e, k+"="+v)
	}
	return e
}

// launched runs the command through the launcher; its stdout goes to out.
func (b *bench) launched(ctx context.Context, out string, args ...string) (usage, string, error) {
	if b.cfg.concurrency > 0 {
		args = append(args, fmt.Sprintf("--concurrency=%d", b.cfg.concurrency))
	}
	cmd := exec.CommandContext(ctx, b.exe, append([]string{launchCommand, out, b.cfg.cli}, append(args, "--no-progress")...)...)
	cmd.Env = env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return usage{}, stderr.String(), fmt.Errorf("launcher: %w: %s", err, stderr.String())
	}
	var u usage
	if err := json.Unmarshal(stdout.Bytes(), &u); err != nil {
		return usage{}, stderr.String(), fmt.Errorf("launcher said %q: %w", stdout.String(), err)
	}
	return u, stderr.String(), nil
}

func (b *bench) path(name string) string { return filepath.Join(b.cfg.work, name) }

func (b *bench) job(ctx context.Context, name string) (*result, error) {
	switch name {
	case "scan":
		return b.single(ctx, name, "scan", 0)
	case "scan-throttled":
		return b.single(ctx, name, "scan", b.cfg.throttle)
	case "recover":
		return b.single(ctx, name, "recover", 0)
	case "recover-throttled":
		return b.single(ctx, name, "recover", b.cfg.throttle)
	case "shards":
		return b.shards(ctx)
	case "resume":
		return b.resume(ctx, name, "scan")
	case "recover-resume":
		return b.resume(ctx, name, "recover")
	}
	return nil, fmt.Errorf("unknown job %q", name)
}

// single runs one command over a fresh bucket and checks its report.
func (b *bench) single(ctx context.Context, name, command string, throttle float64) (*result, error) {
	srv, err := b.start(throttle, nil)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	out := b.path(name + ".json")
	u, stderr, err := b.launched(ctx, out, command, "--json", srv.Location())
	if err != nil {
		return nil, err
	}
	r := &result{name: name, wall: u.Wall, cpu: u.CPU, rssKB: u.MaxRSSKB, counts: srv.Counts(), throttled: srv.Throttled()}
	if u.Exit != 0 {
		return r, fmt.Errorf("exit status %d: %s", u.Exit, lastLines(stderr, 5))
	}
	if err := b.check(r, srv, command, out, 1); err != nil {
		return r, err
	}
	sum, err := fileSum(out)
	if err != nil {
		return r, err
	}
	switch {
	case command == "scan" && throttle == 0:
		b.scanSum, b.scanCounts = sum, r.counts
	case command == "recover" && throttle == 0:
		b.recoverSum, b.recoverWrites = sum, writes(srv)
	case command == "scan":
		if err := b.sameAs(r, "scan", b.scanSum, sum); err != nil {
			return r, err
		}
		if b.scanCounts != nil && !maps.Equal(b.scanCounts, r.counts) {
			return r, fmt.Errorf("throttled, the requests served were %s; scan's were %s", kinds(r.counts), kinds(b.scanCounts))
		}
		r.checks = append(r.checks, "the requests served are scan's: every throttled request was retried, none was added")
	case command == "recover":
		if err := b.sameAs(r, "recover", b.recoverSum, sum); err != nil {
			return r, err
		}
		if err := b.sameWrites(r, srv); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (b *bench) sameAs(r *result, job, want, got string) error {
	if want == "" {
		r.notes = append(r.notes, "("+job+" did not run: its report is not compared)")
		return nil
	}
	if want != got {
		return fmt.Errorf("the report differs from %s's", job)
	}
	r.checks = append(r.checks, "the report is "+job+"'s, byte for byte")
	return nil
}

func (b *bench) sameWrites(r *result, srv *started) error {
	if b.recoverWrites == nil {
		return nil
	}
	if got := writes(srv); !maps.Equal(got, b.recoverWrites) {
		return fmt.Errorf("wrote %d objects, not recover's %d (or not the same bytes)", len(got), len(b.recoverWrites))
	}
	r.checks = append(r.checks, "the bucket holds what recover wrote, byte for byte")
	return nil
}

// writes is what the command wrote to the bucket: key -> SHA-256.
func writes(srv *started) map[string]string {
	out := map[string]string{}
	for k, v := range srv.Overlay() {
		out[k] = fmt.Sprintf("%x", sha256sum(v))
	}
	return out
}

// check reads the report: the sessions advised a restore (or restored)
// must be exactly the shrunk ones, none with an error; and the requests
// must keep to the budget of that many listings of the bucket.
func (b *bench) check(r *result, srv *started, command, report string, listings int) error {
	t := srv.Totals()
	rep, err := readReport(report)
	if err != nil {
		return err
	}
	if rep.scanned != t.Sessions {
		return fmt.Errorf("the report has %d sessions, the bucket %d", rep.scanned, t.Sessions)
	}
	if rep.errors > 0 {
		return fmt.Errorf("%d sessions failed", rep.errors)
	}
	if rep.toRestore != t.Shrunk {
		return fmt.Errorf("%d sessions advised a restore, %d are shrunk", rep.toRestore, t.Shrunk)
	}
	r.checks = append(r.checks, fmt.Sprintf("%d sessions reported, none failed; the %d shrunk advised a restore", rep.scanned, t.Shrunk))
	if command == "recover" {
		if rep.restored != t.Shrunk {
			return fmt.Errorf("%d restored, %d shrunk", rep.restored, t.Shrunk)
		}
		w := writes(srv)
		kept := 0
		for k := range w {
			if strings.HasSuffix(k, ".json.replaced") {
				kept++
			}
		}
		if len(w) != 2*t.Shrunk || kept != t.Shrunk {
			return fmt.Errorf("%d objects written (%d kept copies) for %d restores", len(w), kept, t.Shrunk)
		}
		r.checks = append(r.checks, fmt.Sprintf("%d restored, each with its replaced bytes kept; nothing else written", rep.restored))
	}
	return b.budget(r, t, command, listings)
}

// budget checks the requests served: the listing's pages (and the few
// probes that split it into ranges listed at once), two reads a session
// with a backup (and two uploads a restore), never a HEAD.
func (b *bench) budget(r *result, t bucketsim.Totals, command string, listings int) error {
	c := r.counts
	pages := (t.Objects + 999) / 1000
	wantGets := 2 * t.Backups
	wantPuts := 0
	if command == "recover" {
		wantPuts = 2 * t.Shrunk
	}
	var bad []string
	if c["head"] > 0 {
		bad = append(bad, fmt.Sprintf("%d HEAD", c["head"]))
	}
	if c["get"] != wantGets {
		bad = append(bad, fmt.Sprintf("%d GET, want %d", c["get"], wantGets))
	}
	if c["put"] != wantPuts {
		bad = append(bad, fmt.Sprintf("%d PUT, want %d", c["put"], wantPuts))
	}
	maxList := listings * (pages + maxListOverhead)
	if c["list"] < listings*pages || c["list"] > maxList {
		bad = append(bad, fmt.Sprintf("%d list requests, want %d pages (at most %d with the ranges' probes and ends)", c["list"], listings*pages, maxList))
	}
	if c["copy"]+c["delete"]+c["other"] > 0 {
		bad = append(bad, fmt.Sprintf("copy %d, delete %d, other %d", c["copy"], c["delete"], c["other"]))
	}
	if len(bad) > 0 {
		return fmt.Errorf("request budget: %s", strings.Join(bad, "; "))
	}
	r.checks = append(r.checks, fmt.Sprintf("requests within the budget: %d list (%d pages of 1,000 keys), %d GET (2 a backup), %d PUT, no HEAD", c["list"], listings*pages, c["get"], c["put"]))
	return nil
}

// maxListOverhead bounds the list requests beyond the pages, per listing:
// the probes that sample the key space and the one extra page each range
// may read past its end.
const maxListOverhead = 600

// shards runs four shards at once, each a process, and merges their
// reports.
func (b *bench) shards(ctx context.Context) (*result, error) {
	srv, err := b.start(0, nil)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	const n = 4
	r := &result{name: "shards"}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		files []string
	)
	start := time.Now()
	for k := range n {
		out := b.path(fmt.Sprintf("shard-%d.json", k))
		files = append(files, out)
		wg.Go(func() {
			u, stderr, err := b.launched(ctx, out, "scan", "--json", fmt.Sprintf("--shard=%d/%d", k, n), srv.Location())
			mu.Lock()
			defer mu.Unlock()
			if err == nil && u.Exit != 0 {
				err = fmt.Errorf("shard %d: exit status %d: %s", k, u.Exit, lastLines(stderr, 5))
			}
			if first == nil {
				first = err
			}
			r.rssKB = max(r.rssKB, u.MaxRSSKB)
			r.cpu += u.CPU
		})
	}
	wg.Wait()
	r.wall = time.Since(start)
	r.counts, r.throttled = srv.Counts(), srv.Throttled()
	if first != nil {
		return r, first
	}
	merged := b.path("shards-merged.json")
	out, err := os.Create(merged)
	if err != nil {
		return r, err
	}
	cmd := exec.CommandContext(ctx, b.cfg.cli, append([]string{"merge-reports"}, files...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	err = cmd.Run()
	out.Close()
	if err != nil {
		return r, fmt.Errorf("merge-reports: %w: %s", err, stderr.String())
	}
	r.notes = append(r.notes, "four processes at once; the time is the four's, start to the last exit; peak RSS the largest")
	if err := b.check(r, srv, "scan", merged, n); err != nil { // every shard lists the bucket
		return r, err
	}
	sum, err := fileSum(merged)
	if err != nil {
		return r, err
	}
	if err := b.sameAs(r, "scan", b.scanSum, sum); err != nil {
		return r, err
	}
	return r, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// report is what check reads of a JSON report.
type report struct {
	scanned, errors, toRestore, restored int
}

// readReport streams a report's sessions.
func readReport(name string) (report, error) {
	f, err := os.Open(name)
	if err != nil {
		return report{}, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var rep report
	if _, err := dec.Token(); err != nil { // {
		return rep, fmt.Errorf("%s: %w", name, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return rep, fmt.Errorf("%s: %w", name, err)
		}
		if tok != "details" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return rep, err
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // [
			return rep, err
		}
		for dec.More() {
			var st struct {
				Recommend string `json:"recommend"`
				Restored  bool   `json:"restored"`
				Error     string `json:"error"`
			}
			if err := dec.Decode(&st); err != nil {
				return rep, fmt.Errorf("%s: %w", name, err)
			}
			rep.scanned++
			if st.Error != "" {
				rep.errors++
			}
			if st.Recommend == "restore" {
				rep.toRestore++
			}
			if st.Restored {
				rep.restored++
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return rep, err
		}
	}
	return rep, nil
}
