package backends

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"
	"gocloud.dev/aws"
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

// s3Opener opens s3:// URLs with gocloud's parameters, its SDK logging to
// a slog.Logger.
type s3Opener struct{ log *slog.Logger }

func (o s3Opener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	q := u.Query()
	var bopts s3blob.Options
	var copts []func(*s3.Options)
	if v := q.Get("ssetype"); v != "" {
		q.Del("ssetype")
		t, err := sseType(v)
		if err != nil {
			return nil, err
		}
		bopts.EncryptionType = t
	}
	if v := q.Get("kmskeyid"); v != "" {
		q.Del("kmskeyid")
		bopts.KMSEncryptionID = v
	}
	for _, p := range []struct {
		name string
		set  func(*s3.Options, bool)
	}{
		{"accelerate", func(o *s3.Options, v bool) { o.UseAccelerate = v }},
		{"disable_https", func(o *s3.Options, v bool) { o.EndpointOptions.DisableHTTPS = v }},
		{"use_path_style", func(o *s3.Options, v bool) { o.UsePathStyle = v }},
		{"s3ForcePathStyle", func(o *s3.Options, v bool) { o.UsePathStyle = v }},
	} {
		raw := q.Get(p.name)
		if raw == "" {
			continue
		}
		q.Del(p.name)
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("invalid value for %q: %w", p.name, err)
		}
		set := p.set
		copts = append(copts, func(o *s3.Options) { set(o, v) })
	}
	cfg, err := aws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("open bucket %v: %w", u, err)
	}
	cfg.Logger = awsLogger(o)
	bopts.RequestChecksumCalculation = cfg.RequestChecksumCalculation
	return s3blob.OpenBucket(ctx, s3.NewFromConfig(cfg, copts...), u.Host, &bopts)
}

func sseType(v string) (s3types.ServerSideEncryption, error) {
	for _, t := range s3types.ServerSideEncryptionAes256.Values() {
		if strings.EqualFold(string(t), v) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%q is not a valid value for \"ssetype\"", v)
}

// awsLogger is the AWS SDK's logger over slog.
type awsLogger struct{ log *slog.Logger }

func (l awsLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "AWS SDK: "+fmt.Sprintf(format, v...), "sdk", "aws")
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
	return open.OpenBucketURL(ctx, u)
}

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
