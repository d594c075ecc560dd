package bucketsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a simulated bucket. Its methods are safe for concurrent use.
type Server struct {
	b *bucket
	o overlay

	served, throttled [numKinds]atomic.Int64
	arrivals          atomic.Uint64 // numbers the requests, for ThrottleShare
	limits            prefixLimits

	hs   *http.Server
	addr string
}

// The kinds of request counted.
const (
	kindList = iota
	kindGet
	kindHead
	kindPut
	kindCopy
	kindDelete
	kindOther
	numKinds
)

var kindNames = [numKinds]string{"list", "get", "head", "put", "copy", "delete", "other"}

// modTime is the time every object was last written, as listings and
// reads tell it.
var modTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// New makes a simulated bucket; it serves nothing until Start (or its
// Handler is served).
func New(cfg Config) (*Server, error) {
	b, err := newBucket(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{b: b, o: overlay{objs: map[string]*object{}}}
	s.limits.cfg = &s.b.cfg
	return s, nil
}

// Start serves the bucket on addr ("127.0.0.1:0" for a free loopback
// port) until Close, and returns the address it listens on.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("bucketsim: %w", err)
	}
	s.addr = ln.Addr().String()
	s.hs = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: time.Minute}
	go s.hs.Serve(ln)
	return s.addr, nil
}

// Close stops the server started by Start, closing its connections.
func (s *Server) Close() error {
	if s.hs == nil {
		return nil
	}
	return s.hs.Close()
}

// Bucket is the bucket's name.
func (s *Server) Bucket() string { return s.b.cfg.Bucket }

// Location is the s3:// URL of the bucket served by Start, as
// sessionrecovery takes it: path-style requests to the server, in region
// us-east-1, with the environment Env gives.
func (s *Server) Location() string {
	return fmt.Sprintf("s3://%s?endpoint=%s&use_path_style=true&region=us-east-1", s.b.cfg.Bucket, url.QueryEscape("http://"+s.addr))
}

// Env is the environment an AWS SDK client of the bucket needs:
// credentials (not checked, but the SDK wants some) and no instance
// metadata service to ask for them.
func Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":         "bucketsim",
		"AWS_SECRET_ACCESS_KEY":     "bucketsim",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// Totals describes the synthetic objects.
func (s *Server) Totals() Totals { return s.b.totals }

// Counts returns the requests served (not throttled) since New or Reset,
// by kind; kinds never served are left out.
func (s *Server) Counts() map[string]int { return snapshot(&s.served) }

// Throttled returns the requests answered 503 SlowDown since New or
// Reset, by kind.
func (s *Server) Throttled() map[string]int { return snapshot(&s.throttled) }

func snapshot(c *[numKinds]atomic.Int64) map[string]int {
	out := map[string]int{}
	for k := range c {
		if n := c[k].Load(); n > 0 {
			out[kindNames[k]] = int(n)
		}
	}
	return out
}

// Reset zeroes the counts; what was written stays.
func (s *Server) Reset() {
	for k := range s.served {
		s.served[k].Store(0)
		s.throttled[k].Store(0)
	}
}

// Overlay returns what clients wrote and did not delete: key -> bytes.
func (s *Server) Overlay() map[string][]byte { return s.o.written() }

