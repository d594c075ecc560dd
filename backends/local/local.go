// Package local is a store.Store over a directory on disk, confined to it.
//
// Keys map to paths below the directory, '/' separating directories. Every
// access goes through an os.Root, so no key and no symbolic link ever reaches
// outside the directory. Symbolic links that stay inside it (and are
// relative, as os.Root requires) are followed when they lead to a regular
// file. List reports with Size 0 a link that leads outside the directory
// (whatever it leads to: that is never looked at) or nowhere, and FIFOs,
// sockets and devices (and links to them), so that a recovery can report
// the session they stand in for; Open refuses them all. On Linux it never
// opens a special file, even one renamed over a file while it is opened:
// it decides on an O_PATH handle of the file and reads that same inode.
// Without /proc, and on other systems, one renamed over the file in the
// moment between the check and the open is opened (without blocking)
// before it is refused. Directories, and links to them, are not objects.
//
// List reads one directory, the directory of its prefix, and no other: the
// top of the store for a prefix without '/', so that a folder beside the
// sessions, however deep or unreadable (a root-owned lost+found), never
// fails or slows a scan. A prefix whose directory is missing, is not a
// directory, or is reached through a symbolic link lists nothing.
//
// Replace writes a temporary file next to the destination, named
// "." + base + ".tmp-" + random hex (never ending in ".json"), syncs it and
// renames it over the destination. A failed or cancelled Replace removes it;
// a crash may leave it behind, and List then reports it like any other file.
// A destination that is a symbolic link inside the directory is replaced by
// a regular file, the link's target left alone; one that leads outside is
// refused.
//
// A file written over another keeps that one's owner, group and
// permission bits; a new file copied from another (Replace, or Write with
// WriteOptions.PermOf) gets that one's; any other new file is the
// process's, mode 0644. So a store of an application's user, mode 0600,
// stays the application's when root recovers it. A process writing files
// that are its own never changes owners. Where the process may not give a
// file its owner (EPERM: it is not root and the owner is another user;
// EINVAL: the owner has no id in its user namespace), the file is written
// with the process's owner and group, its mode still kept, and the Store
// says so once, at Warn level on its logger (see WithLogger), naming its
// directory, the first owner it could not give and the cause. Outside
// unix files have no owner here; only the permission bits are kept.
//
// Link makes a hard link, so that recovery keeps the file a restore replaces
// without copying it or allocating a new file; the link is the same file,
// owner and mode included.
//
// Write, Replace, Link and Delete change a directory under an exclusive
// flock(2) of it, which they wait for no longer than the lock timeout
// (WithLockTimeout) and the context: anyone who may read the directory can
// hold it, and a stopped process may.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/c0fe5641/sessionrecovery/internal/dirlist"
	"github.com/c0fe5641/sessionrecovery/internal/fileops"
	"github.com/c0fe5641/sessionrecovery/store"
)

// Store is a store.Store over one directory. It is safe for concurrent use.
type Store struct {
	dir  string
	root *os.Root
	// dirLocks are taken before a directory's flock, the one at
	// lockStripe(dir): goroutines of this process queue on it, and only
	// one of them at a time polls flock(2). A fixed set, so that it does
	// not grow with the directories named; two directories may share
	// one. Each is a channel of capacity 1, so that a wait for it can
	// follow a context.
	dirLocks [dirLockStripes]chan struct{}
	// stuck holds the directories whose last wait for the flock timed
	// out: a later wait there tries once instead of waiting again.
	stuck sync.Map
	// syncDir makes the changes of a directory durable, and link makes a
	// hard link (os.Root's); tests make them fail, as EIO or EMFILE do,
	// or as a file system without hard links does.
	syncDir  func(root *os.Root, dir string) error
	hardLink func(oldname, newname string) error
	// reopenDir is where Open opens again the file it checked
	// (procSelfFD); checked, if set, runs between that check and that
	// open. Tests take /proc away, and rename files in between.
	reopenDir string
	checked   func(name string)
	// chown gives a temporary file its owner (fchown); tests make it
	// fail, as it does for a process that is not root.
	chown func(f *os.File, uid, gid int) error

	lockTimeout time.Duration
	// logger hears of lock waits, and once (ownerOnce) that files could
	// not be given their owner.
	logger    *slog.Logger
	ownerOnce sync.Once
}

