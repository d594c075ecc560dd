// Package bucketsim simulates an S3 bucket of many sessions, for the tests
// and benchmarks of recovery at scale: an HTTP server, in process, that
// speaks enough of the S3 REST API for the AWS SDK and gocloud's s3blob to
// list, read, write, copy and delete, over a bucket of N synthetic
// sessions that it never stores.
//
// Session i has the id of 16 hex digits that grows with i (spread over the
// whole key space, so that a listing can be split into ranges anywhere),
// the live document <id>.json, and for a share of the sessions a backup
// <id>.json.bak; a share of those are shrunk (the live document has fewer
// messages than its backup). Its documents are drawn from a small pool of
// sessions made by sessiongen, with the sizes sessiongen draws, chosen by
// a hash of i: the same Config serves the same bytes under the same keys,
// and a million sessions cost the memory of a few hundred. A document's
// bytes do not name the key they are served under.
//
// What clients write (PUT, with If-None-Match: * and If-Match; CopyObject;
// DELETE) is kept in an overlay over the synthetic objects, which later
// requests see, and which Overlay returns. Every request waits
// Config.Latency before it is answered, as a real bucket's round trip
// does. Requests can be throttled as S3 throttles them, with 503 SlowDown:
// a share of all requests (Config.ThrottleShare), and every request above
// a rate per key prefix (Config.PrefixRate). Requests served are counted
// by kind (Counts), and those throttled apart (Throttled).
//
// Served: ListObjectsV2 (prefix, delimiter, start-after, max-keys,
// continuation tokens; not encoding-type), GetObject (with a single byte
// range), HeadObject, PutObject (plain or aws-chunked bodies),
// CopyObject, DeleteObject. Anything else is answered 501 NotImplemented
// and counted as "other". Request signatures are not checked.
package bucketsim
