package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ossfs/ossfs/oss"
)

const (
	emuClientID     = "ossfs-emulator"
	emuClientSecret = "ossfs-emulator-secret"
)

// TestCurlSession follows the reference's steps by hand with curl against a
// started `ossfs emulator`, then checks the object survives a restart.
func TestCurlSession(t *testing.T) {
	needTool(t, "curl")
	needTool(t, "jq")
	data := t.TempDir()
	emu := startEmulator(t, "--data", data)
	script, _ := filepath.Abs("../docs/examples/curl-session.sh")
	cmd := exec.Command("bash", script, "curl-bucket")
	cmd.Env = append(os.Environ(), "OSSFS_ENDPOINT="+emu.endpoint, "APS_CLIENT_ID="+emuClientID, "APS_CLIENT_SECRET="+emuClientSecret)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl session failed: %v\n%s", err, stderrOf(err))
	}
	sha1 := strings.TrimSpace(string(out))
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(sha1) {
		t.Fatalf("curl session printed %q, want a sha1", out)
	}
	emu.stop(t)

	// Same data folder, new process: the object is still there.
	emu = startEmulator(t, "--data", data)
	o := oss.DefaultOptions()
	o.Endpoint, o.ClientID, o.ClientSecret = emu.endpoint, emuClientID, emuClientSecret
	c, err := oss.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := c.ObjectDetails(ctx, "curl-bucket", "folder/hello world+1.txt", oss.DetailsOptions{})
	if err != nil {
		t.Fatalf("object after restart: %v", err)
	}
	if d.SHA1 != sha1 {
		t.Fatalf("object after restart has sha1 %s, want %s", d.SHA1, sha1)
	}
}

func stderrOf(err error) string {
	if e, ok := err.(*exec.ExitError); ok {
		return string(e.Stderr)
	}
	return ""
}

func TestEmulatorCreatesBuckets(t *testing.T) {
	emu := startEmulator(t, "--memory", "--bucket", "one", "--bucket", "two")
	o := oss.DefaultOptions()
	o.Endpoint, o.ClientID, o.ClientSecret = emu.endpoint, emuClientID, emuClientSecret
	c, err := oss.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, b := range []string{"one", "two"} {
		if _, err := c.BucketDetails(ctx, b); err != nil {
			t.Fatalf("bucket %s: %v", b, err)
		}
	}
}

func TestEmulatorRefusesBadCommandLines(t *testing.T) {
	faults := filepath.Join(t.TempDir(), "faults.json")
	os.WriteFile(faults, []byte(`[{"endpoint":"no-such-endpoint","every":1,"status":500}]`), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"emulator", "--listen", "0.0.0.0:0", "--memory"}, 2, "--allow-remote"},
		{[]string{"emulator", "--memory", "--listen", "127.0.0.1:0", "--faults", faults}, 1, "no-such-endpoint"},
		{[]string{"emulator", "--memory", "--listen", "127.0.0.1:0", "--bandwidth", "fast"}, 2, "byte count"},
		{[]string{"emulator", "stray"}, 2, "unexpected argument"},
		{[]string{"no-such-command"}, 2, "unknown command"},
		{nil, 2, "Usage"},
	} {
		_, stderr, code := runOssfs(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("ossfs %v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	stdout, _, code := runOssfs(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "ossfs ") {
		t.Fatalf("ossfs version: exit %d, %q", code, stdout)
	}
}
