package recovery

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/c0fe5641/sessionrecovery/internal/jsonenc"
)

// The merge-of-reports stage: the JSON reports of the shards of one run
// (Options.Shard), read as streams, written as the one report a single run
// would have written.

// NamedReport is one report to merge: its JSON, and a name for errors
// (a file name).
type NamedReport struct {
	Name string
	R    io.Reader
}

// ErrMergeReports is wrapped by every error of MergeReports.
var ErrMergeReports = errors.New("merge reports")

// MergeReports reads the JSON reports of the shards of one run, as
// ReportWriter writes them, and writes to w the report one run over the
// whole store would have written: the sessions of all of them in report
// order, each as its shard wrote it, byte for byte; the orphans byte-wise
// by backup key; the totals summed; and, if any report has an "error",
// one "error" naming each. The details stream through: memory holds one
// session of each report, and the orphans. A session in two reports (the
// same file given twice, or shards of different counts) is an error, as
// is a report whose sessions are out of order.
func MergeReports(w io.Writer, reports ...NamedReport) error {
	rs := make([]*reportReader, len(reports))
	for i, nr := range reports {
		rs[i] = &reportReader{name: nr.Name, dec: json.NewDecoder(bufio.NewReaderSize(nr.R, 64<<10))}
		if err := rs[i].start(); err != nil {
			return err
		}
	}
	out := bufio.NewWriter(w)
	out.WriteString(`{"details":[`)
	n, last, lastFrom := 0, "", ""
	for {
		var next *reportReader
		for _, r := range rs {
			if r.head != nil && (next == nil || CompareReportOrder(r.headKey, next.headKey) < 0) {
				next = r
			}
		}
		if next == nil {
			break
		}
		if n > 0 && next.headKey == last {
			return fmt.Errorf("%w: session %q is in both %s and %s: are they shards of one run, each given once?", ErrMergeReports, strings.TrimSuffix(last, ".json"), lastFrom, next.name)
		}
		if n > 0 {
			out.WriteByte(',')
		}
		out.Write(next.head)
		n++
		last, lastFrom = next.headKey, next.name
		if err := next.advance(); err != nil {
			return err
		}
	}
	out.WriteByte(']')
	var (
		errs                               []string
		orphans                            []orphanEntry
		restored, scanned, orphansRestored int
	)
	for _, r := range rs {
		if err := r.finish(); err != nil {
			return err
		}
		if r.runErr != "" {
			errs = append(errs, r.name+": "+r.runErr)
		}
		orphans = append(orphans, r.orphans...)
		restored += r.restored
		scanned += r.scanned
		orphansRestored += r.orphansRestored
	}
	if len(errs) > 0 {
		b, _ := jsonenc.Marshal(strings.Join(errs, "; "))
		out.WriteString(`,"error":`)
		out.Write(b)
	}
	if len(orphans) > 0 {
		slices.SortStableFunc(orphans, func(a, b orphanEntry) int { return strings.Compare(a.key, b.key) })
		out.WriteString(`,"orphans":[`)
		for i, o := range orphans {
			if i > 0 {
				if o.key == orphans[i-1].key {
					return fmt.Errorf("%w: orphan %q is in two reports (%s and %s)", ErrMergeReports, o.key, orphans[i-1].from, o.from)
				}
				out.WriteByte(',')
			}
			out.Write(o.raw)
		}
		fmt.Fprintf(out, `],"orphans_restored":%d`, orphansRestored)
	}
	fmt.Fprintf(out, `,"restored":%d,"scanned":%d}`+"\n", restored, scanned)
	return out.Flush()
}

type orphanEntry struct {
	key, from string
	raw       json.RawMessage
}

// reportReader reads one report: its details one at a time, then the rest.
type reportReader struct {
	name    string
	dec     *json.Decoder
	head    json.RawMessage // the next session, nil after the last
	headKey string          // its key
	n       int

	runErr                             string
	orphans                            []orphanEntry
	restored, scanned, orphansRestored int
}

func (r *reportReader) fail(format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMergeReports, r.name, fmt.Sprintf(format, a...))
}

