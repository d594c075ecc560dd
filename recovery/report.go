package recovery

import "fmt"

// The report-in-order stage: statuses come back from the workers in any
// order; they are handed on — to Report, Options.OnStatus and
// Options.Progress — in the order the jobs were dispatched, by one
// goroutine, one at a time, and never while an internal lock is held.

// delivery hands statuses on in dispatch order. At most window jobs are
// between dispatch and delivery, so that a slow session, or a slow
// callback, holds back a bounded number of statuses, whatever the names.
type delivery struct {
	opts     Options
	order    chan *slot // dispatched jobs, in dispatch order
	done     chan struct{}
	report   Report
	progress Progress
}

// slot is where one job's status waits to be delivered.
type slot struct {
	orphan bool
	st     Status
	ready  chan struct{} // closed when st is final
}

func newDelivery(opts Options, window int) *delivery {
	d := &delivery{
		opts:   opts,
		order:  make(chan *slot, window),
		done:   make(chan struct{}),
		report: Report{Details: []Status{}},
	}
	go d.run()
	return d
}

// reserve takes j's place in the report, waiting while the window is
// full. The caller must finish the slot.
func (d *delivery) reserve(j job) *slot {
	sl := &slot{orphan: j.orphan(), ready: make(chan struct{})}
	d.order <- sl
	return sl
}

// finish makes st the slot's status.
func (sl *slot) finish(st Status) {
	sl.st = st
	close(sl.ready)
}

// close waits until every reserved slot is delivered and returns the
// report. Nothing may be reserved afterwards.
func (d *delivery) close() *Report {
	close(d.order)
	<-d.done
	return &d.report
}

func (d *delivery) run() {
	defer close(d.done)
	for sl := range d.order {
		<-sl.ready
		d.deliver(sl.st, sl.orphan)
	}
}

// deliver counts st in the report and the progress, and hands it on: to
// OnStatus (or Report.Details) for a session, to Report.Orphans (and OnOrphan) for an
// orphan, then the new total to Progress.
func (d *delivery) deliver(st Status, orphan bool) {
	r, p := &d.report, &d.progress
	p.Handled++
	if st.Restored || (d.opts.DryRun && !orphan && st.Recommend == Restore && st.Err == nil) {
		p.Restored++
	}
	if st.Err != nil {
		p.Errors++
		r.Errors++
	}
	switch {
	case orphan:
		r.Orphans = append(r.Orphans, st)
		if st.Restored {
			r.OrphansRestored++
		}
		if d.opts.OnOrphan != nil {
			d.opts.OnOrphan(st)
		}
	default:
		r.Scanned++
		if st.Restored {
			r.Restored++
		}
		if d.opts.OnStatus != nil {
			d.opts.OnStatus(st)
		} else {
			r.Details = append(r.Details, st)
		}
	}
	if d.opts.Progress != nil {
		d.opts.Progress(*p)
	}
}

// notHandled is the status of a job the run never got to, because of err.
func notHandled(j job, err error) Status {
	st := newStatus(j)
	st.LiveMessages, st.BakMessages, st.Recommend = NotCounted, NotCounted, NoAction
	key := j.Live
	if j.orphan() {
		key = j.Backup
	}
	st.fail(fmt.Errorf("%q not handled: %w", key, err))
	return st
}
