// Package dirlist walks a directory tree in the order the store.Store
// contract asks of List: strictly increasing byte-wise order of full
// '/'-joined keys, streaming, and only where keys can start with a prefix.
//
// It is shared by the file-system backends. It knows nothing about any file
// system: the caller reads one directory at a time and classifies its entries.
package dirlist

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/c0fe5641/sessionrecovery/store"
)

// Kind says what Walk does with an Entry.
type Kind int

const (
	// Skip entries are neither reported nor descended into.
	Skip Kind = iota
	// File entries are objects: reported with their Size.
	File
	// Dir entries are directories: descended into.
	Dir
)

// Entry is one name in a directory, as classified by the caller.
type Entry struct {
	// Name is the entry's name within its directory: non-empty, no '/'.
	Name string
	// Kind says whether the entry is an object, a directory or neither.
	Kind Kind
	// Size is the object's length in bytes; only File entries use it.
	Size int64
}

// ReadDir returns the entries of the directory named by dir, in any order.
// dir is "" for the top of the tree, else the '/'-joined names of the
// directories leading to it (such as "a/y"), with no trailing '/'.
type ReadDir func(dir string) ([]Entry, error)

// Walk calls fn for every File entry in the tree below the top directory
// whose key (its '/'-joined path from the top) starts with prefix, in
// strictly increasing byte-wise order of key. It reads one directory at a
// time, and only the directories that can hold keys starting with prefix.
//
// A directory whose readDir error wraps fs.ErrNotExist is taken as empty: it
// may have been removed while the walk ran. Walk checks ctx before reading
// each directory and before each call of fn, and returns ctx.Err() when it is
// set. An error from fn or from readDir stops the walk and is returned
// unchanged.
func Walk(ctx context.Context, prefix string, readDir ReadDir, fn func(store.Object) error) error {
	return walk(ctx, "", prefix, readDir, fn)
}

// walk reports the keys found in and below the directory dir.
func walk(ctx context.Context, dir, prefix string, readDir ReadDir, fn func(store.Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := readDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	base := ""
	if dir != "" {
		base = dir + "/"
	}
	// A directory's keys all start with its name and a '/', so it sorts as
	// that: "a-b.json" < "a.json" < "a/..." < "a0". No name holds a '/', so
	// no other name can fall among the directory's keys.
	slices.SortFunc(entries, func(a, b Entry) int {
		return strings.Compare(sortName(a), sortName(b))
	})
	for _, e := range entries {
		key := base + e.Name
		switch e.Kind {
		case File:
			if !strings.HasPrefix(key, prefix) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(store.Object{Key: key, Size: e.Size}); err != nil {
				return err
			}
		case Dir:
			// Descend when every key below starts with prefix, or when
			// prefix goes on below this directory.
			sub := key + "/"
			if !strings.HasPrefix(sub, prefix) && !strings.HasPrefix(prefix, sub) {
				continue
			}
			if err := walk(ctx, key, prefix, readDir, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortName(e Entry) string {
	if e.Kind == Dir {
		return e.Name + "/"
	}
	return e.Name
}
