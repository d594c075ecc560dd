// Package blobstore is a store.Store over any gocloud.dev/blob bucket: S3,
// GCS, Azure Blob Storage, in-memory, and the rest of gocloud's drivers.
//
// It takes an open *blob.Bucket and imports no driver: whoever opens the
// bucket chooses the cloud SDK (backends.Open does it for URLs). Listing
// streams page by page, one level deep (the delimiter "/"). Replace is a server-side copy, which readers see
// whole. Write uploads a whole object with ContentType application/json,
// and honours WriteOptions.IfNotExist on every driver; IfVersion and
// versions on reads need the driver's Conditions (see the s3cond, gcscond
// and azurecond packages), without which reads report no version and
// IfVersion writes are refused. The s3cond Conditions also correct the
// copy source of s3blob's copies (see CopyHook): without them, Replace of a
// key with a space fails on S3 servers other than AWS, such as SeaweedFS.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/c0fe5641/sessionrecovery/store"
)

// Conditions reaches one cloud's object versions through gocloud's As
// hooks, for conditional writes.
type Conditions interface {
	// Version returns the version of the object r reads (an ETag, a
	// generation), or "" if it cannot tell.
	Version(r *blob.Reader) string
	// IfVersion returns a blob.WriterOptions.BeforeWrite hook that makes
	// the write happen only if the object still has version.
	IfVersion(version string) func(asFunc func(any) bool) error
}

// CopyHook is what a Conditions also implements when its driver's
// server-side copies need their request corrected: Replace passes
// BeforeCopy to every Copy as blob.CopyOptions.BeforeCopy. s3cond's
// Conditions implement it.
type CopyHook interface {
	BeforeCopy(asFunc func(any) bool) error
}

// ListHook is what a Conditions also implements when its driver's listings
// can start part-way through the keys: ListAfter passes ListFrom's hook to
// the listing as blob.ListOptions.BeforeList. The Conditions of s3cond and
// gcscond implement it.
type ListHook interface {
	// ListFrom returns a BeforeList hook that makes the listing start at
	// start(prefix), where prefix is the prefix the driver's request
	// carries (the bucket's own and the listing's, escaped as the driver
	// escapes keys): no key before it is listed, and whether the start
	// itself is listed does not matter. start returns "" when the listing
	// must start at the beginning. A hook that finds no request of its
	// driver fails.
	ListFrom(start func(prefix string) string) func(asFunc func(any) bool) error
}

// Store is a store.Writer over a blob bucket. It is safe for concurrent use.
type Store struct {
	b    *blob.Bucket
	cond Conditions
}

var (
	_ store.Writer      = (*Store)(nil)
	_ store.Remote      = (*Store)(nil)
	_ store.RangeLister = (*Store)(nil)
)

// Remote implements store.Remote: a bucket is reached over a network (an
// in-memory bucket says so too, which costs only idle workers).
func (s *Store) Remote() bool { return true }

// Option configures a Store.
type Option func(*Store)

// WithConditions gives the store the version hooks of the bucket's driver.
func WithConditions(c Conditions) Option {
	return func(s *Store) { s.cond = c }
}

// New returns a store over b. It does not close b.
func New(b *blob.Bucket, opts ...Option) *Store {
	s := &Store{b: b}
	for _, o := range opts {
		o(s)
	}
	return s
}

// ContentType is the type of every object Write creates.
const ContentType = "application/json"

// wrap names the operation and key of err, and translates gocloud's
// not-found and failed-precondition codes to store.ErrNotExist and
// store.ErrChanged.
func wrap(op, key string, err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("blob: %s %q: %w (%w)", op, key, store.ErrNotExist, err)
	case gcerrors.FailedPrecondition:
		return fmt.Errorf("blob: %s %q: %w (%w)", op, key, store.ErrChanged, err)
	}
	return fmt.Errorf("blob: %s %q: %w", op, key, err)
}

// List implements store.Store with a listing by prefix and the delimiter
// "/": the bucket reports what lies below the next '/' as one "directory"
// entry, which List skips, so that the objects below the prefix's level
// are never paged through. It fails if the bucket lists keys out of order,
// since recovery pairs sessions and backups by that order.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	if err := store.ValidatePrefix(prefix); err != nil {
		return fmt.Errorf("blob: list: %w", err)
	}
	return s.list(ctx, prefix, &blob.ListOptions{Prefix: prefix, Delimiter: "/"}, window{}, fn)
}

// window is the part of a listing that ListAfter asked for: the keys
// greater than after (all of them when after is "").
type window struct {
	after string
}

