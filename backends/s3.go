package backends

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// s3Opener opens s3:// URLs with gocloud's parameters, the SDK logging to
// a slog.Logger from the start: the credential chain (the EC2 metadata
// client among it) is built while the configuration loads, with the
// logger it is given then, so setting one afterwards, as gocloud's
// opener allows, leaves the chain's warnings on the process's stderr.
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
	cfg, more, err := awsConfig(ctx, q, awsLogger(o))
	if err != nil {
		return nil, fmt.Errorf("open bucket %v: %w", u, err)
	}
	copts = append(copts, more...)
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

// s3HTTPClient is the SDK's HTTP client, keeping as many idle connections
// to the endpoint as a run has requests in flight. The SDK keeps 10; at a
// recovery's 128 sessions at once, most requests would then open a
// new connection, and a run of a million requests would leave tens of
// thousands of sockets in TIME_WAIT, enough to exhaust the local ports.
func s3HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = s3MaxIdleConns
		tr.MaxIdleConnsPerHost = s3MaxIdleConns
	})
}

// s3MaxIdleConns bounds the idle connections kept: recovery's largest
// concurrency (recovery.MaxConcurrency).
const s3MaxIdleConns = 1024

// s3MaxAttempts is how many times the SDK tries one request that fails
// in a way worth retrying: a 503 SlowDown (S3 throttling a prefix), a 500,
// a dropped connection. The SDK's default, 3, loses a request to
// throttling often enough at a million requests (about one in a thousand
// when a tenth are throttled); at 10, with its exponential backoff (up to
// 20 s between tries, with jitter), throttling slows a run down instead
// of failing sessions. Retries spend no request budget of their own: each
// try that fails was answered with an error, not served.
const s3MaxAttempts = 10

// s3Backoff is the wait before each retry: a random time up to
// base·2^attempt, at most max (the SDK's full-jitter exponential backoff,
// whose base is 1 s). A recovery reports sessions in key order, so one
// session waiting out a long backoff holds back the report of all those
// after it; starting at 100 ms, a request throttled once costs its
// session 0.1 s on average rather than 1 s, and one throttled nine times
// in a row has still waited up to a minute in all.
type s3Backoff struct{ base, max time.Duration }

var s3RetryBackoff = s3Backoff{base: 100 * time.Millisecond, max: 20 * time.Second}

// BackoffDelay implements retry.BackoffDelayer.
func (b s3Backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	limit := b.max
	if attempt < 30 {
		limit = min(b.max, b.base<<attempt)
	}
	return time.Duration(rand.Int64N(int64(limit) + 1)), nil
}

