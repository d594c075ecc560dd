// Package recoveryhttptest runs the recoveryhttp handler's routes, errors
// and limits over a real HTTP server (net/http/httptest) against any
// store.Store, so that every backend shows it serves the same answers:
//
//	recoveryhttptest.Run(t, newStore) // newStore as for storetest.Run
package recoveryhttptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/internal/jsonenc"
	"github.com/c0fe5641/sessionrecovery/recovery"
	"github.com/c0fe5641/sessionrecovery/recovery/recoverytest"
	"github.com/c0fe5641/sessionrecovery/recoveryhttp"
	"github.com/c0fe5641/sessionrecovery/store"
	"github.com/c0fe5641/sessionrecovery/store/storetest"
)

// Run runs every scenario against stores made by newStore.
func Run(t *testing.T, newStore storetest.NewStore) {
	t.Helper()
	for _, sc := range []struct {
		name string
		run  func(*testing.T, storetest.NewStore)
	}{
		{"InspectWithThePreview", inspectWithThePreview},
		{"RecoverOne", recoverOne},
		{"RecoverMerges", recoverMerges},
		{"RequestsRefused", requestsRefused},
		{"BodiesLimited", bodiesLimited},
		{"ReadOnly", readOnly},
		{"ChangedSessionIsAConflict", changedSessionIsAConflict},
		{"AuditIsTheReport", auditIsTheReport},
		{"AuditStreams", auditStreams},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, newStore) })
	}
}

func doc(contents ...string) []byte {
	msgs := make([]string, len(contents))
	for i, c := range contents {
		msgs[i] = `{"role":"user","content":"` + c + `"}`
	}
	return []byte(`{"title":"t","messages":[` + strings.Join(msgs, ",") + `]}`)
}

// files is a store with a shrunk session, a diverged one and one without
// a backup.
func files() map[string][]byte {
	return map[string][]byte{
		"shrunk.json": doc("a"), "shrunk.json.bak": doc("a", "b", "c"),
		"diverged.json": doc("new 1", "new 2"), "diverged.json.bak": doc("old"),
		"nobak.json": doc("x"),
	}
}

func serve(t *testing.T, s store.Store, opts recoveryhttp.Options) *httptest.Server {
	srv := httptest.NewServer(recoveryhttp.New(s, opts))
	t.Cleanup(srv.Close)
	return srv
}

// answer is a response: its code and JSON body.
type answer struct {
	code int
	body map[string]json.RawMessage
	raw  string
	hdr  http.Header
}

func do(t *testing.T, method, url, body string) answer {
	t.Helper()
	return doWith(t, method, url, body, http.Header{"Content-Type": {"application/json"}})
}

func doWith(t *testing.T, method, url, body string, hdr http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{code: resp.StatusCode, raw: string(b), hdr: resp.Header}
	if method != http.MethodHead {
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s %s", method, url)
		require.NoError(t, json.Unmarshal(b, &a.body), "%s %s: the answer is JSON: %s", method, url, b)
	}
	return a
}

func (a answer) str(t *testing.T, key string) string {
	t.Helper()
	var s string
	require.NoError(t, json.Unmarshal(a.body[key], &s), "%q in %s", key, a.raw)
	return s
}

func inspectWithThePreview(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, files())
	srv := serve(t, s, recoveryhttp.Options{})
	a := do(t, "GET", srv.URL+"/sessions/shrunk", "")
	require.Equal(t, http.StatusOK, a.code, a.raw)
	want, err := recovery.Preview(context.Background(), s, "shrunk")
	require.NoError(t, err)
	b, err := jsonenc.Marshal(want)
	require.NoError(t, err)
	assert.Equal(t, string(b)+"\n", a.raw, "the status, as inspect --diff --json gives it")
	assert.Contains(t, a.raw, `"returning":{"count":2,`)

	a = do(t, "GET", srv.URL+"/sessions/diverged", "")
	require.Equal(t, http.StatusOK, a.code, a.raw)
	assert.Equal(t, "merge", a.str(t, "recommend"))

	a = do(t, "GET", srv.URL+"/sessions/nobak", "")
	require.Equal(t, http.StatusOK, a.code, a.raw)
	assert.Equal(t, "no_backup", a.str(t, "recommend"))

	a = do(t, "GET", srv.URL+"/sessions/missing", "")
	assert.Equal(t, http.StatusNotFound, a.code, a.raw)
	assert.Contains(t, a.str(t, "error"), `"missing.json"`)

	assert.Equal(t, files(), snapshot(t, s, files()), "inspecting writes nothing")
}

