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

// Store is a store.Writer over a blob bucket. It is safe for concurrent use.
type Store struct {
	b    *blob.Bucket
	cond Conditions
}

var (
	_ store.Writer = (*Store)(nil)
	_ store.Remote = (*Store)(nil)
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
	it := s.b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	prev, first := "", true
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
		if obj.IsDir {
			continue
		}
		if !first && obj.Key <= prev {
			return fmt.Errorf("blob: list %q: the bucket listed %q after %q, out of byte-wise order", prefix, obj.Key, prev)
		}
		prev, first = obj.Key, false
		if err := fn(store.Object{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime}); err != nil {
			return err
		}
	}
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
