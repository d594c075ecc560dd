// Package aferofs is a store.Store over any afero.Fs; afero.NewMemMapFs()
// makes the in-memory store used by tests and demos.
//
// The store lives in one directory of the file system, its root. The name a
// key is stored under is filepath.Join(root, key), root "" meaning "/": with
// the default root the key "a.json" is the name "/a.json". An application
// that writes objects into the same afero.Fs must use that same name form:
// afero's MemMapFs holds "a.json" and "/a.json" as two different files.
//
// Keys are validated before any call into the file system. That matters:
// afero.BasePathFs is not a sandbox, and lets a name such as "../app2/x"
// reach outside its base path; no such key gets past this package.
//
// Only regular files are objects. List reads one directory, the directory
// of its prefix, and no other: the top of the store for a prefix without
// '/', so that a folder beside the sessions, however deep or unreadable,
// never fails or slows a scan. A prefix whose directory is missing or is
// not a directory lists nothing.
//
// Replace writes a temporary file next to
// the destination, named "." + base + ".tmp-" + random hex (never ending in
// ".json"), and renames it over the destination. A failed or cancelled
// Replace removes it; a crash may leave it behind, and List then reports it
// like any other file.
package aferofs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/internal/dirlist"
	"github.com/c0fe5641/sessionrecovery/internal/fileops"
	"github.com/c0fe5641/sessionrecovery/store"
)

// Store is a store.Store over one directory of an afero.Fs. It is safe for
// concurrent use as far as its afero.Fs is.
type Store struct {
	fsys afero.Fs
	root string
	// checked, if set, runs between open's check of a name and its open:
	// tests rename another file over it there.
	checked func(name string)
}

var _ store.Writer = (*Store)(nil)

// New returns the store held by the directory root of fsys; "" and "/" mean
// the top of fsys. A root that does not exist yet holds no objects, and is
// created by the first Replace.
func New(fsys afero.Fs, root string) *Store {
	if root == "" {
		root = "/"
	}
	return &Store{fsys: fsys, root: filepath.Clean(root)}
}

// name is the name of key (or of a '/'-joined directory) in fsys.
func (s *Store) name(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// List implements store.Store. It reads the prefix's directory only.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	if err := store.ValidatePrefix(prefix); err != nil {
		return fmt.Errorf("aferofs: list: %w", err)
	}
	fnFailed := false
	err := dirlist.List(ctx, prefix, s.readDir, func(o store.Object) error {
		err := fn(o)
		fnFailed = err != nil
		return err
	})
	if err != nil && !fnFailed {
		return fmt.Errorf("aferofs: list %q: %w", prefix, err)
	}
	return err
}

// readDir reads the directory dir for dirlist.List, keeping the regular
// files whose names start with name.
func (s *Store) readDir(dir, name string) ([]dirlist.Entry, error) {
	d := s.name(dir)
	switch fi, err := s.fsys.Stat(d); {
	case err != nil:
		return nil, err
	case !isDir(fi):
		return nil, fmt.Errorf("%q is not a directory (mode %v): %w", dir, fi.Mode(), fs.ErrNotExist)
	}
	f, err := s.fsys.Open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// On an OsFs in batches, keeping only the compact entries that match,
	// as the local backend does. Other afero file systems in one read:
	// MemMapFs reads batches by position, and a file removed between two
	// of them makes it panic while it holds the directory's lock (the
	// Close after it then never returns); a second read after a whole one
	// does the same.
	batch := -1
	if _, ok := s.fsys.(*afero.OsFs); ok {
		batch = readDirBatch
	}
	var entries []dirlist.Entry
	for {
		infos, err := f.Readdir(batch)
		for _, fi := range infos {
			if strings.HasPrefix(fi.Name(), name) && !isDir(fi) && fi.Mode().IsRegular() {
				entries = append(entries, dirlist.Entry{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime().UnixNano()})
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && (len(infos) == 0 || batch < 0)) {
			return entries, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readDirBatch is how many directory entries are read at a time.
const readDirBatch = 1024

// isDir also catches what MemMapFs makes of a file when something is
// created below it: IsDir reports true, yet Mode has no ModeDir bit.
func isDir(fi fs.FileInfo) bool {
	return fi.IsDir() || fi.Mode().IsDir()
}

// Open implements store.Store. It refuses anything that is not a regular
// file, deciding on the file it opened (its Stat, which also gives the
// version), not on the name. A name that is not a regular file is refused
// before it is opened; afero has no way to hold a file without opening
// it, so a special file renamed over the key between that check and the
// open is opened, then refused. On an afero.OsFs that open does not block
// on a FIFO (O_NONBLOCK on unix); another afero.Fs whose open waits for a
// FIFO's writer can still wait there.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, fi, err := s.open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("aferofs: open %q: %w", key, err)
	}
	return fileops.NewReader(ctx, "aferofs", key, f, fi, fileVersion), nil
}

// open opens key's regular file for reading, as Open and Replace's source
// do; errors name neither the operation nor the key.
func (s *Store) open(ctx context.Context, key string) (afero.File, fs.FileInfo, error) {
	if err := store.ValidateKey(key); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	name := s.name(key)
	fi, err := s.fsys.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if isDir(fi) || !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file (mode %v)", fi.Mode())
	}
	if s.checked != nil {
		s.checked(name)
	}
	f, err := s.openFile(name)
	if err != nil {
		return nil, nil, err
	}
	// The name may lead to another file by now: decide on, and take the
	// version of, the file opened.
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, err
	}
	if isDir(fi) || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("not a regular file (mode %v)", fi.Mode())
	}
	return f, fi, nil
}

