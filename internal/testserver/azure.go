package testserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob/azureblob"
)

// The well-known Azurite development account, published in Azurite's
// documentation; it protects nothing.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Environment variables that choose the Azurite the Azure servers use.
const (
	// EnvAzurite is the blob endpoint of a running Azurite, account
	// included, such as http://127.0.0.1:10000/devstoreaccount1. It must be
	// on a loopback address and use the development account's key.
	EnvAzurite = "SESSIONRECOVERY_AZURITE"
	// EnvRequireAzurite set to 1 turns the skip of Azure tests, when no
	// Azurite can be found or started, into a failure. CI sets it.
	EnvRequireAzurite = "SESSIONRECOVERY_REQUIRE_AZURITE"
	// EnvAzuriteBlob is the path of the azurite-blob program to start when
	// EnvAzurite is unset; without it, azurite-blob is looked up in PATH.
	EnvAzuriteBlob = "AZURITE_BLOB"
)

// Azure returns a Server speaking the Azure Blob REST API: a reverse proxy
// on a loopback port, which counts and delays requests, in front of
// Azurite. The bucket is a new container with a unique name, opened through
// the Azure SDK with the development account's shared key, and deleted
// when the test ends.
//
// Azurite is the one at EnvAzurite if that is set. Otherwise the first call
// in a test process starts azurite-blob (EnvAzuriteBlob, or from PATH) on a
// free loopback port, with its data in a temporary directory, for all
// later calls; Main stops it. If there is no Azurite, Azure skips the test,
// or fails it when EnvRequireAzurite is 1.
func Azure(t testing.TB) *Server {
	t.Helper()
	endpoint, err := azuriteEndpoint()
	if err != nil {
		if os.Getenv(EnvRequireAzurite) == "1" {
			t.Fatalf("testserver.Azure: %v", err)
		}
		t.Skipf("testserver.Azure: %v (set %s=1 to fail instead)", err, EnvRequireAzurite)
	}
	account := strings.Trim(endpoint.Path, "/")
	origin := &url.URL{Scheme: endpoint.Scheme, Host: endpoint.Host}

	s := newServer()
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(origin) }}
	hs := httptest.NewServer(s.handler(classifyAzure, proxy))
	t.Cleanup(hs.Close)

	cred, err := container.NewSharedKeyCredential(account, azuriteKey)
	if err != nil {
		t.Fatalf("testserver.Azure: %v", err)
	}
	name := containerName()
	// The container is created and deleted behind the proxy's back, so
	// that the counter sees only what the test does.
	direct, err := container.NewClientWithSharedKeyCredential(endpoint.String()+"/"+name, cred, nil)
	if err != nil {
		t.Fatalf("testserver.Azure: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := direct.Create(ctx, nil); err != nil {
		t.Fatalf("testserver.Azure: create container %s at %s: %v", name, endpoint, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := direct.Delete(ctx, nil); err != nil {
			t.Errorf("testserver.Azure: delete container %s: %v", name, err)
		}
	})

	proxyHost := hs.Listener.Addr().String()
	client, err := container.NewClientWithSharedKeyCredential("http://"+proxyHost+"/"+account+"/"+name, cred, nil)
	if err != nil {
		t.Fatalf("testserver.Azure: %v", err)
	}
	b, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		t.Fatalf("testserver.Azure: open bucket: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s.Bucket = b

	q := url.Values{}
	q.Set("localemu", "true")
	q.Set("domain", proxyHost)
	q.Set("protocol", "http")
	q.Set("storage_account", account)
	s.URL = "azblob://" + name + "?" + q.Encode()
	s.Env = map[string]string{
		"AZURE_STORAGE_ACCOUNT": account,
		"AZURE_STORAGE_KEY":     azuriteKey,
	}
	return s
}

// containerName returns a container (or bucket) name no other test
// process sharing the Azurite (or SeaweedFS) will pick.
func containerName() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	return "testserver-" + hex.EncodeToString(b[:])
}

// classifyAzure classifies a path-style Azure Blob request,
// /account/container/blob.
func classifyAzure(r *http.Request) string {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	q := r.URL.Query()
	comp := q.Get("comp")
	if len(parts) < 3 || parts[2] == "" {
		// The account or a container.
		if r.Method == http.MethodGet && comp == "list" {
			return List
		}
		return Other
	}
	switch r.Method {
	case http.MethodGet:
		if comp == "" {
			return Get
		}
		return Head // block list, metadata, tags
	case http.MethodHead:
		return Head
	case http.MethodPut:
		if r.Header.Get("X-Ms-Copy-Source") != "" {
			return Copy // Copy Blob, Put Blob From URL, Put Block From URL
		}
		switch comp {
		case "", "block", "blocklist", "appendblock", "page":
			return Put
		}
		return Other // properties, metadata, leases, tiers, snapshots
	case http.MethodDelete:
		return Delete
	}
	return Other
}

// azuriteEndpoint returns the blob endpoint of the Azurite to use, or why
// there is none.
func azuriteEndpoint() (*url.URL, error) {
	azurite.once.Do(func() {
		if v := os.Getenv(EnvAzurite); v != "" {
			azurite.endpoint, azurite.err = parseAzuriteEndpoint(v)
			if azurite.err != nil {
				azurite.err = fmt.Errorf("%s: %w", EnvAzurite, azurite.err)
			}
			return
		}
		bin := os.Getenv(EnvAzuriteBlob)
		if bin == "" {
			var err error
			if bin, err = lookPathAzurite(); err != nil {
				azurite.err = fmt.Errorf("no Azurite: %s is unset and azurite-blob is not in PATH "+
					"(npm install azurite@3.35.0, then set %s to its node_modules/.bin/azurite-blob)", EnvAzurite, EnvAzuriteBlob)
				return
			}
		}
		azurite.proc, azurite.err = startAzurite(bin)
		if azurite.err == nil {
			azurite.endpoint = &url.URL{Scheme: "http", Host: azurite.proc.addr, Path: "/" + azuriteAccount}
		}
	})
	return azurite.endpoint, azurite.err
}

// parseAzuriteEndpoint checks that s is an http URL of a loopback address
// with an account name as its path.
func parseAzuriteEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("%q: want http://127.0.0.1:PORT/ACCOUNT", s)
	}
	if account := strings.Trim(u.Path, "/"); account == "" || strings.Contains(account, "/") {
		return nil, fmt.Errorf("%q: want the account as the path, as in http://127.0.0.1:10000/%s", s, azuriteAccount)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%q: Azurite must be on a loopback address", s)
	}
	return u, nil
}
