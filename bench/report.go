package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// row is one line of the table and of the JSON: an ossfs figure (with its
// limit, ratios and target) or one of the limits it is compared with.
type row struct {
	Workload           string             `json:"workload"`
	Profile            string             `json:"profile"` // local or wan
	Tool               string             `json:"tool"`    // ossfs or curl
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
}

// label is the row's name in the table.
func (r row) label() string {
	if r.Tool == "curl" {
		return fmt.Sprintf("%s (curl ×%d)", r.Workload, r.Streams)
	}
	return r.Workload
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

// writeTable prints the rows as a Markdown table (pasteable into
// docs/BENCHMARKS.md) and the machine line.
func (rep report) writeTable(w io.Writer) {
	head := []string{"workload", "bytes", "seconds", "MB/s", "limit MB/s", "ratio", "vs 1 stream",
		"OSS calls", "S3 requests", "peak RSS MiB", "CPU s client+emu+other", "target", "pass"}
	cells := [][]string{head}
	for _, r := range rep.Rows {
		cells = append(cells, []string{
			r.label(), fmt.Sprint(r.Bytes), fmt.Sprintf("%.2f", r.Seconds), fmt.Sprintf("%.1f", r.MBps),
			num(r.LimitMBps, "%.1f"), num(r.Ratio, "%.2f"), num(r.VsOneStream, "%.2f×"),
			fmt.Sprint(r.OSSCalls), fmt.Sprint(r.S3Requests), num(r.PeakRSSMiB, "%.1f"),
			fmt.Sprintf("%.1f+%.1f+%.1f", r.CPUSeconds, r.EmulatorCPUSeconds, r.OtherCPUSeconds),
			r.Target, passText(r.Pass),
		})
	}
	writeMarkdown(w, cells)
	m := rep.Machine
	fmt.Fprintf(w, "\n%s, %d CPUs (%s), %d MiB RAM, Linux %s, %s, %s, commit %s, load %s → %s; repeat %d, concurrency %d",
		rep.Time.Format(time.DateOnly), m.NProc, m.CPU, m.MemoryMiB, m.Kernel, m.Go, m.Curl, m.Commit,
		m.Load[0], m.Load[1], rep.Flags["repeat"], rep.Flags["concurrency"])
	if rep.Flags["wan"] == true {
		fmt.Fprintf(w, "; WAN profile --latency %s --bandwidth %s", rep.Flags["latency"], formatSize(rep.Flags["bandwidth"].(int64)))
	}
	fmt.Fprintln(w)
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