// An Option configures a Store made by New.
type Option func(*Store)

// WithLockTimeout bounds each wait for a directory's lock (see Write) to d;
// the default is DefaultLockTimeout. A write whose lock is not had by then
// fails with an error wrapping ErrLockTimeout, and changes nothing. After
// such a timeout, writes in that directory try the lock once and fail at
// once while it stays taken, so that a run over many sessions does not wait
// d for each; the first write that gets it again waits normally. d <= 0
// means a single try.
func WithLockTimeout(d time.Duration) Option {
	return func(s *Store) { s.lockTimeout = d }
}

// WithLogger sends the store's notices to l: at Info level, that a write
// waits for a directory lock another process holds; at Warn level, once
// per Store, that it could not give the files it writes their owner. Each
// message says it all; its attributes repeat the parts for structured
// logs. The default is slog.Default(); slog.New(slog.DiscardHandler)
// silences it, and a nil l keeps the default.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.logger = l
		}
	}
}

// DefaultLockTimeout is how long a write waits for a directory's lock
// unless WithLockTimeout says otherwise. The library holds the lock for a
// few system calls; a wait this long means another process holds it, or
// is stopped while holding it.
const DefaultLockTimeout = 10 * time.Second

// ErrLockTimeout is wrapped by the error of a write that could not take
// its directory's lock within the lock timeout. Nothing was changed.
var ErrLockTimeout = errors.New("timed out waiting for the directory lock")

// dirLockStripes is the number of in-process directory locks.
const dirLockStripes = 16

var (
	_ store.Writer = (*Store)(nil)
	_ store.Linker = (*Store)(nil)
)

// New opens the store held by dir, which must be an existing, readable
// directory, configured by opts. Close releases it.
func New(dir string, opts ...Option) (*Store, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("local: store directory %q does not exist: %w", dir, err)
	case err != nil:
		return nil, fmt.Errorf("local: store directory %q: %w", dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("local: store directory %q is not a directory (mode %v)", dir, fi.Mode())
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("local: open store directory %q: %w", dir, err)
	}
	if err := readable(root); err != nil {
		root.Close()
		return nil, fmt.Errorf("local: store directory %q is not readable: %w", dir, err)
	}
	s := &Store{
		dir: dir, root: root, syncDir: syncDir, hardLink: root.Link, chown: (*os.File).Chown,
		reopenDir: procSelfFD, lockTimeout: DefaultLockTimeout, logger: slog.Default(),
	}
	for i := range s.dirLocks {
		s.dirLocks[i] = make(chan struct{}, 1)
	}
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

func readable(root *os.Root) error {
	f, err := openDir(root, ".")
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadDir(1)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// Dir returns the directory the store was opened on.
func (s *Store) Dir() string { return s.dir }

// Close releases the directory. The Store must not be used afterwards.
func (s *Store) Close() error {
	return s.root.Close()
}

// List implements store.Store. It reads the prefix's directory only, and
// reports its regular files, special files and symbolic links as described
// in the package documentation.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	if err := store.ValidatePrefix(prefix); err != nil {
		return fmt.Errorf("local: list: %w", err)
	}
	fnFailed := false
	err := dirlist.List(ctx, prefix, s.readDir, func(o store.Object) error {
		err := fn(o)
		fnFailed = err != nil
		return err
	})
	if err != nil && !fnFailed {
		return fmt.Errorf("local: list %q: %w", prefix, err)
	}
	return err
}

// readDir reads the directory dir for dirlist.List, keeping the objects
// whose names start with name.
func (s *Store) readDir(dir, name string) ([]dirlist.Entry, error) {
	if err := s.realDir(dir); err != nil {
		return nil, err
	}
	dirName := "."
	if dir != "" {
		dirName = filepath.FromSlash(dir)
	}
	f, err := openDir(s.root, dirName)
	if err != nil {
		return nil, missing(err)
	}
	defer f.Close()
	// In batches, keeping only the compact entries that match: a
	// directory of hundreds of thousands of sessions must not hold as
	// many DirEntry values at once. (Key order needs every name before
	// the first.)
	var entries []dirlist.Entry
	for {
		des, err := f.ReadDir(readDirBatch)
		for _, de := range des {
			if !strings.HasPrefix(de.Name(), name) {
				continue
			}
			e, ok, err := s.classify(path.Join(dir, de.Name()), de)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed while listing
			}
			if err != nil {
				return nil, err
			}
			if ok {
				entries = append(entries, e)
			}
		}
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, missing(err)
		}
	}
}

