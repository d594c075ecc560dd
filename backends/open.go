// Package backends turns a location given by a user — a directory path or a
// URL — into a store.Store. It is the one place that knows every backend
// and the one that links in the cloud drivers; the backends themselves live
// in its subpackages and import none of each other.
package backends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/memblob"   // mem://

	"github.com/c0fe5641/sessionrecovery/backends/blobstore"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/azurecond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/gcscond"
	"github.com/c0fe5641/sessionrecovery/backends/blobstore/s3cond"
	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/store"
)

// Supported describes the locations Open accepts, for help texts.
const Supported = `a directory path or file:///path (a local directory); ` +
	`s3://bucket, gs://bucket or azblob://container (a cloud bucket, with gocloud's ` +
	`query parameters such as region=, endpoint=, use_path_style=true, ` +
	`disable_https=true, and prefix=folder/ to scope the scan); mem:// (an empty in-memory bucket)`

// Open returns the store that location names, configured by opts, and a
// function that releases it. Cloud credentials come from each SDK's default chain (environment,
// shared config, instance metadata), never from the location. The error
// names the location with any secret parameter masked (see Redact), and
// says why it cannot be opened.
func Open(ctx context.Context, location string, opts ...Option) (store.Store, func() error, error) {
	var cfg config
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if location == "" {
		return nil, nil, errors.New("empty location: give a directory path or a URL (" + Supported + ")")
	}
	if dir, ok, err := LocalDir(location); ok || err != nil {
		if err != nil {
			return nil, nil, err
		}
		return openLocal(dir, cfg)
	}
	scheme, _ := urlScheme(location)
	var conds blobstore.Conditions
	switch scheme {
	case "mem":
	case "s3":
		conds = s3cond.Conditions{}
	case "gs":
		conds = gcscond.Conditions{}
	case "azblob":
		conds = azurecond.Conditions{}
	default:
		return nil, nil, fmt.Errorf("location %q: unsupported scheme %q (supported: %s)", Redact(location), scheme, Supported)
	}
	b, err := openBucket(ctx, scheme, location, cfg.logger())
	if err != nil {
		return nil, nil, fmt.Errorf("location %q: %w", Redact(location), scrub(err, location))
	}
	var bopts []blobstore.Option
	if conds != nil {
		bopts = append(bopts, blobstore.WithConditions(conds))
	}
	return blobstore.New(b, bopts...), b.Close, nil
}

// LocalDir says whether location names a local directory (a path, or a
// file:// URL), and which; err says why a file:// URL names none.
func LocalDir(location string) (dir string, ok bool, err error) {
	scheme, isURL := urlScheme(location)
	switch {
	case !isURL:
		return location, true, nil
	case scheme != "file":
		return "", false, nil
	}
	dir, err = filePath(location)
	return dir, err == nil, err
}

// An Option configures the store Open returns.
type Option func(*config)

type config struct {
	local []local.Option
	log   *slog.Logger
}

func (c *config) logger() *slog.Logger {
	if c.log == nil {
		return slog.Default()
	}
	return c.log
}

// WithLogger sends the store's notices to l: for a local directory, a
// write waiting for a lock another process holds, and (once) that it could
// not keep the owner of the files it writes (see local.WithLogger); for a
// bucket, the cloud SDK's messages (see cloud.go: none of them is written
// anywhere else). The default, and a nil l, is slog.Default(). The Azure
// SDK's log is process-wide: the logger of the last azblob:// location
// opened receives it.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		c.local = append(c.local, local.WithLogger(l))
		c.log = l
	}
}

// WithLockTimeout bounds how long a write to a local directory waits for
// the directory's lock (local.WithLockTimeout); buckets take no lock.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) { c.local = append(c.local, local.WithLockTimeout(d)) }
}

func openLocal(dir string, cfg config) (store.Store, func() error, error) {
	s, err := local.New(dir, cfg.local...)
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

// filePath is the directory a file:// URL names.
func filePath(location string) (string, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", fmt.Errorf("location %q: %w", location, err)
	}
	switch {
	case u.Host != "" && u.Host != "localhost":
		return "", fmt.Errorf("location %q: a file:// URL names no host (use file:///path)", location)
	case u.RawQuery != "":
		return "", fmt.Errorf("location %q: file:// takes no query parameters", location)
	case u.Path == "":
		return "", fmt.Errorf("location %q: no directory path", location)
	}
	return u.Path, nil
}

// urlScheme returns location's URL scheme if it has the form scheme://…; a
// plain path (even one holding a ':') has none.
func urlScheme(location string) (string, bool) {
	scheme, _, ok := strings.Cut(location, "://")
	if !ok || scheme == "" {
		return "", false
	}
	for i, c := range scheme {
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	return strings.ToLower(scheme), true
}

// secretWords mark query parameters whose values are masked.
var secretWords = []string{"key", "secret", "token", "password", "passwd", "sig", "credential", "sas", "auth"}

func isSecret(param string) bool {
	p := strings.ToLower(param)
	for _, w := range secretWords {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// Redact returns location with the values of secret-looking query
// parameters (names holding key, secret, token, password, sig, credential,
// sas or auth) and any password in the URL masked, for printing.
func Redact(location string) string {
	u, err := url.Parse(location)
	if err != nil || u.Scheme == "" {
		return location
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for name := range q {
		if isSecret(name) {
			q[name] = []string{"xxxxx"}
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secrets lists the secret values a location holds.
func secrets(location string) []string {
	u, err := url.Parse(location)
	if err != nil {
		return nil
	}
	var out []string
	if p, has := u.User.Password(); has && p != "" {
		out = append(out, p, url.QueryEscape(p))
	}
	for name, vals := range u.Query() {
		if isSecret(name) {
			for _, v := range vals {
				if v != "" {
					out = append(out, v, url.QueryEscape(v))
				}
			}
		}
	}
	return out
}

// scrub masks location's secrets in err's message, keeping err to unwrap.
func scrub(err error, location string) error {
	msg := err.Error()
	for _, s := range secrets(location) {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
