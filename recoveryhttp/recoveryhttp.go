// Package recoveryhttp serves session recovery over HTTP: an http.Handler
// an application mounts beside its own routes, giving the three things an
// application asks of recovery — look at one session, recover one
// session, audit the whole store — as JSON:
//
//	GET  /sessions/{id}          the session's status with its preview (recovery.Preview)
//	POST /sessions/{id}/recover  recover it (recovery.Recover), with its preview; body, optional:
//	                             {"dry_run":bool,"merge":bool,"restore_orphan":bool}
//	GET  /audit                  every session, streamed as the report (recovery.RecoverAll, a dry run);
//	                             ?diff=true adds previews, ?count_all=true reads sessions without backups
//
// Mount it under a prefix with http.StripPrefix. It authenticates no one:
// put the application's authentication and authorisation in front of it,
// as middleware; recovering a session writes to the store.
//
// Every answer is JSON. A session's status is the report's entry
// (recovery.Status), the same as `sessionrecovery inspect --json`. Errors
// are an object with an "error" string (and, for a session that failed,
// the rest of its status), with the status code that fits:
//
//	400  an id that is not a session id, a malformed body, an unknown or malformed query parameter
//	403  a cross-origin request from a browser (http.CrossOriginProtection)
//	404  no such session (neither <id>.json nor <id>.json.bak), or no such route (paths are taken as written: no redirects)
//	405  a method the route does not take (the Allow header lists those it takes)
//	409  the session changed while it was recovered (saved by the application): nothing was written
//	413  a request body over Options.MaxBodyBytes
//	415  a request body that is not Content-Type: application/json
//	500  the store failed (a read, the listing), or the session failed to restore
//
// A recovery that restored the session answers 200, even when the store
// could not confirm the write is durable (the status's "error" then says
// so).
package recoveryhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/c0fe5641/sessionrecovery/internal/jsonenc"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/store"
)

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is
// zero: the recover route's options take a few bytes.
const DefaultMaxBodyBytes = 4 << 10

// Options configure a Handler. The zero value serves every route.
type Options struct {
	// ReadOnly refuses the recover route (405), for a handler that only
	// looks.
	ReadOnly bool
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Concurrency bounds the sessions an audit reads at once, as
	// recovery.Options.Concurrency does.
	Concurrency int
}

// Handler serves recovery over one store. It is safe for concurrent use.
type Handler struct {
	s     store.Store
	opts  Options
	mux   *http.ServeMux
	serve http.Handler // mux, behind cross-origin protection
}

// New returns a Handler serving recovery over s.
func New(s store.Store, opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &Handler{s: s, opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("/sessions/{id}", h.only(h.inspect, http.MethodGet, http.MethodHead))
	recoverMethods := []string{http.MethodPost}
	if opts.ReadOnly {
		recoverMethods = nil
	}
	h.mux.HandleFunc("/sessions/{id}/recover", h.only(h.recover, recoverMethods...))
	h.mux.HandleFunc("/audit", h.only(h.audit, http.MethodGet, http.MethodHead))
	h.mux.HandleFunc("/", noRoute)
	// A browser's cross-site POST (a form on another site, with the user's
	// cookies) is refused, as a request whose body is not JSON is.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, errors.New("a cross-origin request from a browser: refused"))
	}))
	h.serve = csrf.Handler(h.mux)
	return h
}

func noRoute(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, fmt.Errorf("no route %s %q: the routes are GET /sessions/{id}, POST /sessions/{id}/recover and GET /audit", r.Method, r.URL.Path))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); p != path.Clean(p) {
		// Not one of the routes as written (a double slash, a "."
		// segment, a trailing slash); the mux would redirect, in HTML.
		noRoute(w, r)
		return
	}
	h.serve.ServeHTTP(w, r)
}

// only serves a route with the given methods, answering 405 to others.
func (h *Handler) only(serve http.HandlerFunc, methods ...string) http.HandlerFunc {
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			if r.Method == m {
				serve(w, r)
				return
			}
		}
		if allow == "" {
			writeError(w, http.StatusMethodNotAllowed, errors.New("this handler is read-only: it recovers nothing"))
			return
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Errorf("%s takes %s, not %s", r.URL.Path, allow, r.Method))
	}
}

func (h *Handler) inspect(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	id := r.PathValue("id")
	st, err := recovery.Preview(r.Context(), h.s, id)
	writeStatus(w, st, err)
}