// maxPassedOver is how many entries up to a ListAfter's key the bucket
// may list before it is taken to ignore the start it was given: one page
// of S3 or GCS. A bucket that honours the start lists few or none (those
// whose escaped keys sort otherwise than the keys, see ListAfter).
const maxPassedOver = 1000

// list runs the listing opts describes and reports its objects above
// w.after. The bucket may begin below w.after (a start that includes its
// key, or one cut short, see ListAfter), and those first entries are
// passed over; more than maxPassedOver of them mean that it ignored the
// start: list then fails with errors.ErrUnsupported, having reported
// nothing. Once an object is reported, every later one must come after
// it.
func (s *Store) list(ctx context.Context, prefix string, opts *blob.ListOptions, w window, fn func(store.Object) error) error {
	it := s.b.List(opts)
	prev, reported, passed := "", false, 0
	for {
		// Some drivers (memblob) never look at ctx.
		if err := ctx.Err(); err != nil {
			return wrap("list", prefix, err)
		}
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return wrap("list", prefix, err)
		}
		if !reported && w.after != "" && obj.Key <= w.after {
			if passed++; passed > maxPassedOver {
				return fmt.Errorf("blob: list %q after %q: the bucket listed more than %d keys up to it, so it cannot start part-way: %w",
					prefix, w.after, maxPassedOver, errors.ErrUnsupported)
			}
			continue // below the window, where the bucket may begin
		}
		if obj.IsDir {
			continue
		}
		if reported && obj.Key <= prev {
			return fmt.Errorf("blob: list %q: the bucket listed %q after %q, out of byte-wise order", prefix, obj.Key, prev)
		}
		prev, reported = obj.Key, true
		if err := fn(store.Object{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime}); err != nil {
			return err
		}
	}
}

// ListAfter implements store.RangeLister when the store's Conditions
// implement ListHook; otherwise it fails with errors.ErrUnsupported, as it
// does when the bucket turns out to ignore the start it was given (it
// lists more than a page of keys up to after first: fewer are passed
// over, and the result is still right).
//
// The bucket is asked to start at after, or at a prefix of after when
// after holds a character that a driver escapes in keys (a control
// character, '"', '#', '%', '?', '\', '/', DEL, or "__", which starts
// gocloud's escapes), so that its start never passes a key it should
// report; whatever the bucket lists up to after is passed over, and
// the order of what follows is checked as List checks it. Keys that are
// not valid UTF-8 are outside this promise, as they are outside gocloud's
// escaping.
func (s *Store) ListAfter(ctx context.Context, prefix, after string, fn func(store.Object) error) error {
	if err := store.ValidatePrefix(prefix); err != nil {
		return fmt.Errorf("blob: list: %w", err)
	}
	h, ok := s.cond.(ListHook)
	if !ok {
		return fmt.Errorf("blob: list %q after %q: this bucket was opened without a start hook, so it cannot start part-way: %w", prefix, after, errors.ErrUnsupported)
	}
	opts := &blob.ListOptions{Prefix: prefix, Delimiter: "/"}
	var w window
	tail := ""
	switch {
	case after < prefix:
		// Every key listed starts with prefix, so comes after after.
	case !strings.HasPrefix(after, prefix):
		// after comes after every key that starts with prefix.
		if err := ctx.Err(); err != nil {
			return wrap("list", prefix, err)
		}
		return nil
	default:
		w.after = after
		tail = plainStart(after[len(prefix):])
	}
	// The hook is set even when there is no start to give, so that a
	// bucket that could not take one refuses every ListAfter alike.
	declined := false
	hook := h.ListFrom(func(native string) string {
		switch {
		case strings.Contains(native, "__"):
			// An escape, or the start of one that a key could end: no
			// start is safe.
			declined = true
			return ""
		case tail == "", strings.HasSuffix(native, "_") && strings.HasPrefix(tail, "_"):
			// Two underscores that a key could make the start of an
			// escape: start at the beginning.
			return ""
		}
		return native + tail
	})
	opts.BeforeList = func(asFunc func(any) bool) error {
		if err := hook(asFunc); err != nil {
			return err
		}
		if declined {
			return fmt.Errorf(`the listing's prefix holds "__", around which a start key could be escaped: %w`, errors.ErrUnsupported)
		}
		return nil
	}
	return s.list(ctx, prefix, opts, w, fn)
}

