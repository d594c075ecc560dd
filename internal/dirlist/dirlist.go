// Package dirlist lists one directory the way the store.Store contract asks
// of List: the objects whose key starts with the prefix and holds no '/'
// after it, in strictly increasing byte-wise order of key.
//
// It is shared by the file-system backends. It knows nothing about any file
// system: the caller reads the one directory and keeps the entries that are
// objects. No other directory is read: sessions live at the top of a store,
// and a folder beside them (unreadable, or thousands of levels deep) must
// not fail or slow a listing.
package dirlist

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/c0fe5641/sessionrecovery/store"
)

// Entry is an object in the directory read.
type Entry struct {
	// Name is the entry's name within its directory: non-empty, no '/'.
	Name string
	// Size is the object's length in bytes.
	Size int64
	// ModTime is when it was last written, in nanoseconds since the Unix
	// epoch (8 bytes rather than a time.Time's 24, for a directory of
	// hundreds of thousands); 0 when unknown.
	ModTime int64
}

// ReadDir returns the objects of the directory dir whose names start with
// name, in any order. dir is "" for the top of the store, else the
// '/'-joined names of the directories leading to it (such as "a/y"), with
// no trailing '/'. Directories and whatever else is not an object are left
// out; nothing below dir is read.
type ReadDir func(dir, name string) ([]Entry, error)

// Split returns the directory a listing of prefix reads and the start its
// names must have: "a/b" gives "a" and "b", "a/b/" gives "a/b" and "",
// "ab" gives "" and "ab".
func Split(prefix string) (dir, name string) {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return "", prefix
	}
	return prefix[:i], prefix[i+1:]
}

// List calls fn for every entry readDir returns for the directory of
// prefix, in strictly increasing byte-wise order of key: within one
// directory that is the order of names.
//
// A directory whose readDir error wraps fs.ErrNotExist is taken as empty:
// no key starts with prefix. List checks ctx before reading the directory
// and before each call of fn, and returns ctx.Err() when it is set. An
// error from fn or from readDir is returned unchanged.
func List(ctx context.Context, prefix string, readDir ReadDir, fn func(store.Object) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, name := Split(prefix)
	entries, err := readDir(dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	base := ""
	if dir != "" {
		base = dir + "/"
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		o := store.Object{Key: base + e.Name, Size: e.Size}
		if e.ModTime != 0 {
			o.ModTime = time.Unix(0, e.ModTime)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}