func snapshot(t *testing.T, s store.Store, like map[string][]byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for key := range like {
		out[key] = storetest.Read(t, s, key)
	}
	return out
}

func recoverOne(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, files())
	srv := serve(t, s, recoveryhttp.Options{})
	a := do(t, "POST", srv.URL+"/sessions/shrunk/recover", `{"dry_run":true}`)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	assert.Equal(t, "false", string(a.body["restored"]))
	assert.Equal(t, doc("a"), storetest.Read(t, s, "shrunk.json"), "a dry run writes nothing")

	a = do(t, "POST", srv.URL+"/sessions/shrunk/recover", "")
	require.Equal(t, http.StatusOK, a.code, a.raw)
	assert.Equal(t, "true", string(a.body["restored"]))
	assert.NotNil(t, a.body["diff"], "with the preview of what it changed")
	assert.Equal(t, doc("a", "b", "c"), storetest.Read(t, s, "shrunk.json"))
	assert.Equal(t, doc("a"), storetest.Read(t, s, "shrunk.json"+recovery.PreservedSuffix))

	a = do(t, "POST", srv.URL+"/sessions/diverged/recover", "{}")
	require.Equal(t, http.StatusOK, a.code, a.raw)
	assert.Equal(t, "false", string(a.body["restored"]), "without merge, a diverged session is left alone")
	assert.Equal(t, doc("new 1", "new 2"), storetest.Read(t, s, "diverged.json"))

	a = do(t, "POST", srv.URL+"/sessions/missing/recover", "")
	assert.Equal(t, http.StatusNotFound, a.code, a.raw)
}

func recoverMerges(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, files())
	srv := serve(t, s, recoveryhttp.Options{})
	a := do(t, "POST", srv.URL+"/sessions/diverged/recover", `{"merge":true}`)
	require.Equal(t, http.StatusOK, a.code, a.raw)
	assert.Equal(t, "true", string(a.body["merged"]))
	assert.Equal(t, `{"title":"t","messages":[{"role":"user","content":"old"},{"role":"user","content":"new 1"},{"role":"user","content":"new 2"}]}`, string(storetest.Read(t, s, "diverged.json")))
	assert.Equal(t, doc("old"), storetest.Read(t, s, "diverged.json.bak"))
}