// plainStart returns the longest prefix of tail that every driver sends
// as it is, unescaped, and that cannot end or begin one of gocloud's
// "__0x…__" escapes: where the bucket compares escaped keys with it, every
// key greater than tail (after the same prefix) is still not below it.
func plainStart(tail string) string {
	for i := 0; i < len(tail); {
		r, size := utf8.DecodeRuneInString(tail[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20, r == 0x7f, r == '"', r == '#', r == '%', r == '?', r == '\\', r == '/',
			r == '_' && strings.HasPrefix(tail[i:], "__"):
			return tail[:i]
		}
		i += size
	}
	return tail
}

// Open implements store.Store. The reader implements store.Versioned.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := store.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("blob: open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, wrap("open", key, err)
	}
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, wrap("open", key, err)
	}
	rd := &reader{ctx: ctx, r: r, key: key}
	if s.cond != nil {
		rd.version = s.cond.Version(r)
	}
	return rd, nil
}

type reader struct {
	ctx     context.Context
	r       *blob.Reader
	key     string
	version string
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, wrap("read", r.key, err)
	}
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = wrap("read", r.key, err)
	}
	return n, err
}

func (r *reader) Close() error    { return r.r.Close() }
func (r *reader) Version() string { return r.version }

// Replace implements store.Store with a server-side copy.
func (s *Store) Replace(ctx context.Context, dst, src string) error {
	for _, k := range []string{dst, src} {
		if err := store.ValidateKey(k); err != nil {
			return fmt.Errorf("blob: replace: %w", err)
		}
	}
	if dst == src {
		return fmt.Errorf("blob: replace %q from itself", dst)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: replace %q from %q: %w", dst, src, err)
	}
	var opts *blob.CopyOptions
	if h, ok := s.cond.(CopyHook); ok {
		opts = &blob.CopyOptions{BeforeCopy: h.BeforeCopy}
	}
	if err := s.b.Copy(ctx, dst, src, opts); err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return fmt.Errorf("blob: replace %q from %q: %w (%w)", dst, src, store.ErrNotExist, err)
		}
		return fmt.Errorf("blob: replace %q from %q: %w", dst, src, err)
	}
	return nil
}

// Write implements store.Writer with one upload that appears whole when
// it completes; a failed or cancelled upload leaves the object as it was.
func (s *Store) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if err := store.ValidateKey(key); err != nil {
		return fmt.Errorf("blob: write: %w", err)
	}
	wo := &blob.WriterOptions{ContentType: ContentType, IfNotExist: opts.IfNotExist}
	if opts.IfVersion != "" {
		if s.cond == nil {
			return fmt.Errorf("blob: write %q: this bucket was opened without version conditions, so it cannot write only if the version is %q", key, opts.IfVersion)
		}
		wo.BeforeWrite = s.cond.IfVersion(opts.IfVersion)
	}
	// Drivers buffer a whole chunk per upload (16 MiB for GCS); a session
	// is usually far smaller, and a body that fits is sent in one request.
	wo.BufferSize = defaultBufferSize
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader
		wo.BufferSize = max(l.Len()+1, minBufferSize)
	}
	// gocloud's Upload commits what it has read when r fails midway; only
	// a cancelled context makes it abort. So a failing r cancels it.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src := &abortingReader{r: r, abort: cancel}
	// Upload, rather than NewWriter and Close: azureblob's writer panics on
	// Close after a failed upload (gocloud v0.47.0).
	err := s.b.Upload(wctx, key, src, wo)
	if src.err != nil {
		return fmt.Errorf("blob: write %q: read source: %w", key, src.err)
	}
	if err != nil {
		return wrap("write", key, err)
	}
	return nil
}

// Delete implements store.Writer with one delete request. A conditional
// delete (opts.IfVersion) is refused with an error wrapping
// errors.ErrUnsupported: not every service, nor every test server,
// honours conditions on deletes.
func (s *Store) Delete(ctx context.Context, key string, opts store.WriteOptions) error {
	if err := store.ValidateKey(key); err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	if opts.IfVersion != "" || opts.IfNotExist {
		return fmt.Errorf("blob: delete %q: conditional deletes are not supported: %w", key, errors.ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return wrap("delete", key, err)
	}
	if err := s.b.Delete(ctx, key); err != nil {
		return wrap("delete", key, err)
	}
	return nil
}

// abortingReader calls abort before it returns a read error.
type abortingReader struct {
	r     io.Reader
	abort func()
	err   error
}

func (a *abortingReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		a.err = err
		a.abort()
	}
	return n, err
}

const (
	minBufferSize     = 64 << 10
	defaultBufferSize = 1 << 20
)