// realDir checks that every name on the way to dir is a directory, not a
// symbolic link (which os.Root would follow): a listing never reads a
// directory through a link. An error wraps fs.ErrNotExist when one is not.
func (s *Store) realDir(dir string) error {
	if dir == "" {
		return nil
	}
	for i := range len(dir) + 1 {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		fi, err := s.root.Lstat(filepath.FromSlash(dir[:i]))
		switch {
		case err != nil:
			return missing(err)
		case !fi.IsDir():
			return fmt.Errorf("%q is not a directory (mode %v): %w", dir[:i], fi.Mode(), fs.ErrNotExist)
		}
	}
	return nil
}

// readDirBatch is how many directory entries are read at a time.
const readDirBatch = 1024

// classify says whether the entry de, at key, is an object, and its size.
func (s *Store) classify(key string, de fs.DirEntry) (e dirlist.Entry, object bool, err error) {
	e = dirlist.Entry{Name: de.Name()}
	switch t := de.Type(); {
	case t.IsDir():
		return e, false, nil
	case t.IsRegular():
		fi, err := de.Info()
		if err != nil {
			return e, false, err
		}
		e.Size, e.ModTime = fi.Size(), changed(fi)
	case t&fs.ModeSymlink != 0:
		// Root.Stat follows the link only while it stays inside the root.
		fi, err := s.root.Stat(filepath.FromSlash(key))
		switch {
		case err != nil:
			// escapes or dangles: listed, Open fails
		case fi.Mode().IsRegular():
			e.Size, e.ModTime = fi.Size(), changed(fi)
		case fi.IsDir():
			return e, false, nil
		default:
			// leads to a special file: listed, Open refuses
		}
	default:
		// A FIFO, socket or device: listed with size 0 so that a session
		// it stands in for is reported; Open refuses it without opening.
	}
	return e, true, nil
}

// Open implements store.Store. It opens only a regular file, and decides
// that on the file it opens, never on a name looked up before. On Linux a
// FIFO, socket or device (or a link to one) is never opened, not even one
// renamed over the file at any moment (see openRegular): the bytes read
// are those of the regular file checked. Without /proc, and outside Linux,
// one renamed over the file between the check and the open is opened
// without blocking (and, on unix, without becoming a controlling
// terminal), then refused.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, fi, err := s.open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("local: open %q: %w", key, err)
	}
	return fileops.NewReader(ctx, "local", key, f, fi, fileVersion), nil
}

// open opens key's regular file for reading, as Open and Replace's source
// do; errors name neither the operation nor the key.
func (s *Store) open(ctx context.Context, key string) (*os.File, fs.FileInfo, error) {
	if err := validateKey(key); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return s.openRegular(filepath.FromSlash(key))
}

// afterCheck runs the test hook, if any, between the check of the file at
// name and its open for reading.
func (s *Store) afterCheck(name string) {
	if s.checked != nil {
		s.checked(name)
	}
}

func notRegular(fi fs.FileInfo) error {
	return fmt.Errorf("not a regular file (mode %v)", fi.Mode())
}

// Replace implements store.Store: a temporary file in dst's directory,
// synced and renamed over dst, then the directory synced. The new dst keeps
// the owner, group and permission bits of the old one; a new dst gets
// those of src, so a copy is never more widely readable than its source
// (the owner as the package documentation says). An error from the final
// directory sync wraps store.ErrNotDurable: dst already holds the new
// bytes, which may not survive a crash.
func (s *Store) Replace(ctx context.Context, dst, src string) error {
	if err := s.replace(ctx, dst, src); err != nil {
		return fmt.Errorf("local: replace %q from %q: %w", dst, src, err)
	}
	return nil
}

func (s *Store) replace(ctx context.Context, dst, src string) error {
	if err := validateKey(dst); err != nil {
		return err
	}
	if err := validateKey(src); err != nil {
		return err
	}
	if dst == src {
		return errors.New("destination and source are the same key")
	}
	in, srcInfo, err := s.open(ctx, src)
	if err != nil {
		return fmt.Errorf("open source: %w", err)
	}
	defer in.Close()
	return s.put(ctx, dst, in, attrsOf(srcInfo), store.WriteOptions{})
}

