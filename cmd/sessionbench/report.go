package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hugeRSSTargetMiB is the peak RSS a recovery of a huge session must stay
// under.
const hugeRSSTargetMiB = 64

// results is everything sessionbench reports; its JSON form is -json's.
type results struct {
	Machine     machine     `json:"machine"`
	Store       storeInfo   `json:"store"`
	Runs        int         `json:"runs"`
	Concurrency int         `json:"concurrency"`
	Jobs        []jobStats  `json:"jobs"`
	Ratios      []ratioStat `json:"ratios,omitempty"`
	// PeakRSSTargetMiB is set in -huge mode.
	PeakRSSTargetMiB int `json:"peak_rss_target_mib,omitempty"`
}

type machine struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	Go         string `json:"go"`
	Python     string `json:"python,omitempty"`
	// LoadAverage is /proc/loadavg's first three fields before the runs:
	// other work on the machine makes times noisy.
	LoadAverage string `json:"load_average,omitempty"`
}

type storeInfo struct {
	Dir             string  `json:"dir"`
	Kept            bool    `json:"kept"`
	Seed            uint64  `json:"seed"`
	Sessions        int     `json:"sessions"`
	Backups         int     `json:"backups"`
	Shrunk          int     `json:"shrunk"`
	Files           int     `json:"files"`
	Bytes           int64   `json:"bytes"`
	MedianBytes     int     `json:"median_bytes,omitempty"`
	Sigma           float64 `json:"sigma,omitempty"`
	HugeBytes       int64   `json:"huge_bytes,omitempty"`
	GenerateSeconds float64 `json:"generate_seconds"`
}

type jobStats struct {
	Name          string    `json:"name"`
	Seconds       []float64 `json:"seconds"`
	MedianSeconds float64   `json:"median_seconds"`
	MinSeconds    float64   `json:"min_seconds"`
	MaxSeconds    float64   `json:"max_seconds"`
	MBPerSecond   float64   `json:"mb_per_second,omitempty"`
	CPUSeconds    float64   `json:"cpu_seconds"`
	PeakRSSMiB    float64   `json:"peak_rss_mib"`
}

