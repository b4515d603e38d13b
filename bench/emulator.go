package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ossfs/ossfs/oss"
)

// The one app and the bucket of every benchmark emulator.
const (
	emulatorClientID     = "ossfs-emulator"
	emulatorClientSecret = "ossfs-emulator-secret"
	benchBucket          = "bench"
	servingPrefix        = "ossfs emulator serving "
)

// emulator is an `ossfs emulator` subprocess on 127.0.0.1 with its own data
// folder, and an in-process client on it for setup and limits.
type emulator struct {
	profile  string // "local" or "wan"
	endpoint string
	client   *oss.Client
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd has been waited for
	logPath  string
	// populated names the objects and sets of objects the mount workloads
	// have put in this emulator (kept for the run).
	populated map[string]bool
}

// wanArgs are the emulator flags of the WAN profile.
func wanArgs(cfg config) []string {
	return []string{"--latency", cfg.latency.String(), "--bandwidth", formatSize(cfg.bandwidth)}
}

// startEmulator starts bin's emulator with its store under dir and waits for
// the line that names its endpoint.
func startEmulator(ctx context.Context, bin, dir string, wan bool, cfg config) (*emulator, error) {
	e := &emulator{profile: profileName(wan), logPath: filepath.Join(dir, "emulator.log"), done: make(chan struct{})}
	args := []string{"emulator", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "store"),
		"--bucket", benchBucket, "--quota", "-1", "--log-level", "warn"}
	if wan {
		args = append(args, wanArgs(cfg)...)
	}
	logFile, err := os.Create(e.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	// Not CommandContext: stop ends it with SIGINT (a graceful shutdown) on
	// every path, Ctrl-C included.
	e.cmd = exec.Command(bin, args...)
	e.cmd.Stderr = logFile
	stdout, err := e.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = e.cmd.Wait(); close(e.done) }()
	endpoint, err := readEndpoint(ctx, stdout)
	if err != nil {
		e.stop()
		return nil, fmt.Errorf("emulator (%s): %w; log: %s", e.profile, err, tail(e.logPath))
	}
	e.endpoint = endpoint
	logf("emulator (%s) %s %s", e.profile, endpoint, strings.Join(args[1:], " "))
	e.client, err = oss.New(oss.Options{Endpoint: endpoint, ClientID: emulatorClientID,
		ClientSecret: emulatorClientSecret, CallsPerMinute: -1})
	if err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// readEndpoint reads the emulator's first stdout line (within 30s) and keeps
// draining the rest.
func readEndpoint(ctx context.Context, stdout io.Reader) (string, error) {
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		if !ok || !strings.HasPrefix(line, servingPrefix) {
			return "", fmt.Errorf("unexpected first line %q", line)
		}
		return strings.TrimPrefix(line, servingPrefix), nil
	case <-timer.C:
		return "", fmt.Errorf("no endpoint after 30s")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stop asks the emulator to shut down (SIGINT) and kills it after 15s.
func (e *emulator) stop() {
	if e == nil || e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-e.done:
	case <-time.After(15 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// stats reads GET /emulator/stats: the requests the emulator received per
// endpoint.
func (e *emulator) stats(ctx context.Context) (map[string]int64, error) {
	var s struct {
		Calls map[string]int64 `json:"calls"`
	}
	err := e.admin(ctx, http.MethodGet, "/emulator/stats", &s)
	return s.Calls, err
}

// resetStats zeroes the emulator's counters.
func (e *emulator) resetStats(ctx context.Context) error {
	return e.admin(ctx, http.MethodPost, "/emulator/stats/reset", nil)
}

func (e *emulator) admin(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.endpoint+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func profileName(wan bool) string {
	if wan {
		return "wan"
	}
	return "local"
}

// tail returns the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	if s == "" {
		return "(empty)"
	}
	return s
}