// Write implements store.Writer the way Replace works, with the
// precondition checked and the rename done under a lock on dst's
// directory: an exclusive flock(2) of the directory, which every Write,
// Replace, Link and Delete of this package takes, in any process (after a
// mutex within the process). A writer that does not
// take it can still change the file between the check and the rename, a
// window of a few system calls. The wait for the lock ends with ctx, or
// after the lock timeout with an error wrapping ErrLockTimeout; either
// way nothing is changed. A file written over another keeps its owner,
// group and permission bits; a new file gets those of opts.PermOf, or
// else the process's owner and mode 0644 (the owner as the package
// documentation says).
//
// The version is the file's device, inode, size and modification time
// (nanoseconds): a rename over the file, or a write that changes its size
// or time, changes it. opts.PermOf is honoured.
func (s *Store) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("local: write: %w", err)
	}
	if err := s.put(ctx, key, r, fileAttrs{perm: 0o644}, opts); err != nil {
		return fmt.Errorf("local: write %q: %w", key, err)
	}
	return nil
}

// Delete implements store.Writer: it removes a file (never a directory)
// under the same directory lock as Write, then syncs the directory.
func (s *Store) Delete(ctx context.Context, key string, opts store.WriteOptions) error {
	if err := s.remove(ctx, key, opts); err != nil {
		return fmt.Errorf("local: delete %q: %w", key, err)
	}
	return nil
}

func (s *Store) remove(ctx context.Context, key string, opts store.WriteOptions) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if opts.IfNotExist {
		return errors.New("IfNotExist makes no sense for a delete")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := filepath.FromSlash(key)
	return s.changeDir(ctx, filepath.Dir(name), func() error {
		fi, err := s.root.Lstat(name)
		switch {
		case err != nil:
			return missing(err)
		case fi.IsDir():
			return fmt.Errorf("not a file (mode %v)", fi.Mode())
		}
		if opts.IfVersion != "" {
			fi, err := s.root.Stat(name)
			if err != nil {
				return fmt.Errorf("stat: %w", err)
			}
			if v := fileVersion(fi); v != opts.IfVersion {
				return fmt.Errorf("%w: version %s is no longer %s", store.ErrChanged, v, opts.IfVersion)
			}
		}
		return s.root.Remove(name)
	})
}

// changeDir runs change, which changes entries of dir, under dir's lock,
// then (if it succeeded) syncs dir once the lock is released, so that
// writers do not wait for each other's syncs. A failed sync wraps
// store.ErrNotDurable: the change is made.
func (s *Store) changeDir(ctx context.Context, dir string, change func() error) error {
	unlock, err := s.lockDir(ctx, dir)
	if err != nil {
		if err := missing(err); errors.Is(err, store.ErrNotExist) {
			return err
		}
		return fmt.Errorf("lock directory: %w", err)
	}
	err = change()
	unlock()
	if err != nil {
		return err
	}
	if err := s.syncDir(s.root, dir); err != nil {
		return fmt.Errorf("%w: sync directory: %w", store.ErrNotDurable, err)
	}
	return nil
}

// Link implements store.Linker with a hard link, made under the same
// directory lock as Write, then the directory synced. Only a regular file
// is linked, and only within its directory; anything else gives an error
// wrapping errors.ErrUnsupported (linking a symbolic link would keep the
// link, not the bytes), as does a link the file system refuses for this
// file or this file system (no hard links, protected_hardlinks, too many
// links). A link that fails otherwise (no space, I/O error, read-only file
// system) gives that error, which is not ErrUnsupported: a copy would fail
// too.
func (s *Store) Link(ctx context.Context, dst, src, ifVersion string) error {
	if err := s.link(ctx, dst, src, ifVersion); err != nil {
		return fmt.Errorf("local: link %q to %q: %w", dst, src, err)
	}
	return nil
}