type ratioStat struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// summarize reduces a job's runs: median, fastest and slowest wall times,
// throughput over the median, median CPU time, and the highest peak RSS.
func summarize(j job, ms []measurement, storeBytes int64) jobStats {
	st := jobStats{Name: j.name}
	var cpu []float64
	var rss int64
	for _, m := range ms {
		st.Seconds = append(st.Seconds, m.wall.Seconds())
		cpu = append(cpu, m.cpu.Seconds())
		rss = max(rss, m.maxRSS)
	}
	st.MedianSeconds = median(st.Seconds)
	st.MinSeconds = slices.Min(st.Seconds)
	st.MaxSeconds = slices.Max(st.Seconds)
	st.CPUSeconds = median(cpu)
	st.PeakRSSMiB = mib(rss)
	if st.MedianSeconds > 0 && j.kind != kindStartup {
		st.MBPerSecond = float64(storeBytes) / 1e6 / st.MedianSeconds
	}
	return st
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// addRatios adds the ratios of median times that tell the story: how much
// faster than the reference recovery is, and what it costs over reading.
func (r *results) addRatios() {
	find := func(kind string) *jobStats {
		for i := range r.Jobs {
			if r.Jobs[i].Name == kind {
				return &r.Jobs[i]
			}
		}
		return nil
	}
	for _, pair := range [][2]string{
		{"reference (python)", "recover --count-all"},
		{"reference (python)", "recover"},
		{"recover", floorJob},
		{"recover --count-all", floorAllJob},
		{"recover --count-all", "plain read"},
		{"scan --count-all", "plain read"},
		{"recover --count-all", "scan --count-all"},
	} {
		a, b := find(pair[0]), find(pair[1])
		if a != nil && b != nil && b.MedianSeconds > 0 {
			r.Ratios = append(r.Ratios, ratioStat{Name: a.Name + " / " + b.Name, Value: a.MedianSeconds / b.MedianSeconds})
		}
	}
}

func (r *results) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *results) writeText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	s := r.Store
	plural := "s"
	if r.Runs == 1 {
		plural = ""
	}
	fmt.Fprintf(bw, "sessionbench: %d run%s of each job, page cache warm, concurrency %d\n\n", r.Runs, plural, r.Concurrency)
	if s.HugeBytes > 0 {
		fmt.Fprintf(bw, "store    1 session of %s bytes and its backup, which has more messages\n", group(s.HugeBytes))
	} else {
		fmt.Fprintf(bw, "store    %s sessions, %s with a backup, %s shrunk; median session %s bytes (log-normal, sigma %g)\n",
			group(int64(s.Sessions)), group(int64(s.Backups)), group(int64(s.Shrunk)), group(int64(s.MedianBytes)), s.Sigma)
	}
	where := "removed at the end"
	if s.Kept {
		where = "kept"
	}
	fmt.Fprintf(bw, "         %s files, %s (%s bytes), seed %d, generated in %s s (not timed)\n",
		group(int64(s.Files)), megabytes(s.Bytes), group(s.Bytes), s.Seed, seconds(time.Duration(s.GenerateSeconds*float64(time.Second))))
	fmt.Fprintf(bw, "         %s (%s)\n", s.Dir, where)
	m := r.Machine
	fmt.Fprintf(bw, "machine  GOMAXPROCS %d (%d CPUs), %s, %s", m.GOMAXPROCS, m.CPUs, m.CPUModel, m.Go)
	if m.Python != "" {
		fmt.Fprintf(bw, ", %s", m.Python)
	}
	fmt.Fprint(bw, "\n")
	if m.LoadAverage != "" {
		fmt.Fprintf(bw, "         load average %s before the runs\n", m.LoadAverage)
	}
	fmt.Fprint(bw, "\n")

	width := 20
	for _, j := range r.Jobs {
		width = max(width, len(j.Name))
	}
	row := "%-" + strconv.Itoa(width) + "s %9s %8s %8s %8s %8s %13s\n"
	fmt.Fprintf(bw, row, "JOB", "MEDIAN s", "MIN s", "MAX s", "MB/s", "CPU s", "PEAK RSS MiB")
	for _, j := range r.Jobs {
		rate := "-"
		if j.MBPerSecond > 0 {
			rate = strconv.FormatFloat(j.MBPerSecond, 'f', 1, 64)
		}
		fmt.Fprintf(bw, row, j.Name,
			strconv.FormatFloat(j.MedianSeconds, 'f', 3, 64),
			strconv.FormatFloat(j.MinSeconds, 'f', 3, 64),
			strconv.FormatFloat(j.MaxSeconds, 'f', 3, 64),
			rate,
			strconv.FormatFloat(j.CPUSeconds, 'f', 3, 64),
			strconv.FormatFloat(j.PeakRSSMiB, 'f', 1, 64))
	}
	fmt.Fprint(bw, "\nTimes are wall times of each job's process, start to exit (median, fastest,\n"+
		"slowest run); MB/s is the store's bytes (1 MB = 10^6 bytes) over the median\n"+
		"time; CPU s is the median user + system time; PEAK RSS is the highest, over\n"+
		"the runs, of the job process's own peak resident set (VmHWM).\n")
	for _, j := range r.Jobs {
		if j.Name == startupJob {
			fmt.Fprint(bw, "\""+startupJob+"\" is the Go job process starting and exiting: the floor\n"+
				"under the other Go jobs.\n")
		}
	}
	if len(r.Ratios) > 0 {
		fmt.Fprint(bw, "\nratios of the median times:\n")
		width := 0
		for _, x := range r.Ratios {
			width = max(width, len(x.Name))
		}
		for _, x := range r.Ratios {
			fmt.Fprintf(bw, "  %-*s  %6.2fx\n", width, x.Name, x.Value)
		}
	}
	if r.PeakRSSTargetMiB > 0 {
		for _, j := range r.Jobs {
			verdict := "met"
			if j.PeakRSSMiB >= float64(r.PeakRSSTargetMiB) {
				verdict = "NOT met"
			}
			fmt.Fprintf(bw, "\npeak RSS of %s: %.1f MiB; target under %d MiB: %s\n", j.Name, j.PeakRSSMiB, r.PeakRSSTargetMiB, verdict)
		}
	}
	return bw.Flush()
}

// describeMachine says what the benchmark ran on. python is the
// interpreter's path, or "".
func describeMachine(ctx context.Context, python string) machine {
	m := machine{
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPUs:       runtime.NumCPU(),
		CPUModel:   cpuModel(),
		Go:         runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
	}

	if python != "" {
		out, err := exec.CommandContext(ctx, python, "--version").CombinedOutput()
		if err == nil {
			m.Python = strings.TrimSpace(string(out))
		} else {
			m.Python = "unknown (" + err.Error() + ")"
		}
	}
	return m
}

// loadAverage returns the first three fields of /proc/loadavg, or "".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// cpuModel reads the CPU's name from /proc/cpuinfo, where there is one.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range bytes.Lines(data) {
		key, value, ok := strings.Cut(string(line), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// group writes n with thousands separators: 13,000.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// megabytes formats n bytes in MB (10^6 bytes).
func megabytes(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func mib(n int64) float64 {
	return float64(n) / (1 << 20)
}
