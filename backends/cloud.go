package backends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"

	"cloud.google.com/go/storage"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"
	"google.golang.org/api/option"
)

// How the cloud buckets are opened. gocloud's default openers would do,
// but two of them write to the process's own output: the GCS opener prints
// a warning on stdout when it finds no credentials (which breaks a JSON
// report there), and the AWS SDK writes its warnings straight to stderr.
// So s3:// and gs:// are opened here, with the same URL parameters, and
// every SDK's messages go to the logger of WithLogger: the AWS SDK's
// warnings at Warn and its debug lines at Debug, the Azure SDK's request
// log at Debug, and a missing GCS credential at Warn.

// openBucket opens a bucket URL of scheme, logging to log.
func openBucket(ctx context.Context, scheme, location string, log *slog.Logger) (*blob.Bucket, error) {
	location, err := bucketParams(location)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case s3blob.Scheme, gcsblob.Scheme:
		mux := new(blob.URLMux) // applies prefix= as the default one does
		mux.RegisterBucket(s3blob.Scheme, s3Opener{log})
		mux.RegisterBucket(gcsblob.Scheme, gcsOpener{log})
		return mux.OpenBucket(ctx, location)
	case "azblob":
		routeAzureLog(log)
	}
	return blob.OpenBucket(ctx, location)
}

// bucketParams checks the parameters gocloud reads for every scheme. An
// empty prefix= is dropped, for no prefix, as it reads: gocloud would
// pass it on to the scheme's opener, which refuses it as unknown. key=,
// which makes a bucket of one object, is refused.
func bucketParams(location string) (string, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if q.Has("key") {
		return "", errors.New("key= opens one object, and a session store is a set of them: give prefix= for a folder")
	}
	if q.Has("prefix") && q.Get("prefix") == "" {
		q.Del("prefix")
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return location, nil
}

// gcsOpener opens gs:// URLs with the application default credentials,
// or without credentials (public buckets, emulators) when there are none:
// that is logged at Warn, and a bucket that needs them then fails to
// list, saying so.
type gcsOpener struct{ log *slog.Logger }

func (o gcsOpener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	client, opts, err := o.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("open bucket %v: %w", u, err)
	}
	open := gcsblob.URLOpener{Client: client, Options: opts}
	b, err := open.OpenBucketURL(ctx, u)
	if err != nil {
		return nil, err
	}
	var c *storage.Client
	if b.As(&c) {
		c.SetRetry(storage.WithMaxAttempts(gcsMaxAttempts))
	}
	return b, nil
}

// gcsMaxAttempts bounds the tries of each GCS request. The client's own
// default is to retry a retryable error (a refused connection, a 503) for
// as long as the request's context lasts, which for a command is for
// ever: a server that never answers made a run that never ended. With the
// client's backoff (1s doubling, at most 30s, jittered) six tries wait at
// most about 31s in all, in line with the AWS and Azure SDKs' few retries.
const gcsMaxAttempts = 6

func (o gcsOpener) client(ctx context.Context) (*gcp.HTTPClient, gcsblob.Options, error) {
	var opts gcsblob.Options
	if os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		return gcp.NewAnonymousHTTPClient(gcp.DefaultTransport()), opts, nil
	}
	creds, err := gcp.DefaultCredentials(ctx)
	if err != nil {
		o.log.Warn("no Google Cloud credentials found, so the bucket is read without them (only a public bucket can be): "+err.Error(), "sdk", "gcs")
		return gcp.NewAnonymousHTTPClient(gcp.DefaultTransport()), opts, nil
	}
	if ud, err := creds.GetUniverseDomain(); err == nil && ud != "" {
		opts.ClientOptions = append(opts.ClientOptions, option.WithUniverseDomain(ud))
	}
	client, err := gcp.NewHTTPClient(gcp.DefaultTransport(), creds.TokenSource)
	return client, opts, err
}

var azureLog struct {
	mu  sync.Mutex
	log *slog.Logger
}

// routeAzureLog sends the Azure SDK's log, which is process-wide, to log
// at Debug: the last logger given wins.
func routeAzureLog(log *slog.Logger) {
	azureLog.mu.Lock()
	defer azureLog.mu.Unlock()
	if azureLog.log == nil {
		azlog.SetListener(func(ev azlog.Event, msg string) {
			azureLog.mu.Lock()
			l := azureLog.log
			azureLog.mu.Unlock()
			l.Debug("Azure SDK: "+msg, "sdk", "azure", "event", string(ev))
		})
	}
	azureLog.log = log
}
