// Command bench is the ossfs benchmark harness: it builds ossfs, starts the
// emulator (and, with --wan, a second one with the WAN profile), runs named
// workloads, measures the limit of each in the same run, and prints a table of
// figures, ratios, OSS calls and peak RSS, also written as JSON so that results
// can be compared across commits. docs/BENCHMARKS.md explains every workload.
//
//	go run ./bench [flags] [WORKLOAD...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	size        int64
	wan         bool
	latency     time.Duration
	bandwidth   int64
	jsonPath    string
	keep        bool
	repeat      int
	concurrency int
	timeout     time.Duration
	bin         string
	names       []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func parseConfig(args []string, stderr io.Writer) (config, error) {
	c := config{size: 1 << 30, latency: 20 * time.Millisecond, bandwidth: 50e6}
	size := sizeFlag{&c.size}
	bandwidth := sizeFlag{&c.bandwidth}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(size, "size", "object size, e.g. 1GiB, 256MiB, 100MB")
	fs.BoolVar(&c.wan, "wan", false, "also run the -wan variants (emulator with --latency and --bandwidth)")
	fs.DurationVar(&c.latency, "latency", c.latency, "WAN profile: latency per request")
	fs.Var(bandwidth, "bandwidth", "WAN profile: bytes per second per connection")
	fs.StringVar(&c.jsonPath, "json", "", "write the results here (default bench/out/<timestamp>.json)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary folder (binary, data, emulator store)")
	fs.IntVar(&c.repeat, "repeat", 1, "run every measurement N times and report the median")
	fs.IntVar(&c.concurrency, "concurrency", 8, "ossfs cp --concurrency, and the number of parallel curls")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on every subprocess (build, cp, curl)")
	fs.StringVar(&c.bin, "bin", "", "use this ossfs binary instead of building ./cmd/ossfs (e.g. one built from another commit)")
	list := fs.Bool("list", false, "list the workloads and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./bench [flags] [WORKLOAD...]\n\nWith no WORKLOAD, runs them all (the -wan variants only with --wan).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if *list {
		printWorkloads(stderr)
		return c, flag.ErrHelp
	}
	c.names = fs.Args()
	switch {
	case c.size < 1:
		return c, fmt.Errorf("%w: --size must be positive", errUsage)
	case c.repeat < 1 || c.repeat > 100:
		return c, fmt.Errorf("%w: --repeat must be 1..100", errUsage)
	case c.concurrency < 1 || c.concurrency > 256:
		return c, fmt.Errorf("%w: --concurrency must be 1..256", errUsage)
	case c.timeout <= 0:
		return c, fmt.Errorf("%w: --timeout must be positive", errUsage)
	case c.bandwidth < 1 || c.latency < 0:
		return c, fmt.Errorf("%w: --bandwidth must be positive and --latency not negative", errUsage)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	jobs, err := selectJobs(cfg.names, cfg.wan)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if cfg.jsonPath == "" {
		cfg.jsonPath = filepath.Join(root, "bench", "out", time.Now().Format("20060102-150405")+".json")
	}
	tmp, err := os.MkdirTemp("", "ossfs-bench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	loadStart := loadAverage()
	r := &runner{cfg: cfg, root: root, tmp: tmp}
	defer r.close()
	rows, runErr := r.runAll(ctx, jobs)
	if len(rows) == 0 {
		return runErr
	}
	rep := newReport(context.WithoutCancel(ctx), cfg, root, r.version, loadStart, rows)
	rep.writeTable(stdout)
	if err := rep.writeJSON(cfg.jsonPath); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(stdout, "\nJSON: %s\n", cfg.jsonPath)
	return runErr
}

// logf prints a progress line on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// moduleRoot is the folder holding go.mod (bench builds ./cmd/ossfs from it).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := output(ctx, time.Minute, "go", "env", "GOMOD")
	gomod := strings.TrimSpace(out)
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run bench inside the ossfs module (go env GOMOD: %q, %v)", gomod, err)
	}
	return filepath.Dir(gomod), nil
}
