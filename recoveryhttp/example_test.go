package recoveryhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/spf13/afero"

	"github.com/c0fe5641/sessionrecovery/backends/aferofs"
	"github.com/c0fe5641/sessionrecovery/recoveryhttp"
)

// An application mounts the handler under a prefix of its own, behind its
// authentication (left out here), and recovers a session over HTTP.
func Example() {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "/chat.json", []byte(`{"messages":[]}`), 0o644)
	_ = afero.WriteFile(fsys, "/chat.json.bak", []byte(`{"messages":[{"role":"user","content":"hi"}]}`), 0o644)

	mux := http.NewServeMux()
	mux.Handle("/recovery/", http.StripPrefix("/recovery", recoveryhttp.New(aferofs.New(fsys, "/"), recoveryhttp.Options{})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, r := range []struct{ method, path string }{
		{"POST", "/recovery/sessions/chat/recover"},
		{"GET", "/recovery/sessions/_index"},
	} {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(b))
	}
	// Output:
	// 200 {"bak_messages":1,"diff":{"dropped":{"count":0},"returning":{"count":1,"first":{"index":0,"role":"user","start":"hi"},"last":{"index":0,"role":"user","start":"hi"}}},"live_messages":0,"recommend":"restore","restored":true,"session_id":"chat"}
	// 400 {"error":"invalid session id \"_index\": starts with '_', which marks files that are not sessions"}
}
