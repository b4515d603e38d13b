package integration

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ossfs/ossfs/internal/testbytes"
)

// cli runs ossfs commands against one emulator with its credentials exported.
type cli struct {
	t   *testing.T
	env []string
}

func newCLI(t *testing.T, emulatorArgs ...string) *cli {
	emu := startEmulator(t, append([]string{"--memory", "--bucket", "cli"}, emulatorArgs...)...)
	return &cli{t: t, env: append(os.Environ(),
		"OSSFS_ENDPOINT="+emu.endpoint, "APS_CLIENT_ID="+emuClientID, "APS_CLIENT_SECRET="+emuClientSecret)}
}

// run runs `ossfs args...` and returns stdout, stderr and the exit code.
func (c *cli) run(args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(ossfsBin, args...)
	cmd.Env = c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("ossfs %v: exit %d\n%s", args, code, errOut)
	}
	return out
}

func fileSHA1(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func TestCLICopyListStatRemove(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "big file.bin")
	const size = 20<<20 + 3
	os.WriteFile(src, testbytes.Pattern{Seed: 42}.Bytes(0, size), 0o644)
	want := fileSHA1(t, src)

	out := c.ok("cp", src, "oss://cli/dir/")
	if !strings.Contains(out, "1 copied") {
		t.Fatalf("cp up: %q", out)
	}
	if out := c.ok("ls", "oss://cli/"); strings.TrimSpace(out) != "dir/" {
		t.Fatalf("ls of the bucket: %q", out)
	}
	if out := c.ok("ls", "-r", "oss://cli/"); strings.TrimSpace(out) != "dir/big file.bin" {
		t.Fatalf("ls -r: %q", out)
	}
	if out := c.ok("ls", "-l", "oss://cli/dir/"); !strings.Contains(out, "20971523") || !strings.Contains(out, "dir/big file.bin") {
		t.Fatalf("ls -l: %q", out)
	}
	if out := c.ok("stat", "oss://cli/dir/big file.bin"); !strings.Contains(out, "sha1:          "+want) {
		t.Fatalf("stat: %q", out)
	}

	back := t.TempDir()
	c.ok("cp", "oss://cli/dir/big file.bin", back)
	if got := fileSHA1(t, filepath.Join(back, "big file.bin")); got != want {
		t.Fatalf("downloaded sha1 %s, want %s", got, want)
	}
	// Again: already there, nothing moves; --stats shows it.
	out, errOut, code := c.run("cp", "--stats", "oss://cli/dir/big file.bin", back)
	if code != 0 || !strings.Contains(out, "1 already there") {
		t.Fatalf("second cp: exit %d, %q", code, out)
	}
	var stats struct{ Calls map[string]int64 }
	if err := json.Unmarshal([]byte(lastLine(errOut)), &stats); err != nil || stats.Calls["s3.download"] != 0 || stats.Calls["signeds3download"] != 1 || stats.Calls["objects.details"] != 0 {
		t.Fatalf("--stats of a skipped copy: %q (%v)", errOut, err)
	}

	c.ok("rm", "-r", "oss://cli/dir")
	_, errOut, code = c.run("stat", "oss://cli/dir/big file.bin")
	if code != 1 || !strings.Contains(errOut, "no such object") {
		t.Fatalf("stat after rm: exit %d, %q", code, errOut)
	}
}

func TestCLIRecursiveCopy(t *testing.T) {
	c := newCLI(t)
	src := t.TempDir()
	files := map[string]string{"a.txt": "a", "sub/b.txt": "bb", "sub/deeper/c.txt": "ccc", "with space/d+e.txt": "de"}
	for rel, body := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(src, rel), []byte(body), 0o644)
	}
	if out := c.ok("cp", "-r", src, "oss://cli/tree"); !strings.Contains(out, "4 copied") {
		t.Fatalf("cp -r up: %q", out)
	}
	if out := c.ok("cp", "-r", src, "oss://cli/tree"); !strings.Contains(out, "0 copied") || !strings.Contains(out, "4 already there") {
		t.Fatalf("second cp -r up: %q", out)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	c.ok("cp", "-r", "oss://cli/tree", dst)
	for rel, body := range files {
		got, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil || string(got) != body {
			t.Fatalf("%s: %q %v", rel, got, err)
		}
	}
}

func TestCLIErrors(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cp", filepath.Join(dir, "missing"), "oss://cli/x"}, 1, "no such file"},
		{[]string{"cp", "oss://cli/missing", dir}, 1, "not found"},
		{[]string{"cp", dir, "oss://cli/x"}, 1, "use -r"},
		{[]string{"cp", "a", "b"}, 1, "one side must be"},
		{[]string{"cp", "only-one"}, 2, "source and a destination"},
		{[]string{"ls", "oss://"}, 0, "oss://cli"},
		{[]string{"ls", "not-a-location"}, 2, "oss://BUCKET"},
		{[]string{"rm", "oss://cli/missing"}, 1, "no such object"},
		{[]string{"stat", "oss://cli/"}, 2, "not an oss://BUCKET/KEY"},
		{[]string{"cp", "--url-minutes", "61", dir, "oss://cli/x"}, 2, "URLMinutes"},
	} {
		out, errOut, code := c.run(tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("ossfs %v: exit %d, %q %q; want exit %d mentioning %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
	// A download into a folder that does not exist fails and creates nothing.
	os.WriteFile(filepath.Join(dir, "f"), []byte("f"), 0o644)
	c.ok("cp", filepath.Join(dir, "f"), "oss://cli/f")
	_, errOut, code := c.run("cp", "oss://cli/f", filepath.Join(dir, "no", "such", "f"))
	if code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("cp into a missing folder: exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !os.IsNotExist(err) {
		t.Fatal("cp into a missing folder created folders")
	}
	// No credentials: a usage error naming what to set.
	cmd := exec.Command(ossfsBin, "ls", "oss://cli/")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "APS_CLIENT_ID") {
		t.Fatalf("ls without credentials: exit %d, %q", cmd.ProcessState.ExitCode(), out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