// awsConfig loads the AWS configuration for the query parameters of an
// s3:// URL that gocloud reads into its configuration (region, endpoint,
// profile, hostname_immutable, dualstack, fips, rate_limiter_capacity,
// anonymous, role, request_checksum_calculation,
// response_checksum_validation; awssdk is ignored), with log as the SDK's
// logger throughout. It returns the S3 client options that go with them.
// An unknown parameter is an error naming it.
func awsConfig(ctx context.Context, q url.Values, log logging.Logger) (awssdk.Config, []func(*s3.Options), error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithLogger(log), awsconfig.WithHTTPClient(s3HTTPClient())}
	var s3opts []func(*s3.Options)
	var role, endpoint string
	var immutable bool
	var limiter retry.RateLimiter = ratelimit.None // gocloud's default: no client-side limit on retries
	for param, values := range q {
		v := values[0]
		switch param {
		case "region":
			opts = append(opts, awsconfig.WithRegion(v))
		case "endpoint":
			endpoint = v
		case "profile":
			opts = append(opts, awsconfig.WithSharedConfigProfile(v))
		case "hostname_immutable":
			on, err := parseBoolParam(param, v)
			if err != nil {
				return awssdk.Config{}, nil, err
			}
			immutable = on
		case "dualstack", "fips", "anonymous":
			on, err := parseBoolParam(param, v)
			if err != nil {
				return awssdk.Config{}, nil, err
			}
			switch {
			case !on:
			case param == "dualstack":
				opts = append(opts, awsconfig.WithUseDualStackEndpoint(awssdk.DualStackEndpointStateEnabled))
			case param == "fips":
				opts = append(opts, awsconfig.WithUseFIPSEndpoint(awssdk.FIPSEndpointStateEnabled))
			default:
				opts = append(opts, awsconfig.WithCredentialsProvider(awssdk.AnonymousCredentials{}))
			}
		case "rate_limiter_capacity":
			n, err := strconv.ParseInt(v, 10, 32) // 0 or less: no limit, as gocloud reads it
			if err != nil {
				return awssdk.Config{}, nil, fmt.Errorf("invalid value for %q: %w", param, err)
			}
			if n > 0 {
				limiter = ratelimit.NewTokenRateLimit(uint(n))
			}
		case "role":
			if !strings.HasPrefix(v, "arn:") {
				return awssdk.Config{}, nil, fmt.Errorf("invalid value for %q: an ARN (arn:...), got %q", param, v)
			}
			role = v
		case "request_checksum_calculation":
			c, err := checksumParam(param, v, awssdk.RequestChecksumCalculationWhenSupported, awssdk.RequestChecksumCalculationWhenRequired)
			if err != nil {
				return awssdk.Config{}, nil, err
			}
			opts = append(opts, awsconfig.WithRequestChecksumCalculation(c))
		case "response_checksum_validation":
			c, err := checksumParam(param, v, awssdk.ResponseChecksumValidationWhenSupported, awssdk.ResponseChecksumValidationWhenRequired)
			if err != nil {
				return awssdk.Config{}, nil, err
			}
			opts = append(opts, awsconfig.WithResponseChecksumValidation(c))
		case "awssdk":
		default:
			return awssdk.Config{}, nil, fmt.Errorf("unknown query parameter %q", param)
		}
	}
	opts = append(opts, awsconfig.WithRetryer(func() awssdk.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.RateLimiter = limiter
			o.MaxAttempts = s3MaxAttempts
			o.Backoff = s3RetryBackoff
		})
	}))
	if role != "" {
		// The role is assumed with the credentials the rest would give.
		base, err := awsconfig.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return awssdk.Config{}, nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		if base.Region == "" {
			return awssdk.Config{}, nil, fmt.Errorf("assume role %s: no region (give region=)", role)
		}
		opts = append(opts, awsconfig.WithCredentialsProvider(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), role)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return awssdk.Config{}, nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if endpoint != "" {
		// The S3 client's endpoint only: set on the configuration, it
		// would also answer for STS and SSO (role=, web identity), and
		// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS would drop it. Requests go
		// to it as given, whatever FIPS or dual-stack setting the
		// environment or profile has, as gocloud sends them.
		s3opts = append(s3opts, func(o *s3.Options) {
			o.BaseEndpoint = awssdk.String(endpoint)
			o.EndpointOptions.UseFIPSEndpoint = awssdk.FIPSEndpointStateDisabled
			o.EndpointOptions.UseDualStackEndpoint = awssdk.DualStackEndpointStateDisabled
			if immutable {
				// The endpoint's host is used as given: the bucket goes
				// in the path, not in front of the host.
				o.UsePathStyle = true
			}
		})
	}
	return cfg, s3opts, nil
}

func parseBoolParam(name, v string) (bool, error) {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid value for %q: %w", name, err)
	}
	return on, nil
}

// checksumParam reads when_supported or when_required.
func checksumParam[T any](name, v string, supported, required T) (T, error) {
	switch strings.ToLower(v) {
	case "when_supported":
		return supported, nil
	case "when_required":
		return required, nil
	}
	var zero T
	return zero, fmt.Errorf("invalid value for %q: when_supported or when_required, got %q", name, v)
}