func (r *reportReader) delim(want json.Delim) error {
	tok, err := r.dec.Token()
	if err != nil {
		return r.fail("not a report (%v)", err)
	}
	if tok != want {
		return r.fail("not a report: %v where %q was expected", tok, want)
	}
	return nil
}

// start reads up to the first session.
func (r *reportReader) start() error {
	if err := r.delim('{'); err != nil {
		return err
	}
	tok, err := r.dec.Token()
	if err != nil || tok != "details" {
		return r.fail(`not a report: it does not start with "details" (is it the output of --json?)`)
	}
	if err := r.delim('['); err != nil {
		return err
	}
	return r.advance()
}

// advance reads the next session into head.
func (r *reportReader) advance() error {
	if !r.dec.More() {
		r.head = nil
		return r.delim(']')
	}
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return r.fail("session %d: %v", r.n+1, err)
	}
	id, err := statusID(raw)
	if err != nil {
		return r.fail("session %d: %v", r.n+1, err)
	}
	key := id + ".json"
	if r.n > 0 && CompareReportOrder(r.headKey, key) >= 0 {
		return r.fail("session %q comes after %q, out of report order: not a report as a run writes it", id, strings.TrimSuffix(r.headKey, ".json"))
	}
	r.n++
	r.head, r.headKey = raw, key
	return nil
}

// finish reads what follows the details.
func (r *reportReader) finish() error {
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return r.fail("%v", err)
		}
		var target any
		switch tok {
		case "error":
			target = &r.runErr
		case "orphans":
			var raws []json.RawMessage
			if err := r.dec.Decode(&raws); err != nil {
				return r.fail("orphans: %v", err)
			}
			for _, raw := range raws {
				id, err := statusID(raw)
				if err != nil {
					return r.fail("orphan: %v", err)
				}
				r.orphans = append(r.orphans, orphanEntry{key: id + ".json.bak", from: r.name, raw: raw})
			}
			continue
		case "orphans_restored":
			target = &r.orphansRestored
		case "restored":
			target = &r.restored
		case "scanned":
			target = &r.scanned
		default:
			return r.fail("unknown key %v", tok)
		}
		if err := r.dec.Decode(target); err != nil {
			return r.fail("%v: %v", tok, err)
		}
	}
	if err := r.delim('}'); err != nil {
		return err
	}
	if _, err := r.dec.Token(); err != io.EOF {
		return r.fail("more after the report")
	}
	return nil
}

// statusID reads a status's session id, with the bytes that are not UTF-8
// back from their \udcXX escapes (see Status).
func statusID(raw json.RawMessage) (string, error) {
	var s struct {
		ID json.RawMessage `json:"session_id"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	if s.ID == nil {
		return "", errors.New("no session_id")
	}
	return unescapeID(s.ID)
}

// unescapeID decodes a JSON string as Status writes a session id: as JSON
// does, except that each lone surrogate \udc80 to \udcff is the byte 0x80
// to 0xff it stands for.
func unescapeID(lit []byte) (string, error) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", fmt.Errorf("session_id %s is not a string", lit)
	}
	in := lit[1 : len(lit)-1]
	if !bytes.ContainsRune(in, '\\') {
		return string(in), nil
	}
	var out []byte
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(in) {
			return "", fmt.Errorf("session_id %s ends in a backslash", lit)
		}
		i++
		switch e := in[i]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(in[i+1:])
			if !ok {
				return "", fmt.Errorf("session_id %s has a bad \\u escape", lit)
			}
			i += 4
			switch {
			case 0xdc80 <= r && r <= 0xdcff:
				out = append(out, byte(r-0xdc00))
			case utf16.IsSurrogate(r):
				r2, ok := hex4(in[min(i+3, len(in)):])
				if i+2 < len(in) && in[i+1] == '\\' && in[i+2] == 'u' && ok {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						out = utf8.AppendRune(out, pair)
						i += 6
						continue
					}
				}
				out = utf8.AppendRune(out, utf8.RuneError)
			default:
				out = utf8.AppendRune(out, r)
			}
		default:
			return "", fmt.Errorf("session_id %s has a bad escape \\%c", lit, e)
		}
	}
	return string(out), nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n), err == nil
}
