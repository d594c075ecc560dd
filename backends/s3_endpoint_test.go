package backends

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/c0fe5641/sessionrecovery/store"
)

// actionRecorder is a test server that records the Action= of each form
// POST it gets (STS calls are form POSTs; S3 calls are not).
type actionRecorder struct {
	*httptest.Server
	mu      sync.Mutex
	actions []string
}

func newActionRecorder(t *testing.T) *actionRecorder {
	r := &actionRecorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if req.Method == http.MethodPost && strings.Contains(string(b), "Action=") {
			for _, kv := range strings.Split(string(b), "&") {
				if a, ok := strings.CutPrefix(kv, "Action="); ok {
					r.mu.Lock()
					r.actions = append(r.actions, a)
					r.mu.Unlock()
				}
			}
		}
		http.Error(w, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>", http.StatusForbidden)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *actionRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.actions...)
}

// endpoint= is the S3 endpoint, and only S3's: the STS calls of role= and
// of the credential chain (web identity, as on EKS) must not be sent to
// it. gocloud set the endpoint on the S3 client alone; awsConfig gives it
// to the whole configuration (config.WithBaseEndpoint), and the SDK's
// LoadOptions then answer every service's endpoint with it, ahead even of
// AWS_ENDPOINT_URL_STS.
//
// FAILS at 2d938b4: the S3 server receives AssumeRole /
// AssumeRoleWithWebIdentity, and the STS server nothing.
func TestS3EndpointIsNotSTSEndpoint(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	token := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(token, []byte("jwt"), 0o600))
	for name, c := range map[string]struct {
		env   map[string]string
		param string
	}{
		"role=": {
			env:   map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
			param: "&role=arn:aws:iam::123456789012:role/r",
		},
		"web identity": {
			env: map[string]string{
				"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
				"AWS_WEB_IDENTITY_TOKEN_FILE": token, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			s3srv, stssrv := newActionRecorder(t), newActionRecorder(t)
			for k, v := range map[string]string{
				"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
				"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_EC2_METADATA_DISABLED": "true",
				"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
				"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_STS": stssrv.URL,
			} {
				t.Setenv(k, v)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, closeFn, err := Open(ctx, "s3://b?region=us-east-1&use_path_style=true&endpoint="+s3srv.URL+c.param)
			require.NoError(t, err)
			defer closeFn()
			_ = s.List(ctx, "", func(store.Object) error { return nil }) // fails: no real credentials
			assert.Empty(t, s3srv.got(), "STS calls sent to the S3 endpoint")
			assert.NotEmpty(t, stssrv.got(), "no STS call reached AWS_ENDPOINT_URL_STS")
		})
	}
}

// With endpoint=, gocloud sent every request there whatever FIPS,
// dual-stack and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS said (the URL's fips=/dualstack=, AWS_USE_FIPS_ENDPOINT,
// use_fips_endpoint in the profile, as GovCloud setups have). As the
// client's base endpoint, the S3 endpoint rules refuse each request: "A
// custom endpoint cannot be combined with FIPS".
//
// FAILS at 2d938b4: no request reaches the endpoint.
func TestS3EndpointWithFIPSOrDualStack(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	for name, c := range map[string]struct {
		env   map[string]string
		param string
	}{
		"fips=true":                  {param: "&fips=true"},
		"dualstack=true":             {param: "&dualstack=true"},
		"AWS_USE_FIPS_ENDPOINT":      {env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}},
		"AWS_USE_DUALSTACK_ENDPOINT": {env: map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true"}},
		// Meant for the environment's endpoints (AWS_ENDPOINT_URL…), it
		// also drops the one config.WithBaseEndpoint was given: the
		// requests go to s3.us-east-1.amazonaws.com instead.
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": {env: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}},
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var requests int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				requests++
				mu.Unlock()
				http.Error(w, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>", http.StatusForbidden)
			}))
			defer srv.Close()
			for k, v := range map[string]string{
				"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
				"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_ENDPOINT_URL": "",
				"AWS_USE_FIPS_ENDPOINT": "", "AWS_USE_DUALSTACK_ENDPOINT": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
			} {
				t.Setenv(k, v)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			s, closeFn, err := Open(context.Background(), "s3://b?region=us-east-1&use_path_style=true&endpoint="+srv.URL+c.param)
			require.NoError(t, err)
			defer closeFn()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = s.List(ctx, "", func(store.Object) error { return nil })
			require.Error(t, err)
			mu.Lock()
			defer mu.Unlock()
			assert.NotZero(t, requests, "no request reached endpoint=: %v", err)
		})
	}
}