func (s *Store) link(ctx context.Context, dst, src, ifVersion string) error {
	if err := validateKey(dst); err != nil {
		return err
	}
	if err := validateKey(src); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	srcName, dstName := filepath.FromSlash(src), filepath.FromSlash(dst)
	dir := filepath.Dir(srcName)
	if filepath.Dir(dstName) != dir {
		return fmt.Errorf("%w: %q and %q are in different directories", errors.ErrUnsupported, dst, src)
	}
	return s.changeDir(ctx, dir, func() error {
		fi, err := s.root.Lstat(srcName)
		switch {
		case err != nil:
			return missing(err)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%w: not a regular file (mode %v)", errors.ErrUnsupported, fi.Mode())
		case ifVersion != "" && fileVersion(fi) != ifVersion:
			return fmt.Errorf("%w: version %s is no longer %s", store.ErrChanged, fileVersion(fi), ifVersion)
		}
		if err := s.hardLink(srcName, dstName); err != nil {
			return linkError(err, dst)
		}
		// Lstat and link each looked the name up: a writer that does not
		// take the lock may have renamed another file in between.
		got, err := s.root.Lstat(dstName)
		if err == nil && os.SameFile(fi, got) {
			return nil
		}
		s.root.Remove(dstName)
		return fmt.Errorf("%w: %q was replaced while it was linked", store.ErrChanged, src)
	})
}

// linkError is the error of a failed hard link to dst. A dst that exists
// gives ErrChanged, a src that vanished ErrNotExist. A link refused for
// this file or this file system (linkRefused: no hard links there,
// protected_hardlinks, another device, too many links) made nothing and
// wraps errors.ErrUnsupported, so that the caller copies instead. Any
// other failure (no space, quota, I/O error, read-only file system, no
// write permission on the directory) is one a copy would share: it comes
// back as it is, cause kept, and is not ErrUnsupported.
func linkError(err error, dst string) error {
	switch err := missing(err); {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %q exists (%w)", store.ErrChanged, dst, fs.ErrExist)
	case errors.Is(err, store.ErrNotExist), errors.Is(err, errors.ErrUnsupported):
		return err
	case linkRefused(err):
		return fmt.Errorf("%w: the file system refuses this hard link: %w", errors.ErrUnsupported, err)
	default:
		return err
	}
}

// missing makes an error that says a path is not there wrap
// store.ErrNotExist: ENOENT already does, and ENOTDIR, a path through a
// file, is as missing as "nodir/x". Other errors come back as they are.
func missing(err error) error {
	if isNotDir(err) {
		return fmt.Errorf("%w (%w)", store.ErrNotExist, err)
	}
	return err
}

// fileAttrs are what a written file gets besides its bytes: permission
// bits and, where files have owners and owned is set, an owner and group.
type fileAttrs struct {
	perm     fs.FileMode
	uid, gid int
	owned    bool
}

// put gives dst the bytes of r through a temporary file renamed into
// place, if opts' preconditions hold. A dst that exists keeps its
// attributes; a new one gets those of opts.PermOf, else like.
func (s *Store) put(ctx context.Context, dst string, r io.Reader, like fileAttrs, opts store.WriteOptions) error {
	dstName := filepath.FromSlash(dst)
	dir := filepath.Dir(dstName)
	switch fi, err := s.root.Stat(dstName); {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("destination is not a regular file (mode %v)", fi.Mode())
	case err == nil:
		like = attrsOf(fi)
	case !errors.Is(missing(err), store.ErrNotExist):
		return fmt.Errorf("stat destination: %w", err)
	case opts.PermOf != "":
		fi, err := s.root.Stat(filepath.FromSlash(opts.PermOf))
		if err != nil {
			return fmt.Errorf("stat %q for the owner and permissions of a new file: %w", opts.PermOf, missing(err))
		}
		like = attrsOf(fi)
	}
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create destination directory: %w", err)
	}

	tmpName := filepath.Join(dir, fileops.TempName(filepath.Base(dstName)))
	tmp, err := s.root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, like.perm)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	renamed := false
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if !renamed {
			s.root.Remove(tmpName)
		}
	}()
	// The owner before the mode, as chown may clear mode bits, and both
	// before the bytes, which are never readable by more than like says.
	if err := s.giveOwner(tmp, dst, like); err != nil {
		return err
	}
	// The creation mode went through the umask.
	if err := tmp.Chmod(like.perm); err != nil {
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if err := fileops.Copy(ctx, tmp, r); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync temporary file: %w", err)
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	unlock, err := s.lockDir(ctx, dir)
	if err != nil {
		return fmt.Errorf("lock directory: %w", err)
	}
	err = s.commit(tmpName, dstName, opts)
	unlock()
	if err != nil {
		return err
	}
	renamed = true
	if err := s.syncDir(s.root, dir); err != nil {
		return fmt.Errorf("%w: sync directory after rename: %w", store.ErrNotDurable, err)
	}
	return nil
}

