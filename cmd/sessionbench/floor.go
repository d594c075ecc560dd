package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/c0fe5641/sessionrecovery/msgcount"
)

// The floor jobs: the least a recovery that keeps its durability promise
// can do, measured beside it. They read what the recover job reads (a
// session's live document and backup; with "all", every file, as
// --count-all does), with the same concurrency, and make the same restores
// with the least I/O a restore reported done may take: the backup's bytes
// written to a new file, synced, renamed over the live document, and the
// directory synced, one directory sync shared by the restores waiting for
// it (group commit). They count nothing and keep nothing: which sessions
// to restore is told them, from a count made before the timed runs.

// restoresEnv names the file, one session id a line, of the sessions the
// floor jobs restore.
const restoresEnv = "SESSIONBENCH_RESTORES"

// writeRestores counts the store's pairs once (not timed) and writes the
// ids of the sessions a recovery restores to a file in dir.
func writeRestores(store, dir string) (path string, n int, err error) {
	ents, err := os.ReadDir(store)
	if err != nil {
		return "", 0, err
	}
	have := map[string]bool{}
	for _, e := range ents {
		have[e.Name()] = true
	}
	var ids []string
	for _, e := range ents {
		name := e.Name()
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || strings.HasPrefix(name, "_") || !have[name+".bak"] {
			continue
		}
		live, err := countFile(filepath.Join(store, name))
		if err != nil {
			return "", 0, err
		}
		bak, err := countFile(filepath.Join(store, name+".bak"))
		if err != nil {
			return "", 0, err
		}
		if bak > live {
			ids = append(ids, id)
		}
	}
	path = filepath.Join(dir, "restores")
	return path, len(ids), os.WriteFile(path, []byte(strings.Join(ids, "\n")), 0o644)
}

func countFile(name string) (int, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return msgcount.Count(f)
}

// floorStore is the floor job's main: it reads and restores as described
// above, and reports the files and bytes read and the restores made.
func floorStore(dir string, n int, all bool) (jobResult, error) {
	list, err := os.ReadFile(os.Getenv(restoresEnv))
	if err != nil {
		return jobResult{}, fmt.Errorf("the list of sessions to restore (%s): %w", restoresEnv, err)
	}
	restore := map[string]bool{}
	for id := range strings.Lines(string(list)) {
		restore[strings.TrimSpace(id)] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return jobResult{}, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	d, err := os.Open(dir)
	if err != nil {
		return jobResult{}, err
	}
	defer d.Close()
	syncer := newDirSyncer(d)
	defer syncer.stop()

	// A unit of work is a session with its backup, or, with all, any other
	// file read alone.
	type unit struct{ live, bak string }
	have := map[string]bool{}
	for _, name := range names {
		have[name] = true
	}
	res, err := pool(n, func(units chan<- unit) {
		for _, name := range names {
			switch {
			case strings.HasSuffix(name, ".json") && have[name+".bak"]:
				units <- unit{live: name, bak: name + ".bak"}
			case strings.HasSuffix(name, ".json.bak") && have[strings.TrimSuffix(name, ".bak")]:
				// read with its session
			case all:
				units <- unit{live: name}
			}
		}
	}, func(u unit, buf []byte, r *jobResult) error {
		nb, err := readFile(filepath.Join(dir, u.live), buf)
		r.Files++
		r.Bytes += nb
		if err != nil || u.bak == "" {
			return err
		}
		if !restore[strings.TrimSuffix(u.live, ".json")] {
			nb, err := readFile(filepath.Join(dir, u.bak), buf)
			r.Files++
			r.Bytes += nb
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, u.bak))
		r.Files++
		r.Bytes += int64(len(b))
		if err != nil {
			return err
		}
		if err := durableReplace(dir, u.live, b, syncer); err != nil {
			return err
		}
		r.Restored++
		return nil
	})
	res.Scanned = len(restore) // for the report; not a count
	return res, err
}

// durableReplace writes b to a new file beside name, syncs it, renames it
// over name and waits for a sync of the directory.
func durableReplace(dir, name string, b []byte, syncer *dirSyncer) error {
	f, err := os.CreateTemp(dir, "."+name+".floor-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncer.sync()
}

// dirSyncer syncs a directory for the restores that ask, one sync for all
// those waiting when it starts: a restore is answered by a sync that began
// after it asked.
type dirSyncer struct {
	d    *os.File
	asks chan chan error
	done chan struct{}
}

func newDirSyncer(d *os.File) *dirSyncer {
	s := &dirSyncer{d: d, asks: make(chan chan error), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *dirSyncer) run() {
	defer close(s.done)
	for first := range s.asks {
		waiting := []chan error{first}
	more:
		for {
			select {
			case a, ok := <-s.asks:
				if !ok {
					break more
				}
				waiting = append(waiting, a)
			default:
				break more
			}
		}
		err := s.d.Sync()
		for _, a := range waiting {
			a <- err
		}
	}
}

func (s *dirSyncer) sync() error {
	a := make(chan error, 1)
	s.asks <- a
	return <-a
}

func (s *dirSyncer) stop() {
	close(s.asks)
	<-s.done
}
