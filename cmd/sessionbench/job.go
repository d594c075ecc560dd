package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

// jobCommand is the hidden first argument with which sessionbench runs one
// job in a child process: sessionbench -job-child KIND DIR CONCURRENCY.
const jobCommand = "-job-child"

// The kinds of job a child runs.
const (
	kindCountAll = "count-all"
	kindDefault  = "default"
	// The same as dry runs: read and count, write nothing.
	kindScanCountAll = "scan-count-all"
	kindScan         = "scan"
	kindScanDiff     = "scan-diff" // with the message-level preview
	kindMerge        = "merge"     // recover --merge
	kindRead         = "read"
	kindFloor        = "floor"     // recover's reads and restores, nothing more
	kindFloorAll     = "floor-all" // the same, reading every file as --count-all does
	kindStartup      = "startup"   // nothing: the process's own cost
)

// jobResult is what a child prints on stdout, for the parent to check.
type jobResult struct {
	Scanned  int `json:"scanned"`
	Restored int `json:"restored"`
	Errors   int `json:"errors"`
	// Recommended counts the sessions reported as to be restored.
	Recommended int `json:"recommended"`
	// Merged counts the sessions merged (recover --merge).
	Merged     int    `json:"merged"`
	FirstError string `json:"first_error,omitempty"`
	Files      int    `json:"files"`
	Bytes      int64  `json:"bytes"`
	// PeakRSS is the process's own peak resident set, in bytes, where the
	// system tells it (0 elsewhere).
	PeakRSS int64 `json:"peak_rss"`
}

// runJob is the child's main.
func runJob(args []string, stdout, stderr io.Writer) int {
	if len(args) != 3 {
		fmt.Fprintf(stderr, "sessionbench %s: want KIND DIR CONCURRENCY, got %q\n", jobCommand, args)
		return exitUsage
	}
	kind, dir := args[0], args[1]
	n, err := strconv.Atoi(args[2])
	if err != nil || n < 1 {
		fmt.Fprintf(stderr, "sessionbench %s: bad concurrency %q\n", jobCommand, args[2])
		return exitUsage
	}
	ctx := context.Background()
	var res jobResult
	switch kind {
	case kindCountAll:
		res, err = recoverStore(ctx, dir, recovery.Options{CountAll: true, Concurrency: n})
	case kindDefault:
		res, err = recoverStore(ctx, dir, recovery.Options{Concurrency: n})
	case kindScanCountAll:
		res, err = recoverStore(ctx, dir, recovery.Options{CountAll: true, DryRun: true, Concurrency: n})
	case kindScan:
		res, err = recoverStore(ctx, dir, recovery.Options{DryRun: true, Concurrency: n})
	case kindScanDiff:
		res, err = recoverStore(ctx, dir, recovery.Options{DryRun: true, Diff: true, Concurrency: n})
	case kindMerge:
		res, err = recoverStore(ctx, dir, recovery.Options{Merge: true, Concurrency: n})
	case kindRead:
		res, err = readStore(dir, n)
	case kindFloor, kindFloorAll:
		res, err = floorStore(dir, n, kind == kindFloorAll)
	case kindStartup:
	default:
		fmt.Fprintf(stderr, "sessionbench %s: unknown job %q\n", jobCommand, kind)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "sessionbench %s %s: %v\n", jobCommand, kind, err)
		return exitFail
	}
	res.PeakRSS = ownPeakRSS()
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintf(stderr, "sessionbench %s %s: %v\n", jobCommand, kind, err)
		return exitFail
	}
	return exitOK
}

// recoverStore recovers the store in dir as the command does: the local
// backend through backends.Open, and each status encoded as JSON as soon as
// it is final (here into io.Discard).
func recoverStore(ctx context.Context, dir string, opts recovery.Options) (jobResult, error) {
	s, closeStore, err := backends.Open(ctx, dir)
	if err != nil {
		return jobResult{}, err
	}
	defer closeStore()
	out := bufio.NewWriter(io.Discard)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var res jobResult
	opts.OnStatus = func(st recovery.Status) {
		if err := enc.Encode(st); err != nil && res.FirstError == "" {
			res.FirstError = "encode status: " + err.Error()
		}
		if st.Recommend == recovery.Restore && st.Err == nil {
			res.Recommended++
		}
		if st.Merged {
			res.Merged++
		}
		if st.Err != nil && res.FirstError == "" {
			res.FirstError = st.SessionID + ": " + st.Error
		}
	}
	report, err := recovery.RecoverAll(ctx, s, opts)
	if err != nil {
		return jobResult{}, err
	}
	if err := out.Flush(); err != nil {
		return jobResult{}, err
	}
	res.Scanned, res.Restored, res.Errors = report.Scanned, report.Restored, report.Errors
	return res, nil
}

// ownPeakRSS returns this process's peak resident set size in bytes, from
// /proc/self/status, or 0 where there is none. It is the peak of this
// program alone: the rusage of a child also counts the memory it shared
// with its parent before exec (Go starts processes with vfork), the
// benchmark's own.
func ownPeakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseVmHWM(data)
}

// parseVmHWM reads the "VmHWM:  1234 kB" line of a /proc/PID/status.
func parseVmHWM(status []byte) int64 {
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// readBufSize is the buffer each reader uses: the size msgcount reads with.
const readBufSize = 64 << 10

// readStore lists dir, then reads every regular file in it whole, n at a
// time, each reader with its own reused buffer.
func readStore(dir string, n int) (jobResult, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return jobResult{}, err
	}
	return pool(n, func(units chan<- string) {
		for _, e := range ents {
			if e.Type().IsRegular() {
				units <- e.Name()
			}
		}
	}, func(name string, buf []byte, r *jobResult) error {
		nb, err := readFile(filepath.Join(dir, name), buf)
		r.Files++
		r.Bytes += nb
		return err
	})
}

// pool runs work on every unit feed sends, n at a time, each worker with
// its own reused read buffer and its own tally, and returns the tallies
// summed and the first error.
func pool[U any](n int, feed func(chan<- U), work func(u U, buf []byte, r *jobResult) error) (jobResult, error) {
	units := make(chan U)
	var (
		mu       sync.Mutex
		res      jobResult
		firstErr error
		wg       sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			buf := make([]byte, readBufSize)
			var r jobResult
			for u := range units {
				if err := work(u, buf, &r); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
			mu.Lock()
			res.Files += r.Files
			res.Bytes += r.Bytes
			res.Restored += r.Restored
			mu.Unlock()
		})
	}
	feed(units)
	close(units)
	wg.Wait()
	return res, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// readFile reads the file whole into buf, over and over, and returns its
// length. (io.Copy to io.Discard would use a buffer of its own.)
func readFile(name string, buf []byte) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for {
		n, err := f.Read(buf)
		total += int64(n)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("read %s: %w", name, err)
		}
	}
}