// openFile opens name for reading. On an afero.OsFs, with
// fileops.OpenFlags: a FIFO does not block, a terminal does not become the
// controlling one. Other file systems get a plain Open, as not every one
// accepts other flags (afero.FromIOFS takes O_RDONLY alone), and one that
// wraps an OsFs (BasePathFs) cannot be told from the others.
func (s *Store) openFile(name string) (afero.File, error) {
	if _, ok := s.fsys.(*afero.OsFs); ok {
		return s.fsys.OpenFile(name, os.O_RDONLY|fileops.OpenFlags, 0)
	}
	return s.fsys.Open(name)
}

// renameMu serialises every Rename this package makes. On afero v1.15.0
// MemMapFs, two Renames of one source at once can end the process with
// "sync: RUnlock of unlocked RWMutex", which no recover catches: the loser
// finds the source gone and returns while holding the write lock, and a
// deferred RUnlock then runs on it. The lock is shared by every Store, as
// stores may share one afero.Fs.
var renameMu sync.Mutex

// Replace implements store.Store: a temporary file in dst's directory,
// synced, closed and renamed over dst. The new dst keeps the permission bits
// of the old one; a new dst gets those of src, so a copy is never more
// widely readable than its source.
func (s *Store) Replace(ctx context.Context, dst, src string) error {
	if err := s.replace(ctx, dst, src); err != nil {
		return fmt.Errorf("aferofs: replace %q from %q: %w", dst, src, err)
	}
	return nil
}

