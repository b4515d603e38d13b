package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ossfsBin is the binary under test, built by TestMain.
var ossfsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ossfs-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ossfsBin = filepath.Join(dir, "ossfs")
	build := exec.Command("go", "build", "-o", ossfsBin, "../cmd/ossfs")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ossfs:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// emulatorProc is an `ossfs emulator` process.
type emulatorProc struct {
	cmd      *exec.Cmd
	endpoint string
	stderr   *strings.Builder
	done     chan error
}

// startEmulator runs `ossfs emulator --listen 127.0.0.1:0 args...` and waits for
// the line that names its endpoint.
func startEmulator(t *testing.T, args ...string) *emulatorProc {
	t.Helper()
	cmd := exec.Command(ossfsBin, append([]string{"emulator", "--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &emulatorProc{cmd: cmd, stderr: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("emulator printed no endpoint: %v; stderr: %s", err, p.stderr)
	}
	const prefix = "ossfs emulator serving "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("emulator's first line %q", line)
	}
	p.endpoint = strings.TrimSpace(strings.TrimPrefix(line, prefix))
	go io.Copy(io.Discard, stdout)
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *emulatorProc) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("emulator exited with %v after SIGTERM; stderr: %s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("emulator ignored SIGTERM")
	}
}

// runOssfs runs the binary to completion and returns its output and exit code.
func runOssfs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ossfsBin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// needTool fails (not skips) when a tool the tests use is missing.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed; scripts/test installs it (apt-get install %s)", name, name)
	}
}
