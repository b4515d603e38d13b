package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// needFUSE skips without /dev/fuse, or fails when OSSFS_REQUIRE_FUSE=1.
func needFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("OSSFS_REQUIRE_FUSE") == "1" {
			t.Fatalf("FUSE is required (OSSFS_REQUIRE_FUSE=1) but /dev/fuse is missing: %v", err)
		}
		t.Skip("no /dev/fuse: mount tests skipped (set OSSFS_REQUIRE_FUSE=1 to make this a failure)")
	}
}

// mountProc is an `ossfs mount` process.
type mountProc struct {
	cmd    *exec.Cmd
	dir    string
	stderr *syncBuffer
	done   chan error
}

// mount starts `ossfs mount args... BUCKET DIR` and waits for its ready line.
func mount(t *testing.T, env []string, bucket string, args ...string) *mountProc {
	t.Helper()
	needFUSE(t)
	dir := t.TempDir()
	if !slices.Contains(args, "--spill-dir") && !slices.Contains(args, "--read-only") {
		args = append(args, "--spill-dir", filepath.Join(t.TempDir(), "spill"))
	}
	cmd := exec.Command(ossfsBin, append(append([]string{"mount"}, args...), bucket, dir)...)
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	m := &mountProc{cmd: cmd, dir: dir, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = m.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.done <- cmd.Wait() }()
	t.Cleanup(func() { m.stop(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "mounted at") {
		t.Fatalf("mount printed %q (%v); stderr: %s", line, err, m.stderr)
	}
	return m
}

// syncBuffer is a bytes.Buffer that a test may read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stop unmounts with SIGTERM and waits for a clean exit.
func (m *mountProc) stop(t *testing.T) {
	t.Helper()
	if m.cmd.ProcessState != nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-m.done:
		if err != nil {
			t.Errorf("mount exited with %v; stderr: %s", err, m.stderr)
		}
	case <-time.After(30 * time.Second):
		m.cmd.Process.Kill()
		exec.Command("umount", "-l", m.dir).Run()
		t.Errorf("mount ignored SIGTERM; stderr: %s", m.stderr)
	}
}

func (m *mountProc) path(rel string) string { return filepath.Join(m.dir, rel) }

// world is an emulator with a client to fill it and the environment to mount it.
type world struct {
	emu *emulatorProc
	c   *oss.Client
	e   *transfer.Engine
	env []string
}

func newWorld(t *testing.T, bucket string) *world {
	emu := startEmulator(t, "--memory", "--quota", "-1", "--bucket", bucket)
	o := oss.DefaultOptions()
	o.Endpoint, o.ClientID, o.ClientSecret = emu.endpoint, emuClientID, emuClientSecret
	o.CallsPerMinute = -1 // the emulator runs without a quota here: fill it fast
	c, err := oss.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e, err := transfer.New(c, transfer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "OSSFS_ENDPOINT="+emu.endpoint, "APS_CLIENT_ID="+emuClientID, "APS_CLIENT_SECRET="+emuClientSecret)
	return &world{emu: emu, c: c, e: e, env: env}
}

func (w *world) put(t *testing.T, bucket, key string, data []byte) {
	t.Helper()
	if err := w.upload(bucket, key, data); err != nil {
		t.Fatal(err)
	}
}

func (w *world) upload(bucket, key string, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := w.e.UploadFrom(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), transfer.UploadOptions{}); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// stats reads the emulator's call counters.
func (w *world) stats(t *testing.T) map[string]int64 {
	t.Helper()
	resp, err := http.Get(w.emu.endpoint + "/emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct{ Calls map[string]int64 }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Calls
}

func (w *world) resetStats(t *testing.T) {
	t.Helper()
	resp, err := http.Post(w.emu.endpoint+"/emulator/stats/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func sha1Of(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// readTree is the tree the mount must show: relative path -> content (nil for
// directories).
func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			got[rel+"/"] = nil
			return nil
		}
		b, err := os.ReadFile(p)
		got[rel] = b
		return err
	})
	if err != nil {
		t.Fatalf("walking the mount: %v", err)
	}
	return got
}

