package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// proc is one subprocess to run: its command line and extra environment.
type proc struct {
	name string
	args []string
	env  []string // appended to a cleaned environment; nil: inherit
	dir  string
	// okExit lists non-zero exit codes that are not failures (grep: 1, no
	// match).
	okExit []int
}

// procResult is how a subprocess ended.
type procResult struct {
	seconds float64
	cpu     float64 // user + system seconds
	peakRSS int64   // bytes
	stdout  string
	stderr  string
}

// run starts p, waits for it (at most timeout) and times it from start to
// exit. A non-zero exit is an error carrying the end of stderr.
func (p proc) run(ctx context.Context, timeout time.Duration) (procResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.name, p.args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = p.dir
	if p.env != nil {
		cmd.Env = append(cleanEnv(), p.env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Start()
	var rss *rssWatch
	if err == nil {
		rss = watchRSS(cmd.Process.Pid)
		err = cmd.Wait()
	}
	res := procResult{seconds: time.Since(start).Seconds(), stdout: stdout.String(), stderr: stderr.String()}
	if rss != nil {
		res.peakRSS = rss.childPeakRSS(cmd.ProcessState)
	}
	if cmd.ProcessState != nil {
		res.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if ee, ok := err.(*exec.ExitError); ok && ctx.Err() == nil && slices.Contains(p.okExit, ee.ExitCode()) {
		err = nil
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		return res, fmt.Errorf("%s %s: %w: %s", p.name, p.args[0], err, lastLines(res.stderr, 5))
	}
	return res, nil
}

// runAll starts every proc at once and waits for them all.
func runAll(ctx context.Context, timeout time.Duration, procs []proc) ([]procResult, error) {
	results := make([]procResult, len(procs))
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { results[i], errs[i] = p.run(ctx, timeout) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// output runs a short command and returns its stdout.
func output(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	res, err := proc{name: name, args: args}.run(ctx, timeout)
	return res.stdout, err
}

// cleanEnv is the environment without APS credentials or endpoint, so that a
// subprocess sees only what the benchmark hands it.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "APS_CLIENT_ID", "APS_CLIENT_SECRET", "APS_ACCESS_TOKEN", "OSSFS_ENDPOINT":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
