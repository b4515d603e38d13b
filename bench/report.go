package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one line of the table and of the JSON: an ossfs figure (with its
// limit, ratios and target) or one of the limits it is compared with.
type row struct {
	Workload           string             `json:"workload"`
	Kind               string             `json:"kind"`              // transfer (ossfs cp) or mount
	Measure            string             `json:"measure,omitempty"` // mount rows: what was measured
	Profile            string             `json:"profile"`           // local or wan
	Tool               string             `json:"tool"`              // ossfs, curl or loopback
	Streams            int                `json:"streams,omitempty"`
	Bytes              int64              `json:"bytes"`
	Seconds            float64            `json:"seconds"` // median of Runs
	MBps               float64            `json:"mbPerSec"`
	LimitMBps          float64            `json:"limitMBPerSec,omitempty"`
	Ratio              float64            `json:"ratio,omitempty"`       // MBps / LimitMBps
	VsOneStream        float64            `json:"vsOneStream,omitempty"` // MBps / curl ×1 MBps
	OSSCalls           int64              `json:"ossCalls"`
	S3Requests         int64              `json:"s3Requests"`
	PeakRSSMiB         float64            `json:"peakRSSMiB,omitempty"`
	CPUSeconds         float64            `json:"cpuSeconds"`         // client process(es), user + system
	EmulatorCPUSeconds float64            `json:"emulatorCPUSeconds"` // the emulator meanwhile
	OtherCPUSeconds    float64            `json:"otherCPUSeconds"`    // every other process meanwhile
	Target             string             `json:"target,omitempty"`
	Pass               *bool              `json:"pass,omitempty"`
	Runs               []float64          `json:"runs"`
	Calls              map[string]int64   `json:"calls,omitempty"`         // counted by the client
	EmulatorCalls      map[string]int64   `json:"emulatorCalls,omitempty"` // counted by the emulator
	Phases             map[string]float64 `json:"phases,omitempty"`

	// Mount rows: the row's figure in its unit (MB/s, reads/s, ms, calls/file,
	// ...), the limit's figure in the same unit, and the mount daemon's share.
	Value           float64            `json:"value,omitempty"`
	Unit            string             `json:"unit,omitempty"`
	Limit           float64            `json:"limit,omitempty"`
	LimitOf         string             `json:"limitOf,omitempty"` // the row the limit comes from
	MountCPUSeconds float64            `json:"mountCPUSeconds,omitempty"`
	Extra           map[string]float64 `json:"extra,omitempty"`      // further figures, named
	MountCalls      map[string]int64   `json:"mountCalls,omitempty"` // the daemon's --stats over its life (fresh-mount measurements)
}

// label is the row's name in the table.
func (r row) label() string {
	switch r.Tool {
	case "curl":
		return fmt.Sprintf("%s (curl ×%d)", r.Workload, r.Streams)
	case "ossfs", "":
		return r.Workload
	}
	return fmt.Sprintf("%s (%s)", r.Workload, r.Tool)
}

// machine describes where the run happened.
type machine struct {
	NProc     int    `json:"nproc"`
	CPU       string `json:"cpu"`
	MemoryMiB int64  `json:"memoryMiB"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
	Go        string `json:"go"`
	Curl      string `json:"curl"`
	Commit    string `json:"commit,omitempty"`
	// Load is the 1-minute load average at the start and at the end of the
	// run: other work on the machine shares the CPUs with the benchmark.
	Load [2]string `json:"loadAverage"`
}

// report is what a run writes as JSON.
type report struct {
	Time    time.Time      `json:"time"`
	Ossfs   string         `json:"ossfs"` // ossfs version of the binary measured
	Machine machine        `json:"machine"`
	Flags   map[string]any `json:"flags"`
	Rows    []row          `json:"rows"`
}

func newReport(ctx context.Context, cfg config, root, version, loadStart string, rows []row) report {
	m := describeMachine(ctx, root)
	m.Load = [2]string{loadStart, loadAverage()}
	return report{
		Time:    time.Now().UTC().Truncate(time.Second),
		Ossfs:   version,
		Machine: m,
		Flags: map[string]any{
			"size": cfg.size, "wan": cfg.wan, "latency": cfg.latency.String(), "bandwidth": cfg.bandwidth,
			"repeat": cfg.repeat, "concurrency": cfg.concurrency, "workloads": cfg.names, "bin": cfg.bin,
		},
		Rows: rows,
	}
}

func describeMachine(ctx context.Context, root string) machine {
	m := machine{NProc: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Curl: curlVersion(ctx)}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int64
		fmt.Sscan(kb, &n)
		m.MemoryMiB = n >> 10
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := output(ctx, time.Minute, "go", "env", "GOVERSION"); err == nil {
		m.Go = strings.TrimSpace(out)
	}
	git := func(args ...string) string {
		out, err := proc{name: "git", args: append([]string{"-C", root}, args...)}.run(ctx, 30*time.Second)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(out.stdout)
	}
	if m.Commit = git("rev-parse", "--short", "HEAD"); m.Commit != "" && git("status", "--porcelain") != "" {
		m.Commit += "+dirty"
	}
	return m
}

// loadAverage is the 1-minute load average ("" without /proc).
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	load, _, _ := strings.Cut(string(b), " ")
	return load
}

// procField returns the value of the first "name : value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// writeTable prints the rows as Markdown tables (pasteable into
// docs/BENCHMARKS.md): the transfer rows, then the mount rows, then the
// machine line.
func (rep report) writeTable(w io.Writer) {
	var transfer, mount []row
	for _, r := range rep.Rows {
		if r.Kind == kindMount {
			mount = append(mount, r)
		} else {
			transfer = append(transfer, r)
		}
	}
	if len(transfer) > 0 {
		writeTransferTable(w, transfer)
	}
	if len(mount) > 0 {
		if len(transfer) > 0 {
			fmt.Fprintln(w)
		}
		writeMountTable(w, mount)
	}
	m := rep.Machine
	fmt.Fprintf(w, "\n%s, %d CPUs (%s), %d MiB RAM, Linux %s, %s, %s, commit %s, load %s → %s; repeat %d, concurrency %d",
		rep.Time.Format(time.DateOnly), m.NProc, m.CPU, m.MemoryMiB, m.Kernel, m.Go, m.Curl, m.Commit,
		m.Load[0], m.Load[1], rep.Flags["repeat"], rep.Flags["concurrency"])
	if rep.Flags["wan"] == true {
		fmt.Fprintf(w, "; WAN profile --latency %s --bandwidth %s", rep.Flags["latency"], formatSize(rep.Flags["bandwidth"].(int64)))
	}
	fmt.Fprintln(w)
}

// Row kinds.
const (
	kindTransfer = "transfer"
	kindMount    = "mount"
)

func writeTransferTable(w io.Writer, rows []row) {
	head := []string{"workload", "bytes", "seconds", "MB/s", "limit MB/s", "ratio", "vs 1 stream",
		"OSS calls", "S3 requests", "peak RSS MiB", "CPU s client+emu+other", "target", "pass"}
	cells := [][]string{head}
	for _, r := range rows {
		cells = append(cells, []string{
			r.label(), fmt.Sprint(r.Bytes), fmt.Sprintf("%.2f", r.Seconds), fmt.Sprintf("%.1f", r.MBps),
			num(r.LimitMBps, "%.1f"), num(r.Ratio, "%.2f"), num(r.VsOneStream, "%.2f×"),
			fmt.Sprint(r.OSSCalls), fmt.Sprint(r.S3Requests), num(r.PeakRSSMiB, "%.1f"),
			fmt.Sprintf("%.1f+%.1f+%.1f", r.CPUSeconds, r.EmulatorCPUSeconds, r.OtherCPUSeconds),
			r.Target, passText(r.Pass),
		})
	}
	writeMarkdown(w, cells)
}

// writeMountTable prints the mount rows: each row's figure in its own unit,
// the limit in the same unit, and the OSS calls per endpoint as the emulator
// counted them during the measurement.
func writeMountTable(w io.Writer, rows []row) {
	head := []string{"workload", "measure", "seconds", "figure", "limit", "ratio", "OSS calls",
		"OSS calls per endpoint", "S3 requests", "peak RSS MiB", "CPU s mount+reader+emu+other", "target", "pass"}
	cells := [][]string{head}
	for _, r := range rows {
		cells = append(cells, []string{
			r.label(), r.Measure, seconds(r.Seconds), figure(r.Value, r.Unit), figure(r.Limit, r.Unit),
			num(r.Ratio, "%.2f"), fmt.Sprint(r.OSSCalls), endpointCalls(r.EmulatorCalls),
			fmt.Sprint(r.S3Requests), num(r.PeakRSSMiB, "%.1f"),
			fmt.Sprintf("%.1f+%.1f+%.1f+%.1f", r.MountCPUSeconds, r.CPUSeconds, r.EmulatorCPUSeconds, r.OtherCPUSeconds),
			r.Target, passText(r.Pass),
		})
	}
	writeMarkdown(w, cells)
}

// seconds formats a duration in seconds, short ones with more digits.
func seconds(s float64) string {
	if s < 0.1 {
		return fmt.Sprintf("%.4f", s)
	}
	return fmt.Sprintf("%.2f", s)
}

// figure formats a value with its unit, with precision to suit its size.
func figure(v float64, unit string) string {
	if unit == "" || v == 0 {
		return ""
	}
	var s string
	switch {
	case unit == "calls/file" && v < 10:
		s = fmt.Sprintf("%.3f", v) // 3.005 is not 3.00: the targets are ≤ 3 and ≤ 0.1
	case v >= 100:
		s = fmt.Sprintf("%.0f", v)
	case v >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	return s + " " + unit
}

// endpointCalls lists the OSS calls per endpoint ("objects.list 100,
// signeds3download 1"): every endpoint but the token and signed URLs.
func endpointCalls(calls map[string]int64) string {
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		switch op {
		case opS3Download, opS3Upload, opToken:
			continue
		}
		if calls[op] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", op, calls[op]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func num(v float64, format string) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(format, v)
}

func passText(p *bool) string {
	switch {
	case p == nil:
		return ""
	case *p:
		return "yes"
	}
	return "**NO**"
}

// writeMarkdown prints cells (the first row is the header) as an aligned
// Markdown table.
func writeMarkdown(w io.Writer, cells [][]string) {
	width := make([]int, len(cells[0]))
	for _, r := range cells {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		for i, c := range r {
			fmt.Fprintf(w, "| %s%s ", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		fmt.Fprintln(w, "|")
	}
	line(cells[0])
	for i := range width {
		fmt.Fprintf(w, "|%s", strings.Repeat("-", width[i]+2))
	}
	fmt.Fprintln(w, "|")
	for _, r := range cells[1:] {
		line(r)
	}
}

// writeJSON writes the report to path, creating its folder.
func (rep report) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
