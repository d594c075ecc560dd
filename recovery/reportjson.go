package recovery

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/c0fe5641/sessionrecovery/internal/jsonenc"
)

// ReportWriter writes a run's report as JSON while the run goes, as a
// Report marshals: {"details":[…],"orphans":[…],
// "orphans_restored":N,"restored":N,"scanned":N}, the orphans' keys only
// when there are some. Add takes the sessions as Options.OnStatus gives
// them, so that a run of any size streams through; Finish writes the rest.
type ReportWriter struct {
	w   *bufio.Writer
	n   int
	err error
}

// NewReportWriter starts a report on w.
func NewReportWriter(w io.Writer) *ReportWriter {
	j := &ReportWriter{w: bufio.NewWriter(w)}
	j.w.WriteString(`{"details":[`)
	return j
}

// Add writes one session's status; it is an Options.OnStatus.
func (j *ReportWriter) Add(st Status) {
	if j.n > 0 {
		j.w.WriteByte(',')
	}
	j.n++
	j.value(st)
}

func (j *ReportWriter) value(v any) {
	b, err := jsonenc.Marshal(v)
	if err != nil && j.err == nil {
		j.err = err
	}
	j.w.Write(b)
}

// Flush writes what is buffered to the underlying writer.
func (j *ReportWriter) Flush() error { return j.w.Flush() }

// Finish ends the report with r's orphans and totals, and, when runErr is
// set (a listing that failed part way), an "error" key saying so, then a
// newline. It returns the first error met writing the report.
func (j *ReportWriter) Finish(r *Report, runErr error) error {
	j.w.WriteByte(']')
	if runErr != nil {
		j.w.WriteString(`,"error":`)
		j.value(runErr.Error())
	}
	if len(r.Orphans) > 0 {
		j.w.WriteString(`,"orphans":`)
		j.value(r.Orphans)
		fmt.Fprintf(j.w, `,"orphans_restored":%d`, r.OrphansRestored)
	}
	fmt.Fprintf(j.w, `,"restored":%d,"scanned":%d}`+"\n", r.Restored, r.Scanned)
	if err := j.w.Flush(); err != nil {
		return err
	}
	return j.err
}

// MarshalJSON writes the report as ReportWriter does, the orphans' keys
// only when there are orphans.
func (r Report) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	w := NewReportWriter(&b)
	for _, st := range r.Details {
		w.Add(st)
	}
	err := w.Finish(&r, nil)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), err
}
