// Command http serves recovery over HTTP, the way an application mounts
// recoveryhttp beside its own routes, behind its own authentication.
//
//	go run ./examples/http                  # a demonstration: three requests, then exit
//	go run ./examples/http -serve :8080     # keep serving, for curl
//
// It serves a copy of the sample store (examples/sessions), so the sample
// stays as shipped, under /recovery/, and lets through only requests that
// carry the bearer token it prints.
package main

import (
	"crypto/rand"
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/c0fe5641/sessionrecovery/backends/local"
	"github.com/c0fe5641/sessionrecovery/recoveryhttp"
)

func main() {
	dir := flag.String("dir", "examples/sessions", "the session directory to serve a copy of")
	serve := flag.String("serve", "", "keep serving on this `address` (such as :8080) instead of demonstrating")
	flag.Parse()

	work, err := os.MkdirTemp("", "sessionrecovery-http-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	if err := os.CopyFS(work, os.DirFS(*dir)); err != nil {
		log.Fatalf("copy %s: %v", *dir, err)
	}
	s, err := local.New(work)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	token := rand.Text()
	mux := http.NewServeMux()
	// The application's routes would be here; recovery goes under
	// /recovery/, behind the application's own authentication.
	mux.Handle("/recovery/", http.StripPrefix("/recovery", requireToken(token, recoveryhttp.New(s, recoveryhttp.Options{}))))

	addr := *serve
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/recovery"
	if *serve != "" {
		fmt.Printf("serving a copy of %s in %s\n", *dir, work)
		fmt.Printf("curl -H 'Authorization: Bearer %s' %s/audit\n", token, base)
		log.Fatal(http.Serve(ln, mux))
	}
	go http.Serve(ln, mux)

	for _, req := range []struct{ method, path, body string }{
		{"GET", "/sessions/20240601_trip-planning", ""},
		{"POST", "/sessions/20240601_trip-planning/recover", `{"merge":true}`},
		{"GET", "/audit", ""},
	} {
		show(req.method, base+req.path, req.body, token)
	}
	show("GET", base+"/audit", "", "wrong token")
}

// requireToken lets through only requests with the bearer token: a
// stand-in for the application's real authentication.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"unauthorized"}`+"\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func show(method, url, body, token string) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %s\n-> %s\n%s\n", method, strings.TrimPrefix(url, "http://"), body, resp.Status, b)
}