func TestMountTreeReadsAndTools(t *testing.T) {
	const bucket = "mnt"
	w := newWorld(t, bucket)
	p := testbytes.Pattern{Seed: 7}
	objects := map[string][]byte{
		"top.txt":                []byte("top\n"),
		"empty":                  nil,
		"one-byte":               []byte("x"),
		"implicit/a/b/deep.txt":  []byte("deep\n"),
		"marked/":                nil,
		"marked/inside.txt":      []byte("inside\n"),
		"emptydir/":              nil,
		"sizes/5MiB-1":           p.Bytes(0, 5<<20-1),
		"sizes/5MiB":             p.Bytes(1, 5<<20),
		"sizes/5MiB+1":           p.Bytes(2, 5<<20+1),
		"odd/with space.txt":     []byte("space\n"),
		"odd/plus+percent%.txt":  []byte("plus\n"),
		"odd/hash#question?.txt": []byte("hash\n"),
		"odd/ünïcødé 日本.txt":     []byte("unicode\n"),
		"clash":                  []byte("hidden by the directory"),
		"clash/child":            []byte("child\n"),
		"bad//empty-component":   []byte("hidden"),
		"bad/../dotdot":          []byte("hidden"),
		strings.Repeat("n", 256): []byte("hidden: name too long"),
	}
	for k, v := range objects {
		w.put(t, bucket, k, v)
	}
	m := mount(t, w.env, bucket, "--metadata-ttl", "1s")

	want := map[string][]byte{
		"top.txt": objects["top.txt"], "empty": {}, "one-byte": objects["one-byte"],
		"implicit/": nil, "implicit/a/": nil, "implicit/a/b/": nil, "implicit/a/b/deep.txt": objects["implicit/a/b/deep.txt"],
		"marked/": nil, "marked/inside.txt": objects["marked/inside.txt"], "emptydir/": nil,
		"sizes/": nil, "sizes/5MiB-1": objects["sizes/5MiB-1"], "sizes/5MiB": objects["sizes/5MiB"], "sizes/5MiB+1": objects["sizes/5MiB+1"],
		"odd/": nil, "odd/with space.txt": objects["odd/with space.txt"], "odd/plus+percent%.txt": objects["odd/plus+percent%.txt"],
		"odd/hash#question?.txt": objects["odd/hash#question?.txt"], "odd/ünïcødé 日本.txt": objects["odd/ünïcødé 日本.txt"],
		"clash/": nil, "clash/child": objects["clash/child"],
	}
	got := readTree(t, m.dir)
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("missing from the mount: %q", k)
		}
	}
	for k, v := range got {
		wv, ok := want[k]
		if !ok {
			t.Errorf("unexpected in the mount: %q", k)
			continue
		}
		if !strings.HasSuffix(k, "/") && sha1Of(v) != sha1Of(wv) {
			t.Errorf("%s: sha1 %s, want %s", k, sha1Of(v), sha1Of(wv))
		}
	}

	// The tools users run.
	for _, tool := range [][]string{
		{"ls", "-lR", m.dir}, {"find", m.dir, "-type", "f"}, {"du", "-s", m.dir}, {"stat", m.path("top.txt")},
		{"cp", m.path("sizes/5MiB+1"), filepath.Join(t.TempDir(), "copy")},
		{"diff", m.path("top.txt"), m.path("top.txt")},
	} {
		if out, err := exec.Command(tool[0], tool[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%v: %v\n%s", tool, err, out)
		}
	}
	out, err := exec.Command("sha1sum", m.path("sizes/5MiB")).Output()
	if err != nil || !strings.HasPrefix(string(out), sha1Of(objects["sizes/5MiB"])) {
		t.Errorf("sha1sum through the mount: %q %v", out, err)
	}
	fi, err := os.Stat(m.path("sizes/5MiB+1"))
	if err != nil || fi.Size() != 5<<20+1 || fi.Mode().Perm() != 0o644 {
		t.Errorf("stat: %v %v", fi, err)
	}
	// A small directory shows APS's dates at once (readdir fetched them).
	if d := time.Since(fi.ModTime()); d < -time.Minute || d > time.Hour {
		t.Errorf("mtime %v is not the object's date", fi.ModTime())
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(m.dir, &st); err != nil || st.Bavail == 0 || st.Namelen != 255 {
		t.Errorf("statfs: %+v %v", st, err)
	}
	if _, err := os.Stat(m.path("no-such-file")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of a missing name: %v", err)
	}
}

func TestMountRandomAndConcurrentReads(t *testing.T) {
	const bucket = "rnd"
	w := newWorld(t, bucket)
	const size = 24<<20 + 12345
	pats := []testbytes.Pattern{{Seed: 1}, {Seed: 2}, {Seed: 3}}
	for i, p := range pats {
		w.put(t, bucket, fmt.Sprintf("f%d", i), p.Bytes(0, size))
	}
	m := mount(t, w.env, bucket)

	f, err := os.Open(m.path("f0"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewSource(1))
	for i := range 200 {
		off := rng.Int63n(size)
		n := []int{1, 4096, 65536, 300000, 2 << 20}[i%5]
		buf := make([]byte, n)
		got, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("pread %d@%d: %v", n, off, err)
		}
		if !bytes.Equal(buf[:got], pats[0].Bytes(off, int64(got))) || (got < n && off+int64(got) != size) {
			t.Fatalf("pread %d@%d: %d wrong bytes", n, off, got)
		}
	}

	// 8 concurrent readers: of one file, and of different files.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		name, p := "f1", pats[1]
		if i >= 8 {
			name, p = fmt.Sprintf("f%d", i%3), pats[i%3]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := os.ReadFile(m.path(name))
			if err != nil {
				errs <- err
				return
			}
			if sha1Of(b) != p.SHA1(size) {
				errs <- fmt.Errorf("reader %d of %s: wrong bytes", i, name)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMountSeesRemoteChangesAfterTTL(t *testing.T) {
	const bucket = "chg"
	w := newWorld(t, bucket)
	v1 := testbytes.Pattern{Seed: 1}.Bytes(0, 8<<20)
	v2 := testbytes.Pattern{Seed: 2}.Bytes(0, 8<<20)
	w.put(t, bucket, "f", v1)
	m := mount(t, w.env, bucket, "--metadata-ttl", "1s")

	f, err := os.Open(m.path("f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 4096)
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head, v1[:4096]) {
		t.Fatalf("first read: %v", err)
	}
	w.put(t, bucket, "f", v2) // replaced behind the mount's back

	// The open handle never mixes versions: every read is v1's bytes or an error.
	for off := int64(0); off < int64(len(v1)); off += 1 << 20 {
		buf := make([]byte, 1<<20)
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, syscall.ESTALE) && !errors.Is(err, io.EOF) {
			t.Fatalf("read of the open handle at %d: %v", off, err)
		}
		if err == nil && !bytes.Equal(buf[:n], v1[off:off+int64(n)]) {
			t.Fatalf("the open handle served other bytes than its version at %d", off)
		}
	}

	// A new open after the TTL reads v2 (polled: the TTL is time).
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(m.path("f"))
		if err == nil && sha1Of(b) == sha1Of(v2) {
			break
		}
		if err == nil && sha1Of(b) != sha1Of(v1) {
			t.Fatal("a new open read a mix of versions")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change never showed: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestMountLsOf5000ObjectsCallCount(t *testing.T) {
	const bucket = "many"
	w := newWorld(t, bucket)
	var g errgroup.Group
	g.SetLimit(16)
	for i := range 5000 {
		g.Go(func() error { return w.upload(bucket, fmt.Sprintf("dir/f%04d", i), []byte{byte(i)}) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	m := mount(t, w.env, bucket, "--date-calls-per-minute", "0")
	w.resetStats(t)
	out, err := exec.Command("ls", "-l", m.path("dir")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(out), "\n"); lines != 5001 { // "total" + 5000
		t.Fatalf("ls -l printed %d lines", lines)
	}
	calls := w.stats(t)
	// The lookup of "dir" probes (one list call); the listing is 50 pages.
	if calls["objects.list"] > 51 || calls["objects.details"] > 1 || calls["signeds3download"] != 0 {
		t.Fatalf("ls -l of 5,000 objects made %v", calls)
	}
	w.resetStats(t)
	if _, err := exec.Command("ls", "-l", m.path("dir")).Output(); err != nil {
		t.Fatal(err)
	}
	if calls := w.stats(t); calls["objects.list"]+calls["objects.details"] != 0 {
		t.Fatalf("a warm ls -l within the TTL made %v", calls)
	}
}

func TestMountUnmountWithActiveReader(t *testing.T) {
	const bucket = "umnt"
	w := newWorld(t, bucket)
	data := testbytes.Pattern{Seed: 5}.Bytes(0, 4<<20)
	w.put(t, bucket, "f", data)
	m := mount(t, w.env, bucket)
	f, err := os.Open(m.path("f"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	// The mount is detached at once; the open file keeps reading its bytes.
	got, err := io.ReadAll(io.NewSectionReader(f, 0, int64(len(data))))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reading after SIGTERM: %d bytes, %v", len(got), err)
	}
	f.Close()
	select {
	case err := <-m.done:
		if err != nil {
			t.Fatalf("mount exited with %v; stderr: %s", err, m.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the mount did not exit after its last file closed")
	}
	if mounted := slices.Contains(mountPoints(t), m.dir); mounted {
		t.Fatal("still mounted")
	}
}

func mountPoints(t *testing.T) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}

func TestMountEmulatorFromScratch(t *testing.T) {
	needFUSE(t)
	dir, data := t.TempDir(), t.TempDir()
	cmd := exec.Command(ossfsBin, "mount", "--emulator", "--emulator-data", data, "demo", dir)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.Contains(line, "oss://demo mounted at "+dir) {
		cmd.Process.Kill()
		t.Fatalf("ready line %q; stderr: %s", line, stderr.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("a new emulator bucket shows %v, %v", entries, err)
	}
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v %s", err, out)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after umount: %v; %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("ossfs mount did not exit after umount")
	}
}

func TestMountRefusesBadSetups(t *testing.T) {
	needFUSE(t)
	w := newWorld(t, "exists")
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	busy := mount(t, w.env, "exists")
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"mount", "nope", t.TempDir()}, w.env, "no bucket"},
		{[]string{"mount", "exists", filepath.Join(t.TempDir(), "missing")}, w.env, "does not exist"},
		{[]string{"mount", "exists", file}, w.env, "not a folder"},
		{[]string{"mount", "exists", busy.dir}, w.env, "busy"},
		{[]string{"mount", "exists", t.TempDir()}, append(slices.Clone(w.env), "APS_CLIENT_SECRET=wrong"), "bad credentials"},
	} {
		cmd := exec.Command(ossfsBin, tc.args...)
		cmd.Env = tc.env
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("ossfs %v: %v, %q; want a failure mentioning %q", tc.args, err, out, tc.want)
		}
	}
}

func TestMountSmallFilesUseBatchURLs(t *testing.T) {
	const bucket = "small"
	w := newWorld(t, bucket)
	const n = 200
	var g errgroup.Group
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			return w.upload(bucket, fmt.Sprintf("small/f%03d", i), testbytes.Pattern{Seed: uint64(i)}.Bytes(0, 32<<10))
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	m := mount(t, w.env, bucket, "--date-calls-per-minute", "0")
	w.resetStats(t)
	out, err := exec.Command("sh", "-c", "cat "+m.path("small")+"/* | sha1sum").Output()
	if err != nil {
		t.Fatal(err)
	}
	h := sha1.New()
	for i := range n {
		h.Write(testbytes.Pattern{Seed: uint64(i)}.Bytes(0, 32<<10))
	}
	if want := hex.EncodeToString(h.Sum(nil)); !strings.HasPrefix(string(out), want) {
		t.Fatalf("cat of %d files: sha1 %q, want %s", n, out, want)
	}
	calls := w.stats(t)
	urlCalls := calls["signeds3download"] + calls["batchsigneds3download"]
	if float64(urlCalls)/n > 0.1 {
		t.Fatalf("%d URL calls for %d files (%v): want at most 0.1 per file", urlCalls, n, calls)
	}
	t.Logf("cat of %d files: %v", n, calls)
}

func TestMountLargeFileAndDiskCacheAcrossRemounts(t *testing.T) {
	const bucket = "large"
	w := newWorld(t, bucket)
	const size = 300 << 20
	p := testbytes.Pattern{Seed: 300}
	w.put(t, bucket, "big.bin", p.Bytes(0, size))
	cacheDir := t.TempDir()
	want := p.SHA1(size)

	read := func() string {
		m := mount(t, w.env, bucket, "--cache-dir", cacheDir, "--cache-size", "64MiB")
		defer m.stop(t)
		out, err := exec.Command("sha1sum", m.path("big.bin")).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(out))[0]
	}
	if got := read(); got != want {
		t.Fatalf("300 MiB through the mount: sha1 %s, want %s", got, want)
	}
	// A new mount over the same --cache-dir: blocks come from disk, verified.
	w.resetStats(t)
	if got := read(); got != want {
		t.Fatalf("re-read after remount: sha1 %s, want %s", got, want)
	}
	calls := w.stats(t)
	if calls["s3.download"] > size/(64<<20) { // the disk tier may drop a few writes under load
		t.Fatalf("re-read after remount fetched %d ranges: the disk cache did not serve it (%v)", calls["s3.download"], calls)
	}
}
