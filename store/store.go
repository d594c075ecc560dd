// Package store defines the small storage interface that session recovery
// runs against, the one not-found sentinel, and the rules every key obeys.
//
// A Store holds objects named by keys, in which '/' separates levels, as
// in a bucket or a directory tree; List lists one level at a time, and a
// recovery only the top one. Backends live under backends/; Store -> Store
// wrappers live below this package (store/storefault injects faults), and
// store/storetest is the conformance suite every backend runs. This package
// imports the standard library only.
package store

import (
	"context"
	"io"
	"io/fs"
	"time"
)

// ErrNotExist is returned (wrapped) by every Store when an object is missing.
// It is fs.ErrNotExist, so errors.Is(err, fs.ErrNotExist) and
// errors.Is(err, store.ErrNotExist) are the same test.
var ErrNotExist = fs.ErrNotExist

// Object describes one object met by List.
type Object struct {
	// Key is the object's full key, as accepted by Open and Replace.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ModTime is when the object was last written, as the store records
	// it; the zero time when the store does not say.
	ModTime time.Time
}

// Store is the storage a recovery runs against: list, read, and
// copy-then-replace. Implementations must be safe for concurrent use.
//
// Every method takes a context first; a cancelled context makes the method
// return an error that wraps ctx.Err(). Every key argument is checked with
// ValidateKey and refused, naming the key, when it breaks the key rules.
type Store interface {
	// List calls fn once for every object whose key starts with prefix and
	// holds no '/' after it, in strictly increasing byte-wise
	// (lexicographic) order of Key, streaming: an implementation never
	// gathers every key before the first call.
	//
	// The listing is one level deep, like a bucket listing with the
	// delimiter "/": the empty prefix lists the top of the store, "a" the
	// top-level keys that start with "a" (not "a/x"), and "a/" the keys
	// directly below "a/" (not "a/y/z"). prefix need not end at a '/'.
	// "Directories" are not objects: they are never reported, and never
	// entered, so that an unreadable or very deep folder beside the
	// objects listed neither fails nor slows the listing. (Sessions live at
	// the top of a store; nothing is lost by not looking below.) A prefix
	// whose "directory" does not exist lists nothing.
	//
	// If fn returns an error, List stops and returns that error unchanged.
	// Objects created or removed while List runs may or may not be seen.
	List(ctx context.Context, prefix string, fn func(Object) error) error

	// Open opens the object's bytes for reading. A missing object gives an
	// error for which errors.Is(err, ErrNotExist) holds. Errors met while
	// reading the returned stream are read failures, never end of data.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// Replace gives dst the bytes of src, creating dst if it is missing.
	// A reader of dst sees either its old bytes or all of the new ones,
	// never a mix or a partial object. If Replace fails or ctx is cancelled,
	// dst is left as it was, except after an error wrapping ErrNotDurable:
	// dst then holds the new bytes, not yet confirmed durable. src is never modified. A missing src gives an
	// error for which errors.Is(err, ErrNotExist) holds. dst and src must
	// differ.
	Replace(ctx context.Context, dst, src string) error
}
