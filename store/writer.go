package store

import (
	"context"
	"errors"
	"io"
)

// ErrChanged is wrapped by the error of a conditional write whose condition
// no longer held: the object changed, vanished or appeared since the
// caller looked. Nothing was written.
var ErrChanged = errors.New("object changed since it was read")

// ErrNotDurable is wrapped by the error of a Write, Replace, Link or
// Delete whose change was made, so that readers already see it, but could
// not be confirmed durable (the final sync of the directory failed): a
// crash may still undo it. The caller must treat the change as done, not
// as failed. No other error of those methods leaves a change behind.
var ErrNotDurable = errors.New("change made, but not confirmed durable")

// Versioned is implemented by the readers that Open returns when the store
// can tell which version of the object is being read.
type Versioned interface {
	// Version identifies the bytes being read: an ETag, a generation, a
	// file's identity and modification time. "" means unknown.
	Version() string
}

// Version returns the version of the object rc reads, or "" when the store
// does not tell (rc does not implement Versioned).
func Version(rc io.Reader) string {
	if v, ok := rc.(Versioned); ok {
		return v.Version()
	}
	return ""
}

// WriteOptions are the preconditions of a Write. With none, Write always
// writes.
type WriteOptions struct {
	// IfVersion, when set, writes only if the object still has this
	// version, as Versioned reported it.
	IfVersion string
	// IfNotExist writes only if the object does not exist.
	IfNotExist bool
	// PermOf, when set, names the key whose permissions (and owner and
	// group, where the store has them and may set them) a new object
	// gets, on stores whose objects have them (files), so that a copy is
	// never more widely readable than its source; other stores ignore it.
	PermOf string
}

// Writer is a Store that can also write and delete whole objects. It is
// optional:
// recovery needs only Store, and uses Writer when a store offers it, to
// restore a session only if no one saved it since it was read.
type Writer interface {
	Store
	// Write gives key the bytes read from r, whole: a reader of key sees
	// the old bytes or all of the new ones. If a precondition of opts no
	// longer holds, Write changes nothing and returns an error wrapping
	// ErrChanged. A failure, a read error from r or a cancelled context
	// leaves key as it was, except an error wrapping ErrNotDurable: the
	// new bytes are then in place. (Over a network, a request whose answer
	// was lost may have taken effect all the same: callers that must know
	// read the object again.)
	Write(ctx context.Context, key string, r io.Reader, opts WriteOptions) error

	// Delete removes key. A missing key gives an error for which
	// errors.Is(err, ErrNotExist) holds. With opts.IfVersion set, it
	// removes key only if it still has that version, and otherwise
	// changes nothing and returns an error wrapping ErrChanged
	// (opts.IfNotExist is meaningless here and refused). A store that
	// cannot delete conditionally refuses opts.IfVersion with an error
	// wrapping errors.ErrUnsupported, and deletes nothing.
	Delete(ctx context.Context, key string, opts WriteOptions) error
}

// Linker is a Store that can give an object a second key without copying
// its bytes, as a hard link does. It is optional: recovery uses it, when a
// store offers it, to keep the bytes a restore replaces without writing
// them again (a local store then allocates no file for them).
type Linker interface {
	Store
	// Link makes dst a second key for the bytes src holds, if src still
	// has version ifVersion (any version when it is ""); otherwise it
	// changes nothing and returns an error wrapping ErrChanged. It never
	// replaces an existing dst: that is an error wrapping both ErrChanged
	// and fs.ErrExist, so that a caller can tell a taken name from a
	// changed src.
	// A missing src gives an error for which errors.Is(err, ErrNotExist)
	// holds. An object the store cannot link gives an error wrapping
	// errors.ErrUnsupported, and nothing is changed: copy it instead.
	//
	// The two keys then share the bytes until one of them is replaced
	// (by Write, Replace or Delete): a change made in place to the
	// underlying file, outside the store, shows through both.
	Link(ctx context.Context, dst, src, ifVersion string) error
}