// Requests that are not the routes' are refused with a JSON error and the
// code that fits, and change nothing.
func requestsRefused(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, files())
	srv := serve(t, s, recoveryhttp.Options{})
	for _, c := range []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"GET", "/sessions/_index", "", http.StatusBadRequest, "_index"},
		{"POST", "/sessions/_index/recover", "", http.StatusBadRequest, "_index"},
		{"GET", "/sessions/a%2Fb", "", http.StatusBadRequest, "a/b"},
		{"POST", "/sessions/a%2F..%2Fshrunk/recover", "", http.StatusBadRequest, "a/../shrunk"},
		{"GET", "/sessions/a%00b", "", http.StatusBadRequest, ""},
		{"GET", "/sessions/shrunk?x=1", "", http.StatusBadRequest, "no query parameters"},
		{"POST", "/sessions/shrunk/recover", `{"dry_run":"yes"}`, http.StatusBadRequest, "options object"},
		{"POST", "/sessions/shrunk/recover", `{"force":true}`, http.StatusBadRequest, "force"},
		{"POST", "/sessions/shrunk/recover", `{} {}`, http.StatusBadRequest, "more than one"},
		{"POST", "/sessions/shrunk/recover", `[`, http.StatusBadRequest, "options object"},
		{"GET", "/sessions/shrunk/recover", "", http.StatusMethodNotAllowed, "POST"},
		{"DELETE", "/sessions/shrunk", "", http.StatusMethodNotAllowed, "GET"},
		{"POST", "/audit", "", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/audit?restore=true", "", http.StatusBadRequest, "restore"},
		{"GET", "/audit?diff=maybe", "", http.StatusBadRequest, "diff"},
		{"GET", "/nothing/here", "", http.StatusNotFound, "no route"},
		{"GET", "/sessions/shrunk/recover/x", "", http.StatusNotFound, "no route"},
	} {
		a := do(t, c.method, srv.URL+c.path, c.body)
		assert.Equal(t, c.code, a.code, "%s %s %s: %s", c.method, c.path, c.body, a.raw)
		assert.Contains(t, a.str(t, "error"), c.says, "%s %s", c.method, c.path)
		if c.code == http.StatusMethodNotAllowed {
			assert.NotEmpty(t, a.hdr.Get("Allow"), "%s %s", c.method, c.path)
		}
	}
	// A body that is not JSON, and a browser's cross-site request, which
	// could carry the user's cookies, are refused.
	for _, c := range []struct {
		hdr  http.Header
		code int
		says string
	}{
		{http.Header{"Content-Type": {"text/plain"}}, http.StatusUnsupportedMediaType, "must be JSON"},
		{http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, http.StatusUnsupportedMediaType, "must be JSON"},
		{http.Header{}, http.StatusUnsupportedMediaType, "must be JSON"},
		{http.Header{"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, "cross-origin"},
		{http.Header{"Content-Type": {"application/json"}, "Origin": {"https://elsewhere.example"}}, http.StatusForbidden, "cross-origin"},
	} {
		a := doWith(t, "POST", srv.URL+"/sessions/shrunk/recover", `{"merge":true}`, c.hdr)
		assert.Equal(t, c.code, a.code, "%v: %s", c.hdr, a.raw)
		assert.Contains(t, a.str(t, "error"), c.says, "%v", c.hdr)
	}
	assert.Equal(t, files(), snapshot(t, s, files()), "refused requests write nothing")
}

func bodiesLimited(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, files())
	srv := serve(t, s, recoveryhttp.Options{MaxBodyBytes: 64})
	a := do(t, "POST", srv.URL+"/sessions/shrunk/recover", `{"dry_run":false,"merge":false}`+strings.Repeat(" ", 64))
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.code, a.raw)
	assert.Contains(t, a.str(t, "error"), "over 64 bytes")
	assert.Equal(t, doc("a"), storetest.Read(t, s, "shrunk.json"), "a refused body restores nothing")

	srv = serve(t, s, recoveryhttp.Options{})
	a = do(t, "POST", srv.URL+"/sessions/shrunk/recover", strings.Repeat(" ", recoveryhttp.DefaultMaxBodyBytes+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.code, a.raw)
}

func readOnly(t *testing.T, newStore storetest.NewStore) {
	s := newStore(t, files())
	srv := serve(t, s, recoveryhttp.Options{ReadOnly: true})
	a := do(t, "POST", srv.URL+"/sessions/shrunk/recover", "")
	assert.Equal(t, http.StatusMethodNotAllowed, a.code, a.raw)
	assert.Contains(t, a.str(t, "error"), "read-only")
	assert.Equal(t, http.StatusOK, do(t, "GET", srv.URL+"/sessions/shrunk", "").code)
	assert.Equal(t, doc("a"), storetest.Read(t, s, "shrunk.json"))
}

