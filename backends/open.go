// Package backends turns a location given by a user — a directory path or a
// URL — into a store.Store. It is the one place that knows every backend;
// the backends themselves live in its subpackages and import none of each
// other.
package backends

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/store"
)

// Open returns the store that location names, and a function that releases
// it. Supported locations:
//
//   - a directory path, absolute or relative: the local backend;
//   - file:///abs/dir (or file://localhost/abs/dir): the same.
//
// The error names the location and says why it cannot be opened.
func Open(ctx context.Context, location string) (store.Store, func() error, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if location == "" {
		return nil, nil, fmt.Errorf("empty location: give a directory path or a file:// URL")
	}
	dir := location
	if scheme, ok := urlScheme(location); ok {
		if scheme != "file" {
			return nil, nil, fmt.Errorf("location %q: unsupported scheme %q (supported: a directory path, file://)", location, scheme)
		}
		u, err := url.Parse(location)
		if err != nil {
			return nil, nil, fmt.Errorf("location %q: %w", location, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return nil, nil, fmt.Errorf("location %q: a file:// URL names no host (use file:///path)", location)
		}
		if u.RawQuery != "" {
			return nil, nil, fmt.Errorf("location %q: file:// takes no query parameters", location)
		}
		dir = u.Path
		if dir == "" {
			return nil, nil, fmt.Errorf("location %q: no directory path", location)
		}
	}
	s, err := local.New(dir)
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
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
