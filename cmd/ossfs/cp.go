package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ossfs/ossfs/internal/copyjob"
)

// errSomeFailed makes run exit 1 after a command reported its failures itself.
type errSomeFailed struct{ failed, total int }

func (e errSomeFailed) Error() string {
	return fmt.Sprintf("%d of %d copies failed", e.failed, e.total)
}

func runCp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		aps       apsFlags
		recursive bool
		parallel  int
		overwrite bool
		quiet     bool
	)
	fs := flag.NewFlagSet("cp", flag.ContinueOnError)
	aps.register(fs)
	fs.BoolVar(&recursive, "r", false, "copy every file below a folder or prefix")
	fs.IntVar(&parallel, "parallel", copyjob.DefaultOptions().Parallel, "files copied at once")
	fs.BoolVar(&overwrite, "overwrite", false, "copy even when the destination already holds the same bytes (size and sha1)")
	fs.BoolVar(&quiet, "q", false, "no progress bar and no per-file lines")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ossfs cp [flags] SRC DST\n\nSRC and DST are local paths or oss://BUCKET/KEY (at least one of them).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError("cp takes a source and a destination")
	}
	src, err := copyjob.Parse(fs.Arg(0))
	if err != nil {
		return usageError("%v", err)
	}
	dst, err := copyjob.Parse(fs.Arg(1))
	if err != nil {
		return usageError("%v", err)
	}
	client, engine, logger, err := aps.clients(stderr)
	if err != nil {
		return err
	}
	defer aps.reportCalls(client, stderr)
	cp, err := copyjob.New(client, engine, copyjob.Options{Parallel: parallel, Overwrite: overwrite, Logger: logger})
	if err != nil {
		return usageError("%v", err)
	}
	jobs, err := cp.Plan(ctx, src, dst, recursive)
	if err != nil {
		return err
	}
	var progress copyjob.Progress
	if bar := newProgress(stdout, jobs, quiet); bar != nil {
		progress = bar
		defer bar.Finish()
	}
	sum := cp.Run(ctx, jobs, progress)
	return reportCopies(sum, stdout, stderr, quiet)
}

// reportCopies prints failures (always) and a summary (unless quiet).
func reportCopies(sum copyjob.Summary, stdout, stderr io.Writer, quiet bool) error {
	for _, r := range sum.Results {
		if r.Err != nil {
			fmt.Fprintf(stderr, "ossfs cp: %v\n", r.Err)
		}
	}
	if !quiet {
		fmt.Fprintf(stdout, "%d copied (%d bytes), %d already there, %d failed\n", sum.Copied, sum.Bytes, sum.Skipped, sum.Failed)
	}
	if sum.Failed > 0 {
		return errSomeFailed{sum.Failed, len(sum.Results)}
	}
	return nil
}

// newProgress returns a byte progress bar on a terminal, nil elsewhere.
func newProgress(stdout io.Writer, jobs []copyjob.Job, quiet bool) *progressbar.ProgressBar {
	f, ok := stdout.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var total int64
	for _, j := range jobs {
		total += j.Size
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(f),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(fmt.Sprintf("%d files", len(jobs))),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
	)
}