// A session saved by the application while it is recovered: the handler
// answers 409, the save stands, and the bytes read are kept.
func changedSessionIsAConflict(t *testing.T, newStore storetest.NewStore) {
	base := newStore(t, files())
	wr, ok := base.(store.Writer)
	if !ok {
		t.Skip("the store cannot write conditionally")
	}
	if rc, err := base.Open(context.Background(), "shrunk.json"); assert.NoError(t, err) {
		v := store.Version(rc)
		rc.Close()
		if v == "" {
			t.Skip("the store reports no versions")
		}
	}
	saved := doc("a", "typed", "more", "even more")
	for i, body := range []string{"", `{"merge":true}`} {
		kept := "shrunk.json" + recovery.PreservedSuffix
		if i > 0 {
			kept += ".2"
		}
		s := &recoverytest.SavesDuring{Writer: wr, Op: "keep", Key: kept, Save: func() {
			require.NoError(t, wr.Write(context.Background(), "shrunk.json", bytes.NewReader(saved), store.WriteOptions{}))
		}}
		srv := serve(t, s, recoveryhttp.Options{})
		a := do(t, "POST", srv.URL+"/sessions/shrunk/recover", body)
		require.True(t, s.Saved(), "the application saved")
		assert.Equal(t, http.StatusConflict, a.code, a.raw)
		assert.Contains(t, a.str(t, "error"), "changed")
		assert.Equal(t, saved, storetest.Read(t, base, "shrunk.json"), "the application's save stands")
		require.NoError(t, wr.Write(context.Background(), "shrunk.json", bytes.NewReader(doc("a")), store.WriteOptions{}))
	}
}

// The audit is the report a dry run gives, byte for byte.
func auditIsTheReport(t *testing.T, newStore storetest.NewStore) {
	fs := files()
	fs["orphan.json.bak"] = doc("lonely")
	s := newStore(t, fs)
	srv := serve(t, s, recoveryhttp.Options{})
	for _, c := range []struct {
		query string
		opts  recovery.Options
	}{
		{"", recovery.Options{DryRun: true}},
		{"?diff=true", recovery.Options{DryRun: true, Diff: true}},
		{"?count_all=1&diff=false", recovery.Options{DryRun: true, CountAll: true}},
	} {
		a := do(t, "GET", srv.URL+"/audit"+c.query, "")
		require.Equal(t, http.StatusOK, a.code, a.raw)
		report, err := recovery.RecoverAll(context.Background(), s, c.opts)
		require.NoError(t, err)
		want, err := jsonenc.Marshal(report)
		require.NoError(t, err)
		assert.Equal(t, string(want)+"\n", a.raw, "GET /audit%s", c.query)
	}
	assert.Equal(t, fs, snapshot(t, s, fs), "an audit writes nothing")
}

// The audit's first sessions reach the client while the store is still
// being listed: the report streams.
func auditStreams(t *testing.T, newStore storetest.NewStore) {
	fs := map[string][]byte{}
	for i := range 20 {
		fs[sessionKey(i)] = recoverytest.Session(1)
	}
	gate := &gatedList{Store: newStore(t, fs), after: 3, open: make(chan struct{})}
	srv := serve(t, gate, recoveryhttp.Options{})
	resp, err := http.Get(srv.URL + "/audit")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// The listing waits, after 3 keys (a few bytes of report, far less
	// than any buffer holds), until the first session has been read here;
	// without streaming, nothing would come, and the test would time out
	// instead.
	first := make([]byte, len(`{"details":[{`))
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err)
	assert.Equal(t, `{"details":[{`, string(first))
	close(gate.open)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var report recovery.Report
	require.NoError(t, json.Unmarshal(append(first, rest...), &report))
	assert.Equal(t, 20, report.Scanned)
}

func sessionKey(i int) string { return fmt.Sprintf("s%04d.json", i) }

// gatedList lists the first after keys, then waits until open is closed.
type gatedList struct {
	store.Store
	after int
	open  chan struct{}
}

func (g *gatedList) List(ctx context.Context, prefix string, fn func(store.Object) error) error {
	n := 0
	return g.Store.List(ctx, prefix, func(o store.Object) error {
		if n++; n == g.after {
			select {
			case <-g.open:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return fn(o)
	})
}