func (s *Store) replace(ctx context.Context, dst, src string) error {
	if err := store.ValidateKey(dst); err != nil {
		return err
	}
	if err := store.ValidateKey(src); err != nil {
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
	return s.put(ctx, dst, in, srcInfo.Mode().Perm(), store.WriteOptions{})
}

// Write implements store.Writer the way Replace works, with the
// precondition checked and the rename done under the package's rename
// lock, which every Write and Replace of this package takes. A writer that
// goes to the afero.Fs directly can still change the file between the
// check and the rename. A new file gets mode 0644, or the permissions of
// opts.PermOf. The version is the file's size and modification time.
func (s *Store) Write(ctx context.Context, key string, r io.Reader, opts store.WriteOptions) error {
	if err := store.ValidateKey(key); err != nil {
		return fmt.Errorf("aferofs: write: %w", err)
	}
	if err := s.put(ctx, key, r, 0o644, opts); err != nil {
		return fmt.Errorf("aferofs: write %q: %w", key, err)
	}
	return nil
}

// Delete implements store.Writer: it removes a file (never a directory)
// under the package's rename lock.
func (s *Store) Delete(ctx context.Context, key string, opts store.WriteOptions) error {
	if err := s.remove(ctx, key, opts); err != nil {
		return fmt.Errorf("aferofs: delete %q: %w", key, err)
	}
	return nil
}

func (s *Store) remove(ctx context.Context, key string, opts store.WriteOptions) error {
	if err := store.ValidateKey(key); err != nil {
		return err
	}
	if opts.IfNotExist {
		return errors.New("IfNotExist makes no sense for a delete")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := s.name(key)
	renameMu.Lock()
	defer renameMu.Unlock()
	fi, err := s.fsys.Stat(name)
	switch {
	case err != nil:
		return err
	case isDir(fi) || !fi.Mode().IsRegular():
		return fmt.Errorf("not a regular file (mode %v)", fi.Mode())
	case opts.IfVersion != "" && fileVersion(fi) != opts.IfVersion:
		return fmt.Errorf("%w: version %s is no longer %s", store.ErrChanged, fileVersion(fi), opts.IfVersion)
	}
	return s.fsys.Remove(name)
}

// fileVersion identifies the file fi describes by its size and
// modification time.
func fileVersion(fi fs.FileInfo) string {
	return fmt.Sprintf("%x:%x", fi.Size(), fi.ModTime().UnixNano())
}

// put gives dst the bytes of r through a temporary file renamed into
// place, if opts' preconditions hold. perm is the mode of a new dst.
func (s *Store) put(ctx context.Context, dst string, r io.Reader, perm fs.FileMode, opts store.WriteOptions) error {
	dstName := s.name(dst)
	switch fi, err := s.fsys.Stat(dstName); {
	case err == nil && (isDir(fi) || !fi.Mode().IsRegular()):
		return fmt.Errorf("destination is not a regular file (mode %v)", fi.Mode())
	case err == nil:
		perm = fi.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("stat destination: %w", err)
	case opts.PermOf != "":
		fi, err := s.fsys.Stat(s.name(opts.PermOf))
		if err != nil {
			return fmt.Errorf("stat %q for the permissions of a new file: %w", opts.PermOf, err)
		}
		perm = fi.Mode().Perm()
	}
	if err := s.mkdirAll(path.Dir(dst)); err != nil {
		return fmt.Errorf("create destination directory: %w", err)
	}

	tmpName := filepath.Join(filepath.Dir(dstName), fileops.TempName(path.Base(dst)))
	tmp, err := s.fsys.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	renamed := false
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if !renamed {
			s.fsys.Remove(tmpName)
		}
	}()
	if err := s.chmod(tmp, tmpName, perm); err != nil {
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
	renameMu.Lock()
	err = s.commit(tmpName, dstName, opts)
	renameMu.Unlock()
	if err != nil {
		return err
	}
	renamed = true
	return nil
}

// commit checks opts' preconditions on dst and renames tmp over it; the
// caller holds renameMu.
func (s *Store) commit(tmpName, dstName string, opts store.WriteOptions) error {
	if opts.IfNotExist || opts.IfVersion != "" {
		fi, err := s.fsys.Stat(dstName)
		switch {
		case err == nil && opts.IfNotExist:
			return fmt.Errorf("%w: it exists", store.ErrChanged)
		case errors.Is(err, fs.ErrNotExist) && opts.IfVersion != "":
			return fmt.Errorf("%w: it no longer exists", store.ErrChanged)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("stat destination: %w", err)
		case err == nil && fileVersion(fi) != opts.IfVersion:
			return fmt.Errorf("%w: version %s is no longer %s", store.ErrChanged, fileVersion(fi), opts.IfVersion)
		}
	}
	if err := s.fsys.Rename(tmpName, dstName); err != nil {
		return fmt.Errorf("rename temporary file: %w", err)
	}
	return nil
}

// mkdirAll creates the directory dir ('/'-joined, "." for the root) and
// those above it. It first refuses a path through a file: MemMapFs would
// turn that file into a directory when something is created below it.
func (s *Store) mkdirAll(dir string) error {
	if dir == "." {
		return s.fsys.MkdirAll(s.root, 0o755)
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		name := s.name(strings.Join(parts[:i+1], "/"))
		fi, err := s.fsys.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		if !isDir(fi) {
			return fmt.Errorf("%s is not a directory (mode %v)", name, fi.Mode())
		}
	}
	return s.fsys.MkdirAll(s.name(dir), 0o755)
}

// chmod sets the temporary file's permission bits to perm, when the umask
// made them differ. Only then, as some afero.Fs have no Chmod.
func (s *Store) chmod(f afero.File, name string, perm fs.FileMode) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == perm {
		return nil
	}
	return s.fsys.Chmod(name, perm)
}