// lockDir takes dir's lock: this process's lock for it, then the
// flock(2) that other processes take too. The writers of this process
// queue for the first under ctx alone: each holds it for a few system
// calls, or for one bounded wait for the flock. Only the wait for the
// flock is bounded by the lock timeout, and only its timing out marks dir
// as stuck. The returned function releases both.
func (s *Store) lockDir(ctx context.Context, dir string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting for the directory lock: %w", err)
	}
	stripe := s.dirLocks[lockStripe(dir)]
	select {
	case stripe <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the directory lock: %w", ctx.Err())
	}
	timeout, tried := s.lockTimeout, ""
	if _, ok := s.stuck.Load(dir); ok {
		timeout, tried = 0, "; an earlier wait there timed out, so this one tried once"
	}
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	where := filepath.Join(s.dir, dir)
	unlock, holder, err := flockDir(wait, s.root, dir, func(holder string) {
		s.logger.Info(fmt.Sprintf("waiting for the lock of %s (%s), at most %v", where, holder, timeout),
			"dir", where, "holder", holder, "timeout", timeout)
	})
	if err != nil {
		<-stripe
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("waiting for the directory lock: %w", ctx.Err())
		case wait.Err() != nil && errors.Is(err, wait.Err()):
			s.stuck.Store(dir, struct{}{})
			return nil, fmt.Errorf("%w (flock of %q, timeout %v): %s%s", ErrLockTimeout, where, s.lockTimeout, holder, tried)
		}
		return nil, err
	}
	s.stuck.Delete(dir)
	return func() {
		unlock()
		<-stripe
	}, nil
}

// commit checks opts' preconditions on dst and moves tmp into its place;
// the caller holds the directory lock.
func (s *Store) commit(tmpName, dstName string, opts store.WriteOptions) error {
	if opts.IfNotExist {
		// A hard link fails if dst exists, even if someone who does not
		// take the lock has just created it.
		err := s.hardLink(tmpName, dstName)
		switch {
		case err == nil:
			s.root.Remove(tmpName)
			return nil
		case errors.Is(err, fs.ErrExist):
			return fmt.Errorf("%w: it exists (%w)", store.ErrChanged, fs.ErrExist)
		case !errors.Is(linkError(err, dstName), errors.ErrUnsupported):
			return fmt.Errorf("link temporary file: %w", err)
		}
		// No hard links here (FAT, some FUSE file systems): check, then
		// rename, under the lock; only a writer that bypasses the library
		// can create dst in between.
		switch _, err := s.root.Lstat(dstName); {
		case err == nil:
			return fmt.Errorf("%w: it exists (%w)", store.ErrChanged, fs.ErrExist)
		case !errors.Is(missing(err), store.ErrNotExist):
			return fmt.Errorf("stat destination: %w", err)
		}
	}
	if opts.IfVersion != "" {
		fi, err := s.root.Stat(dstName)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%w: it no longer exists", store.ErrChanged)
		case err != nil:
			return fmt.Errorf("stat destination: %w", err)
		case fileVersion(fi) != opts.IfVersion:
			return fmt.Errorf("%w: version %s is no longer %s", store.ErrChanged, fileVersion(fi), opts.IfVersion)
		}
	}
	if err := s.root.Rename(tmpName, dstName); err != nil {
		return fmt.Errorf("rename temporary file: %w", err)
	}
	return nil
}

// ownerNotGiven says, once per Store, that the file written for key could
// not be given the owner uid:gid, and why.
func (s *Store) ownerNotGiven(key string, uid, gid int, err error) {
	s.ownerOnce.Do(func() {
		s.logger.Warn(fmt.Sprintf("may not keep the owners of the files written in %s: %q is now owned by this process, not by %d:%d (%v); modes are kept; said once",
			s.dir, key, uid, gid, err),
			"dir", s.dir, "key", key, "owner", fmt.Sprintf("%d:%d", uid, gid), "err", err)
	})
}
