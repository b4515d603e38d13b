package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A mount workload runs FUSE daemons: `ossfs mount` and the loopback helper
// (bench/loopback). Each is a mountProc: started, waited for until it prints
// its ready line, measured while it serves (CPU time and peak RSS from /proc),
// and stopped with SIGTERM, which makes it unmount. Whatever happens — an
// error, Ctrl-C, a daemon that ignores the signal — every mount point the run
// created is detached (umount -l) before the benchmark exits: by the
// workload's deferred stop, and again by the mounts registry when the runner
// closes.

// Bounds on a daemon's start and stop.
const (
	mountReadyTimeout = 30 * time.Second
	mountStopTimeout  = 15 * time.Second
)

// mountSpec says how to start a daemon.
type mountSpec struct {
	name    string   // for messages: "ossfs mount", "loopback"
	bin     string   // the program
	args    []string // its arguments, the mount point included
	env     []string // added to a cleaned environment
	dir     string   // the mount point (created if missing)
	ready   string   // the stdout line printed once mounted
	logPath string   // its stderr
}

// mountProc is a running daemon.
type mountProc struct {
	spec      mountSpec
	cmd       *exec.Cmd
	done      chan struct{} // closed once cmd has been waited for
	readyTime float64       // seconds from start to the ready line
	reg       *mounts

	stopOnce sync.Once
	stopErr  error
}

// mounts remembers every mount point the run created, so that the runner can
// detach whatever is still mounted when it closes (after a failure or Ctrl-C).
type mounts struct {
	mu   sync.Mutex
	dirs []string
}

func (r *mounts) add(dir string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dirs = append(r.dirs, dir)
}

// detachAll lazily unmounts every registered mount point still mounted.
func (r *mounts) detachAll() {
	r.mu.Lock()
	dirs := r.dirs
	r.dirs = nil
	r.mu.Unlock()
	for _, d := range dirs {
		if mounted(d) {
			logf("detaching %s (umount -l)", d)
			if err := detach(d); err != nil {
				logf("umount -l %s: %v", d, err)
			}
		}
	}
}

// startMount starts the daemon and waits (at most mountReadyTimeout) for its
// ready line.
func startMount(ctx context.Context, reg *mounts, s mountSpec) (*mountProc, error) {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = append(cleanEnv(), s.env...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	m := &mountProc{spec: s, cmd: cmd, done: make(chan struct{}), reg: reg}
	start := time.Now()
	reg.add(s.dir) // before it can mount, so that no exit path forgets it
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(m.done) }()
	line, err := firstLine(ctx, stdout, mountReadyTimeout)
	if err == nil && line != s.ready {
		err = fmt.Errorf("first line %q, want %q", line, s.ready)
	}
	if err != nil {
		m.stop()
		return nil, fmt.Errorf("%s: %w; log: %s", s.name, err, tail(s.logPath))
	}
	m.readyTime = time.Since(start).Seconds()
	return m, nil
}

// firstLine reads the first line of r (within timeout) and keeps draining the
// rest in the background.
func firstLine(ctx context.Context, r io.Reader, timeout time.Duration) (string, error) {
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, r)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		if !ok {
			return "", fmt.Errorf("exited without a line on stdout")
		}
		return line, nil
	case <-timer.C:
		return "", fmt.Errorf("no line on stdout after %v", timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (m *mountProc) pid() int { return m.cmd.Process.Pid }

// dir is the mount point.
func (m *mountProc) dir() string { return m.spec.dir }

// cpu is the daemon's CPU time so far (0 once it has exited).
func (m *mountProc) cpu() float64 { return processCPU(m.pid()) }

// resetPeakRSS restarts the daemon's peak RSS (VmHWM) from its current RSS,
// so that a measurement on a long-lived mount sees its own peak.
func (m *mountProc) resetPeakRSS() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", m.pid()), []byte("5"), 0)
}

// vmHWM is the daemon's peak RSS so far (VmHWM) in bytes (0 if unknown).
func (m *mountProc) vmHWM() int64 { return vmHWM(m.pid()) }

// stop asks the daemon to unmount and exit (SIGTERM), kills it after
// mountStopTimeout, and detaches the mount point if it is still mounted. It
// is safe to call more than once; the result of the first call sticks.
func (m *mountProc) stop() error {
	m.stopOnce.Do(func() { m.stopErr = m.doStop() })
	return m.stopErr
}

func (m *mountProc) doStop() error {
	var errs []string
	select {
	case <-m.done:
	default:
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(mountStopTimeout):
			errs = append(errs, fmt.Sprintf("ignored SIGTERM for %v; killed", mountStopTimeout))
			_ = m.cmd.Process.Kill()
			<-m.done
		}
	}
	if mounted(m.spec.dir) {
		if err := detach(m.spec.dir); err != nil {
			errs = append(errs, fmt.Sprintf("umount -l: %v", err))
		}
	}
	if st := m.cmd.ProcessState; st != nil && !st.Success() && len(errs) == 0 {
		errs = append(errs, fmt.Sprintf("exited with %v", st))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s at %s: %s; log: %s", m.spec.name, m.spec.dir, strings.Join(errs, "; "), tail(m.spec.logPath))
	}
	return nil
}

// stderrLine finds the last line of the exited daemon's stderr that starts
// with prefix (ossfs --stats: {"calls":...}; loopback: {"readBytes":...}).
func (m *mountProc) stderrLine(prefix string) string {
	b, err := os.ReadFile(m.spec.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// mounted says whether dir is a mount point (/proc/self/mountinfo).
func mounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeOctal(f[4]) == dir {
			return true
		}
	}
	return false
}

// unescapeOctal undoes mountinfo's \NNN escapes.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// dropCaches writes back dirty pages and drops the kernel's clean page cache
// (echo 1 > /proc/sys/vm/drop_caches; root only). tmpfs pages stay.
func dropCaches() error {
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0); err != nil {
		return fmt.Errorf("dropping the page cache (needs root): %w", err)
	}
	return nil
}