// Handler serves the bucket's requests.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	kind := classify(r, key)
	if h := s.b.cfg.Hook; h != nil {
		h(kindNames[kind])
	}
	if s.b.cfg.Latency > 0 {
		t := time.NewTimer(s.b.cfg.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if r.Context().Err() != nil {
		return // the client is gone: nothing is served or counted
	}
	if bucket != s.b.cfg.Bucket {
		s.served[kindOther].Add(1)
		s.fail(w, http.StatusNotFound, "NoSuchBucket", "the bucket does not exist", "")
		return
	}
	limitKey := key
	if kind == kindList {
		limitKey = r.URL.Query().Get("prefix")
	}
	if s.throttle(limitKey) {
		s.throttled[kind].Add(1)
		s.fail(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.", key)
		return
	}
	s.served[kind].Add(1)
	switch kind {
	case kindList:
		s.list(w, r.URL.Query())
	case kindGet, kindHead:
		s.get(w, r, key)
	case kindPut:
		s.put(w, r, key)
	case kindCopy:
		s.copy(w, r, key)
	case kindDelete:
		s.o.mu.Lock()
		s.o.set(key, nil)
		s.o.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		s.fail(w, http.StatusNotImplemented, "NotImplemented", "bucketsim does not serve this request", key)
	}
}

func classify(r *http.Request, key string) int {
	q := r.URL.Query()
	switch {
	case key == "" && r.Method == http.MethodGet && q.Has("list-type"):
		return kindList
	case key == "":
		return kindOther
	case len(q) > 0 && !(len(q) == 1 && q.Has("x-id")): // uploads, tagging, acl...
		return kindOther
	case r.Method == http.MethodGet:
		return kindGet
	case r.Method == http.MethodHead:
		return kindHead
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return kindCopy
	case r.Method == http.MethodPut:
		return kindPut
	case r.Method == http.MethodDelete:
		return kindDelete
	}
	return kindOther
}

// throttle tells whether to answer a request 503 SlowDown.
func (s *Server) throttle(key string) bool {
	if share := s.b.cfg.ThrottleShare; share > 0 {
		n := s.arrivals.Add(1)
		if unit(mix(s.b.cfg.Seed^mix(n))) < share {
			return true
		}
	}
	return s.b.cfg.PrefixRate > 0 && !s.limits.allow(key)
}

// prefixLimits is a token bucket for each key prefix.
type prefixLimits struct {
	cfg *Config
	mu  sync.Mutex
	m   map[string]*tokens
}

type tokens struct {
	n    float64
	last time.Time
}

func (l *prefixLimits) allow(key string) bool {
	p := key[:min(len(key), l.cfg.PrefixBytes)]
	now := l.cfg.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*tokens{}
	}
	t, ok := l.m[p]
	if !ok {
		t = &tokens{n: l.cfg.PrefixRate, last: now}
		l.m[p] = t
	}
	t.n = min(l.cfg.PrefixRate, t.n+now.Sub(t.last).Seconds()*l.cfg.PrefixRate)
	t.last = now
	if t.n < 1 {
		return false
	}
	t.n--
	return true
}

// lookup returns the object at key: the overlay's, else the synthetic one.
func (s *Server) lookup(key string) *object {
	if obj, written := s.o.get(key); written {
		return obj
	}
	return s.b.lookup(key)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, key string) {
	obj := s.lookup(key)
	if obj == nil {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		s.fail(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != obj.etag {
		s.fail(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", key)
		return
	}
	body := obj.body
	status := http.StatusOK
	h := w.Header()
	if rg := r.Header.Get("Range"); rg != "" {
		first, last, ok := byteRange(rg, int64(len(body)))
		if !ok {
			s.fail(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable", key)
			return
		}
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(body)))
		body, status = body[first:last+1], http.StatusPartialContent
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", modTime.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	if status == http.StatusOK && r.Header.Get("X-Amz-Checksum-Mode") == "ENABLED" {
		h.Set("X-Amz-Checksum-Crc32", obj.crc32) // as S3 gives it, for the SDK to check
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// byteRange reads one range "bytes=first-[last]" or "bytes=-suffix".
func byteRange(h string, size int64) (first, last int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	a, b, dash := strings.Cut(spec, "-")
	if !found || !dash || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		return max(0, size-n), size - 1, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 || first >= size {
		return 0, 0, false
	}
	last = size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, 0, false
		}
		last = min(last, size-1)
	}
	return first, last, true
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, key string) {
	body, err := readBody(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "IncompleteBody", err.Error(), key)
		return
	}
	s.write(w, r, key, newObject(body), func(obj *object) {
		w.Header().Set("ETag", obj.etag)
		w.WriteHeader(http.StatusOK)
	})
}

func (s *Server) copy(w http.ResponseWriter, r *http.Request, key string) {
	src, err := url.QueryUnescape(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		s.fail(w, http.StatusBadRequest, "InvalidArgument", "x-amz-copy-source: "+err.Error(), key)
		return
	}
	src, _, _ = strings.Cut(strings.TrimPrefix(src, "/"), "?")
	bucket, srcKey, _ := strings.Cut(src, "/")
	if bucket != s.b.cfg.Bucket {
		s.fail(w, http.StatusNotFound, "NoSuchBucket", "the copy source's bucket does not exist", key)
		return
	}
	from := s.lookup(srcKey)
	if from == nil {
		s.fail(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", srcKey)
		return
	}
	s.write(w, r, key, from, func(obj *object) {
		var b bytes.Buffer
		b.WriteString(xml.Header)
		b.WriteString(`<CopyObjectResult>`)
		element(&b, "LastModified", modTime.Format("2006-01-02T15:04:05.000Z"))
		element(&b, "ETag", obj.etag)
		b.WriteString(`</CopyObjectResult>`)
		w.Header().Set("Content-Type", "application/xml")
		w.Write(b.Bytes())
	})
}

// write makes obj the object at key if the request's conditions hold
// (If-None-Match: *, If-Match), then calls ok.
func (s *Server) write(w http.ResponseWriter, r *http.Request, key string, obj *object, ok func(*object)) {
	s.o.mu.Lock()
	old, written := s.o.objs[key]
	if !written {
		old = s.b.lookup(key)
	}
	var failed bool
	if r.Header.Get("If-None-Match") == "*" && old != nil {
		failed = true
	}
	if m := r.Header.Get("If-Match"); m != "" && (old == nil || old.etag != m) {
		failed = true
	}
	if !failed {
		s.o.set(key, obj)
	}
	s.o.mu.Unlock()
	if failed {
		s.fail(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", key)
		return
	}
	ok(obj)
}

// readBody reads a PUT's body: as sent, or decoded from aws-chunked.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		body, err = unchunk(body)
		if err != nil {
			return nil, err
		}
		if d := r.Header.Get("X-Amz-Decoded-Content-Length"); d != "" && d != strconv.Itoa(len(body)) {
			return nil, fmt.Errorf("aws-chunked body of %d bytes, x-amz-decoded-content-length %s", len(body), d)
		}
	}
	return body, nil
}

// unchunk decodes an aws-chunked body: chunks of "size-in-hex[;ext]\r\n"
// and data and "\r\n", the last of size 0, then trailers.
func unchunk(b []byte) ([]byte, error) {
	var out []byte
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		if !ok {
			return nil, errors.New("aws-chunked body: a chunk header without its end")
		}
		hexSize, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(hexSize), 16, 64)
		if err != nil || n < 0 || n > int64(len(rest)) {
			return nil, fmt.Errorf("aws-chunked body: bad chunk size %q", line)
		}
		if n == 0 {
			return out, nil // trailers follow; they are not checked
		}
		out = append(out, rest[:n]...)
		b, ok = bytes.CutPrefix(rest[n:], []byte("\r\n"))
		if !ok {
			return nil, errors.New("aws-chunked body: a chunk without its end")
		}
	}
}

// fail answers with an S3 error document.
func (s *Server) fail(w http.ResponseWriter, status int, code, msg, key string) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<Error>")
	element(&b, "Code", code)
	element(&b, "Message", msg)
	if key != "" {
		element(&b, "Key", key)
	}
	element(&b, "RequestId", "bucketsim")
	b.WriteString("</Error>")
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