// recoverRequest is the recover route's body.
type recoverRequest struct {
	DryRun        bool `json:"dry_run"`
	Merge         bool `json:"merge"`
	RestoreOrphan bool `json:"restore_orphan"`
}

func (h *Handler) recover(w http.ResponseWriter, r *http.Request) {
	if err := noQuery(r); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	var req recoverRequest
	if code, err := readBody(w, r, h.opts.MaxBodyBytes, &req); err != nil {
		writeError(w, code, err)
		return
	}
	id := r.PathValue("id")
	st, err := recovery.Recover(r.Context(), h.s, id, recovery.Options{DryRun: req.DryRun, Merge: req.Merge, RestoreOrphans: req.RestoreOrphan, Diff: true})
	writeStatus(w, st, err)
}

// readBody decodes the request's JSON body, if it has one, into v: one
// object, no unknown field, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, v any) (int, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	b, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("the request body is over %d bytes", limit)
	case err != nil:
		return http.StatusBadRequest, fmt.Errorf("read the request body: %w", err)
	case len(b) == 0:
		return 0, nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		// Only JSON, which a browser cannot send to another site without
		// asking it first (CORS).
		return http.StatusUnsupportedMediaType, fmt.Errorf("the request body must be JSON (Content-Type: application/json), not %q", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return http.StatusBadRequest, fmt.Errorf("the request body is not the options object {\"dry_run\":bool,\"merge\":bool,\"restore_orphan\":bool}: %w", err)
	}
	if dec.More() {
		return http.StatusBadRequest, errors.New("the request body holds more than one JSON value")
	}
	return 0, nil
}

// noQuery refuses query parameters on a route that takes none.
func noQuery(r *http.Request) error {
	if r.URL.RawQuery != "" {
		return fmt.Errorf("%s takes no query parameters, got %q", r.URL.Path, r.URL.RawQuery)
	}
	return nil
}

// writeStatus answers with one session's status, with the code it calls
// for.
func writeStatus(w http.ResponseWriter, st recovery.Status, err error) {
	switch {
	case errors.Is(err, recovery.ErrInvalidID):
		writeError(w, http.StatusBadRequest, err)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err)
	default:
		writeJSON(w, statusCode(st), st)
	}
}

// statusCode is the HTTP status for a session's outcome.
func statusCode(st recovery.Status) int {
	switch {
	case st.Err == nil, st.Restored:
		return http.StatusOK
	case errors.Is(st.Err, store.ErrNotExist) && st.LiveMessages == recovery.NotSession && st.BakMessages == recovery.NotSession:
		return http.StatusNotFound
	case errors.Is(st.Err, store.ErrChanged):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	opts := recovery.Options{DryRun: true, Concurrency: h.opts.Concurrency}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("the query %q: %w", r.URL.RawQuery, err))
		return
	}
	for name, vals := range query {
		var flag *bool
		switch name {
		case "diff":
			flag = &opts.Diff
		case "count_all":
			flag = &opts.CountAll
		default:
			writeError(w, http.StatusBadRequest, fmt.Errorf("unknown query parameter %q: /audit takes diff and count_all", name))
			return
		}
		v, err := strconv.ParseBool(vals[len(vals)-1])
		if err != nil || len(vals) > 1 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("query parameter %s: want one true or false, got %q", name, vals))
			return
		}
		*flag = v
	}
	// The report streams as sessions are handled, each flushed to the
	// client as it comes (a slow store's first sessions show at once), so
	// that a store of any size streams through in bounded memory. Once
	// the first bytes are out the status code is said: a listing that
	// fails later is in the report's "error".
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	rw := recovery.NewReportWriter(w)
	flusher := http.NewResponseController(w)
	sent := 0
	opts.OnStatus = func(st recovery.Status) {
		rw.Add(st)
		sent++
		if rw.Flush() == nil {
			flusher.Flush()
		}
	}
	report, err := recovery.RecoverAll(r.Context(), h.s, opts)
	if err != nil && sent == 0 && len(report.Orphans) == 0 && r.Context().Err() == nil {
		writeError(w, http.StatusInternalServerError, err) // nothing sent yet: say it with the code
		return
	}
	rw.Finish(report, err) // a client gone away is no one's to tell
}

// errorBody is the JSON of an error that is not a session's.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := jsonenc.Marshal(v) // as the command writes it
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"the answer could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
