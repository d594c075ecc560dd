package bucketsim

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// cursor walks the bucket's keys, the synthetic ones and the overlay's
// merged, in byte-wise order; an overlay entry hides the synthetic object
// of its key, and a deleted one is skipped.
type cursor struct {
	s  *Server
	p  pos    // the next synthetic key
	lo string // the overlay's next key is the first at or after lo
}

func (s *Server) seek(lo string) *cursor {
	return &cursor{s: s, p: s.b.seek(lo), lo: lo}
}

func (c *cursor) next() (key string, obj *object, ok bool) {
	for {
		bk, bobj, bok := c.s.b.at(c.p)
		ok2, oobj, ook := c.s.o.after(c.lo)
		switch {
		case !bok && !ook:
			return "", nil, false
		case ook && (!bok || ok2 <= bk):
			if bok && ok2 == bk {
				c.p = c.s.b.next(c.p)
			}
			c.lo = ok2 + "\x00" // the least key after ok2
			if oobj == nil {
				continue
			}
			return ok2, oobj, true
		default:
			c.p = c.s.b.next(c.p)
			return bk, bobj, true
		}
	}
}

// maxKeys is S3's largest page.
const maxKeys = 1000

// Continuation tokens name where the next page starts: after a key
// ("k"), or after every key under a common prefix ("p").
func token(kind byte, s string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{kind}, s...))
}

func (s *Server) list(w http.ResponseWriter, q url.Values) {
	if q.Get("list-type") != "2" {
		s.fail(w, http.StatusNotImplemented, "NotImplemented", "only ListObjectsV2 (list-type=2) is served", "")
		return
	}
	if q.Get("encoding-type") != "" {
		s.fail(w, http.StatusNotImplemented, "NotImplemented", "encoding-type is not served", "")
		return
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	limit := maxKeys
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, http.StatusBadRequest, "InvalidArgument", "max-keys: "+v, "")
			return
		}
		limit = min(n, maxKeys)
	}
	lo, skip := prefix, ""
	if after := q.Get("start-after"); after != "" && after+"\x00" > lo {
		lo = after + "\x00"
	}
	if t := q.Get("continuation-token"); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || len(raw) == 0 || (raw[0] != 'k' && raw[0] != 'p') {
			s.fail(w, http.StatusBadRequest, "InvalidArgument", "the continuation token is not one this bucket gave", "")
			return
		}
		lo = max(lo, string(raw[1:])+"\x00")
		if raw[0] == 'p' {
			lo, skip = max(lo, string(raw[1:])), string(raw[1:])
		}
	}

	var body bytes.Buffer
	body.WriteString(xml.Header)
	body.WriteString(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	element(&body, "Name", s.b.cfg.Bucket)
	element(&body, "Prefix", prefix)
	if delim != "" {
		element(&body, "Delimiter", delim)
	}
	element(&body, "MaxKeys", strconv.Itoa(limit))
	for _, p := range []string{"start-after", "continuation-token"} {
		if v := q.Get(p); v != "" {
			element(&body, map[string]string{"start-after": "StartAfter", "continuation-token": "ContinuationToken"}[p], v)
		}
	}

	var (
		count     int
		last      string
		truncated bool
		prefixes  []string
	)
	c := s.seek(lo)
	key, obj, ok := c.next()
	for ok && skip != "" && strings.HasPrefix(key, skip) {
		key, obj, ok = c.next()
	}
	for ok && strings.HasPrefix(key, prefix) {
		if count == limit {
			truncated = true
			break
		}
		count++
		if i := strings.Index(key[len(prefix):], delim); delim != "" && i >= 0 {
			cp := key[:len(prefix)+i+len(delim)]
			prefixes = append(prefixes, cp)
			last = token('p', cp)
			for ok && strings.HasPrefix(key, cp) {
				key, obj, ok = c.next()
			}
			continue
		}
		body.WriteString("<Contents>")
		element(&body, "Key", key)
		element(&body, "LastModified", modTime.Format("2006-01-02T15:04:05.000Z"))
		element(&body, "ETag", obj.etag)
		element(&body, "Size", strconv.Itoa(len(obj.body)))
		element(&body, "StorageClass", "STANDARD")
		body.WriteString("</Contents>")
		last = token('k', key)
		key, obj, ok = c.next()
	}
	for _, cp := range prefixes {
		body.WriteString("<CommonPrefixes>")
		element(&body, "Prefix", cp)
		body.WriteString("</CommonPrefixes>")
	}
	element(&body, "KeyCount", strconv.Itoa(count))
	element(&body, "IsTruncated", strconv.FormatBool(truncated))
	if truncated {
		element(&body, "NextContinuationToken", last)
	}
	body.WriteString("</ListBucketResult>")
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	w.Write(body.Bytes())
}

// element writes <name>text</name>, the text escaped.
func element(b *bytes.Buffer, name, text string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	xml.EscapeText(b, []byte(text))
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}
