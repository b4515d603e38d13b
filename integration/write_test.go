package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
)

// object returns what APS holds at key, or nil when it holds nothing.
func (w *world) object(t *testing.T, bucket, key string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var buf bytes.Buffer
	w.e.Forget(bucket, key) // the mount may have replaced it since
	if _, err := w.e.DownloadTo(ctx, bucket, key, &buf); err != nil {
		if errors.Is(err, oss.ErrNotFound) {
			return nil
		}
		t.Fatalf("download %q: %v", key, err)
	}
	return append([]byte{}, buf.Bytes()...)
}

// mustObject fails unless APS holds exactly want at key.
func (w *world) mustObject(t *testing.T, bucket, key string, want []byte) {
	t.Helper()
	got := w.object(t, bucket, key)
	if got == nil {
		t.Fatalf("no object %q in APS", key)
	}
	if sha1Of(got) != sha1Of(want) {
		t.Fatalf("object %q: %d bytes sha1 %s, want %d bytes sha1 %s", key, len(got), sha1Of(got), len(want), sha1Of(want))
	}
}

func (w *world) faults(t *testing.T, rules string) {
	t.Helper()
	method, body := http.MethodPost, strings.NewReader(rules)
	if rules == "" {
		method, body = http.MethodDelete, strings.NewReader("")
	}
	req, _ := http.NewRequest(method, w.emu.endpoint+"/emulator/faults", body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("faults: %s", resp.Status)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestWriteSmallFileCallsAndEmptyFile(t *testing.T) {
	const bucket = "wsmall"
	w := newWorld(t, bucket)
	m := mount(t, w.env, bucket)
	w.resetStats(t)
	if err := os.WriteFile(m.path("a.txt"), []byte("hello\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	calls := w.stats(t)
	// A new small file costs one URL request, one PUT, one completion and one
	// details call (the sha1 check), plus the lookup of the new name.
	for ep, want := range map[string]int64{"signeds3upload.get": 1, "s3.upload": 1, "signeds3upload.complete": 1} {
		if calls[ep] != want {
			t.Errorf("%s: %d calls, want %d (%v)", ep, calls[ep], want, calls)
		}
	}
	if calls["objects.details"] > 2 {
		t.Errorf("objects.details: %d calls, want at most 2 (%v)", calls["objects.details"], calls)
	}
	w.mustObject(t, bucket, "a.txt", []byte("hello\n"))

	f, err := os.Create(m.path("empty"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close of an empty new file: %v", err)
	}
	w.mustObject(t, bucket, "empty", nil)
	if got := w.object(t, bucket, "empty"); got == nil {
		t.Fatal("an empty new file is no object")
	}
	// Opening for writing and closing without a change uploads nothing.
	w.resetStats(t)
	f, err = os.OpenFile(m.path("a.txt"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if c := w.stats(t); c["signeds3upload.complete"] != 0 || c["s3.upload"] != 0 {
		t.Errorf("an unchanged handle uploaded: %v", c)
	}
	fi, err := os.Stat(m.path("a.txt"))
	if err != nil || fi.Size() != 6 || fi.Mode().Perm() != 0o640 {
		t.Errorf("stat after write: %v %v", fi, err)
	}
}

// TestWriteCopyTreeInAndOut copies a tree of 1,000 small files, odd names and
// a 300 MiB file into the mount with cp -r and back out: every sha1 is equal,
// the big file's parts go up once each while cp writes, and a small file costs
// 2 OSS calls.
func TestWriteCopyTreeInAndOut(t *testing.T) {
	const bucket = "wtree"
	w := newWorld(t, bucket)
	// The emulator runs without a quota: so may the mount (at APS's 1000
	// calls per minute, 2,000 calls take two minutes).
	m := mount(t, w.env, bucket, "--calls-per-minute", "-1")
	src := t.TempDir()
	want := map[string][]byte{}
	const small = 1000
	for i := range small {
		rel := filepath.Join(fmt.Sprintf("d%d", i%4), fmt.Sprintf("s%d", i%3), fmt.Sprintf("f%03d.txt", i))
		b := testbytes.Pattern{Seed: uint64(i)}.Bytes(0, int64(i*37%(32<<10)))
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(src, rel), b, 0o644)
		want[rel] = b
	}
	for _, name := range []string{"with space.txt", "plus+percent%.txt", "hash#question?.txt", "ünïcødé 日本.txt"} {
		b := []byte(name)
		os.WriteFile(filepath.Join(src, name), b, 0o644)
		want[name] = b
	}
	const bigSize = 300 << 20
	big := testbytes.Pattern{Seed: 301}
	f, _ := os.Create(filepath.Join(src, "big.bin"))
	io.Copy(f, big.Reader(bigSize))
	f.Close()

	w.resetStats(t)
	run(t, "cp", "-r", src+"/.", m.path("tree"))
	calls := w.stats(t)
	// The big file's 8 MiB parts go up in the background while cp writes, each
	// once; every other file, and each of the 17 directories' markers, is one
	// part.
	const dirs = 1 + 4 + 4*3
	bigParts := int64((bigSize + 8<<20 - 1) / (8 << 20))
	if files := int64(len(want)); calls["s3.upload"] != bigParts+files+dirs || calls["signeds3upload.complete"] != files+1+dirs {
		t.Errorf("cp -r of %d files, 300 MiB and %d directories: %v, want %d part puts and %d completions", files+1, dirs, calls, bigParts+files+dirs, files+1+dirs)
	}
	var ossCalls int64
	for ep, n := range calls {
		if !strings.HasPrefix(ep, "s3.") && ep != "token" {
			ossCalls += n
		}
	}
	// A small file costs a signeds3upload and a completion, no details call:
	// S3 checks its Content-MD5.
	if perFile := float64(ossCalls) / float64(len(want)+1+dirs); perFile > 2.05 {
		t.Errorf("cp -r: %.2f OSS calls per file or directory, want at most 2.05 (%v)", perFile, calls)
	}

	for rel, b := range want {
		w.mustObject(t, bucket, "tree/"+filepath.ToSlash(rel), b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := w.c.ObjectDetails(ctx, bucket, "tree/big.bin", oss.DetailsOptions{})
	if err != nil || o.Size != bigSize || o.SHA1 != big.SHA1(bigSize) {
		t.Fatalf("APS holds %+v (%v), want %d bytes sha1 %s", o, err, bigSize, big.SHA1(bigSize))
	}

	out := t.TempDir()
	run(t, "cp", "-r", m.path("tree")+"/.", out)
	got := readTree(t, out)
	for rel, b := range want {
		if sha1Of(got[rel]) != sha1Of(b) {
			t.Errorf("%s copied out: sha1 %s, want %s", rel, sha1Of(got[rel]), sha1Of(b))
		}
	}
	if sum, err := exec.Command("sha1sum", filepath.Join(out, "big.bin")).Output(); err != nil || strings.Fields(string(sum))[0] != big.SHA1(bigSize) {
		t.Fatalf("300 MiB copied out: %s %v, want sha1 %s", sum, err, big.SHA1(bigSize))
	}
}

func TestWriteAppendTruncateAndRandomWrites(t *testing.T) {
	const bucket = "wedit"
	w := newWorld(t, bucket)
	base := testbytes.Pattern{Seed: 9}.Bytes(0, 12<<20+5)
	w.put(t, bucket, "base.bin", base)
	m := mount(t, w.env, bucket)

	// echo >> appends to what is there.
	run(t, "sh", "-c", "echo one > "+m.path("log.txt")+" && echo two >> "+m.path("log.txt"))
	w.mustObject(t, bucket, "log.txt", []byte("one\ntwo\n"))

	// truncate -s up and down.
	run(t, "truncate", "-s", "20", m.path("log.txt"))
	w.mustObject(t, bucket, "log.txt", append([]byte("one\ntwo\n"), make([]byte, 12)...))
	run(t, "truncate", "-s", "3", m.path("log.txt"))
	w.mustObject(t, bucket, "log.txt", []byte("one"))

	// dd into the middle of an existing object: the untouched ranges come
	// from the remote object.
	want := bytes.Clone(base)
	copy(want[7<<20:], "PATCH")
	run(t, "sh", "-c", "printf PATCH | dd of="+m.path("base.bin")+fmt.Sprintf(" bs=1 seek=%d conv=notrunc status=none", 7<<20))
	w.mustObject(t, bucket, "base.bin", want)
	got, err := os.ReadFile(m.path("base.bin"))
	if err != nil || sha1Of(got) != sha1Of(want) {
		t.Fatalf("read back after dd: %d bytes, %v", len(got), err)
	}

	// Read while writing: a second handle sees the first one's bytes.
	wf, err := os.OpenFile(m.path("live.txt"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	wf.Write([]byte("written, not closed"))
	rb, err := os.ReadFile(m.path("live.txt"))
	if err != nil || string(rb) != "written, not closed" {
		t.Errorf("read while writing: %q %v", rb, err)
	}
	if err := wf.Close(); err != nil {
		t.Fatal(err)
	}
	w.mustObject(t, bucket, "live.txt", []byte("written, not closed"))
}

func TestWriteNamespaceOps(t *testing.T) {
	const bucket = "wns"
	w := newWorld(t, bucket)
	m := mount(t, w.env, bucket, "--rename-dir-limit", "3")
	if err := os.Mkdir(m.path("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.mustObject(t, bucket, "dir/", nil)
	os.WriteFile(m.path("dir/f"), []byte("f"), 0o644)
	if err := os.Remove(m.path("dir")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir of a full directory: %v, want ENOTEMPTY", err)
	}
	if err := os.Rename(m.path("dir/f"), m.path("g")); err != nil {
		t.Fatal(err)
	}
	w.mustObject(t, bucket, "g", []byte("f"))
	if w.object(t, bucket, "dir/f") != nil {
		t.Error("rename left the old object")
	}
	if err := os.Remove(m.path("dir")); err != nil {
		t.Errorf("rmdir of an empty directory: %v", err)
	}
	if w.object(t, bucket, "dir/") != nil {
		t.Error("rmdir left the marker")
	}
	if err := os.Remove(m.path("g")); err != nil {
		t.Fatal(err)
	}
	if w.object(t, bucket, "g") != nil {
		t.Error("unlink left the object")
	}
	if _, err := os.Stat(m.path("g")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat after unlink: %v", err)
	}
	// sed -i writes a temporary file and renames it over the original.
	os.WriteFile(m.path("s.txt"), []byte("one\ntwo\n"), 0o644)
	run(t, "sed", "-i", "s/one/ONE/", m.path("s.txt"))
	w.mustObject(t, bucket, "s.txt", []byte("ONE\ntwo\n"))
	if b, _ := os.ReadFile(m.path("s.txt")); string(b) != "ONE\ntwo\n" {
		t.Errorf("after sed -i the mount shows %q", b)
	}
	// vim saves by writing a new file after renaming the original away.
	needTool(t, "vim")
	run(t, "timeout", "60", "vim", "-Es", "-c", "set backup backupcopy=no", "-c", "%s/two/TWO/", "-c", "wq", m.path("s.txt"))
	w.mustObject(t, bucket, "s.txt", []byte("ONE\nTWO\n"))
	// cp -p keeps mode and mtime.
	src := filepath.Join(t.TempDir(), "p")
	os.WriteFile(src, []byte("p"), 0o604)
	old := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	os.Chtimes(src, old, old)
	run(t, "cp", "-p", src, m.path("p"))
	if fi, err := os.Stat(m.path("p")); err != nil || fi.Mode().Perm() != 0o604 || !fi.ModTime().Equal(old) {
		t.Errorf("cp -p: %v %v", fi, err)
	}
	// What cannot be stored fails loudly.
	for _, c := range []struct {
		what string
		err  error
		want syscall.Errno
	}{
		{"link", os.Link(m.path("s.txt"), m.path("hard")), syscall.EPERM},
		{"symlink", os.Symlink("s.txt", m.path("sym")), syscall.EPERM},
		{"mkfifo", syscall.Mkfifo(m.path("fifo"), 0o644), syscall.EPERM},
		{"setxattr", syscall.Setxattr(m.path("s.txt"), "user.x", []byte("1"), 0), syscall.ENOTSUP},
		{"chown", os.Chown(m.path("s.txt"), 12345, 12345), syscall.EPERM},
		{"long name", os.WriteFile(m.path(strings.Repeat("n", 256)), nil, 0o644), syscall.ENAMETOOLONG},
		{"rename of a missing name", os.Rename(m.path("tree"), m.path("tree2")), syscall.ENOENT},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.err, c.want)
		}
	}
	// A directory of up to --rename-dir-limit objects is renamed key by key.
	os.MkdirAll(m.path("d1/sub"), 0o755)
	os.WriteFile(m.path("d1/sub/x"), []byte("x"), 0o644)
	if err := os.Rename(m.path("d1"), m.path("d2")); err != nil {
		t.Fatalf("directory rename: %v", err)
	}
	w.mustObject(t, bucket, "d2/sub/x", []byte("x"))
	w.mustObject(t, bucket, "d2/", nil)
	if w.object(t, bucket, "d1/sub/x") != nil || w.object(t, bucket, "d1/") != nil {
		t.Error("directory rename left old keys")
	}
	if b, err := os.ReadFile(m.path("d2/sub/x")); err != nil || string(b) != "x" {
		t.Errorf("after directory rename: %q %v", b, err)
	}
	if _, err := os.Stat(m.path("d1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old directory after rename: %v", err)
	}
	// Beyond the limit: EXDEV, and mv copies.
	for i := range 4 {
		os.MkdirAll(m.path("big"), 0o755)
		os.WriteFile(m.path(fmt.Sprintf("big/f%d", i)), []byte{byte(i)}, 0o644)
	}
	if err := os.Rename(m.path("big"), m.path("big2")); !errors.Is(err, syscall.EXDEV) {
		t.Errorf("rename of a directory over the limit: %v, want EXDEV", err)
	}
	run(t, "mv", m.path("big"), m.path("big2"))
	w.mustObject(t, bucket, "big2/f3", []byte{3})
	if w.object(t, bucket, "big/f3") != nil {
		t.Error("mv of a directory left old keys")
	}
}

func TestWriteRsyncTwiceTransfersNothing(t *testing.T) {
	needTool(t, "rsync")
	const bucket = "wrsync"
	w := newWorld(t, bucket)
	spillDir := filepath.Join(t.TempDir(), "spill")
	src := t.TempDir()
	for i := range 12 {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, testbytes.Pattern{Seed: uint64(i)}.Bytes(0, int64(i*100)), 0o600+os.FileMode(i%2)*0o40)
		old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
		os.Chtimes(p, old, old)
	}
	m := mount(t, w.env, bucket, "--spill-dir", spillDir)
	run(t, "rsync", "-a", src+"/", m.path("r")+"/")
	transferred := func() []string {
		var files []string
		for _, l := range strings.Split(run(t, "rsync", "-a", "--itemize-changes", src+"/", m.path("r")+"/"), "\n") {
			if strings.HasPrefix(l, ">f") || strings.HasPrefix(l, "cf") || strings.HasPrefix(l, ".f") {
				files = append(files, l)
			}
		}
		return files
	}
	if got := transferred(); len(got) > 0 {
		t.Errorf("second rsync -a changed files: %q", got)
	}
	m.stop(t)
	m = mount(t, w.env, bucket, "--spill-dir", spillDir)
	if got := transferred(); len(got) > 0 {
		t.Errorf("rsync -a after a remount changed files: %q", got)
	}
}

func TestWriteReadOnlyRefusesChanges(t *testing.T) {
	const bucket = "wro"
	w := newWorld(t, bucket)
	w.put(t, bucket, "a", []byte("a"))
	m := mount(t, w.env, bucket, "--read-only")
	for _, c := range []struct {
		what string
		err  error
	}{
		{"create", os.WriteFile(m.path("new"), []byte("x"), 0o644)},
		{"open for writing", func() error { _, err := os.OpenFile(m.path("a"), os.O_WRONLY, 0); return err }()},
		{"mkdir", os.Mkdir(m.path("d"), 0o755)},
		{"unlink", os.Remove(m.path("a"))},
		{"rename", os.Rename(m.path("a"), m.path("b"))},
		{"truncate", os.Truncate(m.path("a"), 0)},
		{"chmod", os.Chmod(m.path("a"), 0o600)},
	} {
		if !errors.Is(c.err, syscall.EROFS) {
			t.Errorf("%s on --read-only: %v, want EROFS", c.what, c.err)
		}
	}
}

func TestWriteFailedCommitIsKeptAndRetried(t *testing.T) {
	const bucket = "wfail"
	w := newWorld(t, bucket)
	spillDir := filepath.Join(t.TempDir(), "spill")
	m := mount(t, w.env, bucket, "--spill-dir", spillDir)
	w.faults(t, `[{"endpoint":"signeds3upload.complete","every":1,"status":500}]`)
	data := testbytes.Pattern{Seed: 77}.Bytes(0, 20<<20) // 3 parts
	f, err := os.Create(m.path("kept.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	if err := f.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("close with failing completions: %v, want EIO", err)
	}
	if w.object(t, bucket, "kept.bin") != nil {
		t.Fatal("a failed commit left an object")
	}
	sidecars, _ := filepath.Glob(filepath.Join(spillDir, "*.json"))
	if len(sidecars) != 1 {
		t.Fatalf("pending uploads in the spill dir: %v", sidecars)
	}
	// The mount still shows the file, from its spill file.
	if b, err := os.ReadFile(m.path("kept.bin")); err != nil || sha1Of(b) != sha1Of(data) {
		t.Errorf("the pending file reads %d bytes, %v", len(b), err)
	}
	// The retry completes the same session: no part goes up again.
	w.faults(t, "")
	w.resetStats(t)
	waitObject(t, w, bucket, "kept.bin", data)
	if c := w.stats(t); c["s3.upload"] != 0 || c["signeds3upload.complete"] == 0 {
		t.Errorf("the retry of a failed completion: %v, want no part put again", c)
	}

	// A mount killed during an upload (close has not returned): the next
	// mount commits it.
	w.faults(t, `[{"endpoint":"signeds3upload.complete","every":1,"status":500,"delay":"5s"}]`)
	w.resetStats(t)
	data2 := testbytes.Pattern{Seed: 78}.Bytes(0, 17<<20)
	closed := make(chan error, 1)
	go func() { closed <- os.WriteFile(m.path("killed.bin"), data2, 0o644) }()
	deadline := time.Now().Add(time.Minute)
	for w.stats(t)["signeds3upload.complete"] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the completion never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.cmd.Process.Kill()
	<-m.done
	exec.Command("umount", "-l", m.dir).Run()
	if err := <-closed; err == nil {
		t.Fatal("close succeeded although the mount was killed during the completion")
	}
	w.faults(t, "")
	if w.object(t, bucket, "killed.bin") != nil {
		t.Fatal("the killed upload completed anyway")
	}
	// Every part was up when the mount died: the next mount resumes the
	// session the sidecar saved and only completes it.
	w.resetStats(t)
	mount(t, w.env, bucket, "--spill-dir", spillDir)
	waitObject(t, w, bucket, "killed.bin", data2)
	if c := w.stats(t); c["s3.upload"] != 0 || c["signeds3upload.complete"] == 0 {
		t.Errorf("the next mount's commit of a killed upload: %v, want no part put again", c)
	}
}

// waitObject polls APS, with a deadline, until it holds want at key.
func waitObject(t *testing.T, w *world, bucket, key string, want []byte) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := w.object(t, bucket, key)
		if got != nil && sha1Of(got) == sha1Of(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q was not committed in the background (holds %d bytes)", key, len(got))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestWriteSequentialPartsGoUpBeforeClose(t *testing.T) {
	const bucket = "wseq"
	w := newWorld(t, bucket)
	m := mount(t, w.env, bucket)
	p := testbytes.Pattern{Seed: 5}
	const size = 20<<20 + 3
	f, err := os.Create(m.path("seq.bin"))
	if err != nil {
		t.Fatal(err)
	}
	w.resetStats(t)
	if _, err := io.Copy(f, p.Reader(size)); err != nil {
		t.Fatal(err)
	}
	// Two whole 8 MiB parts are written: they go up before close.
	deadline := time.Now().Add(time.Minute)
	for w.stats(t)["s3.upload"] < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no part went up before close: %v", w.stats(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if c := w.stats(t); c["s3.upload"] != 3 || c["signeds3upload.complete"] != 1 {
		t.Errorf("calls: %v, want 3 parts put once each and one completion", c)
	}
	w.mustObject(t, bucket, "seq.bin", p.Bytes(0, size))
}

// A rename right after close races the kernel's asynchronous release of the
// handle; the renamed file must stay usable (regression: a released file
// came back under the new name, closed, and answered EIO).
func TestWriteRenameRightAfterClose(t *testing.T) {
	const bucket = "wrace"
	w := newWorld(t, bucket)
	m := mount(t, w.env, bucket)
	os.Mkdir(m.path("rc"), 0o755)
	var g errgroup.Group
	for i := range 8 {
		g.Go(func() error {
			from, to := m.path(fmt.Sprintf("rc/f%d", i)), m.path(fmt.Sprintf("rc/g%d", i))
			if err := os.WriteFile(from, testbytes.Pattern{Seed: uint64(i)}.Bytes(0, 4<<20), 0o644); err != nil {
				return err
			}
			f, err := os.OpenFile(from, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			f.Write([]byte("x"))
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.Rename(from, to); err != nil {
				return err
			}
			return os.WriteFile(to, []byte{byte(i)}, 0o644) // open O_TRUNC right after
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		w.mustObject(t, bucket, fmt.Sprintf("rc/g%d", i), []byte{byte(i)})
	}
	if err := os.Rename(m.path("rc"), m.path("rc2")); err != nil {
		t.Fatalf("directory rename after the files closed: %v", err)
	}
}

// TestWriteUnmountWaitsForPendingUploads: an unmount waits for the uploads
// still pending, saying which, until they commit; a second signal, or
// --no-wait-uploads, leaves them to the next mount.
func TestWriteUnmountWaitsForPendingUploads(t *testing.T) {
	const bucket = "wwait"
	w := newWorld(t, bucket)
	spillDir := filepath.Join(t.TempDir(), "spill")
	failing := `[{"endpoint":"signeds3upload.complete","every":1,"status":500}]`
	data := testbytes.Pattern{Seed: 90}.Bytes(0, 100<<10)
	pend := func(m *mountProc, name string) {
		t.Helper()
		w.faults(t, failing)
		if err := os.WriteFile(m.path(name), data, 0o644); !errors.Is(err, syscall.EIO) {
			t.Fatalf("write with failing completions: %v, want EIO", err)
		}
	}
	waitLog := func(m *mountProc, text string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(m.stderr.String(), text) {
			if time.Now().After(deadline) {
				t.Fatalf("the mount never logged %q; stderr: %s", text, m.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	exited := func(m *mountProc) {
		t.Helper()
		select {
		case err := <-m.done:
			if err != nil {
				t.Fatalf("mount exited with %v; stderr: %s", err, m.stderr)
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("the mount did not exit; stderr: %s", m.stderr)
		}
	}

	// Waits, says which, and exits once the upload commits.
	m := mount(t, w.env, bucket, "--spill-dir", spillDir)
	pend(m, "a.bin")
	m.cmd.Process.Signal(syscall.SIGTERM)
	waitLog(m, "waiting for pending uploads")
	if !strings.Contains(m.stderr.String(), "a.bin") {
		t.Errorf("the wait does not name the file; stderr: %s", m.stderr)
	}
	select {
	case err := <-m.done:
		t.Fatalf("the mount exited (%v) with an upload pending", err)
	default:
	}
	w.faults(t, "")
	exited(m)
	w.mustObject(t, bucket, "a.bin", data)

	// A second signal stops the wait; the next mount commits it.
	m = mount(t, w.env, bucket, "--spill-dir", spillDir)
	pend(m, "b.bin")
	m.cmd.Process.Signal(syscall.SIGTERM)
	waitLog(m, "waiting for pending uploads")
	m.cmd.Process.Signal(syscall.SIGINT)
	exited(m)
	if w.object(t, bucket, "b.bin") != nil {
		t.Fatal("b.bin was committed with completions failing")
	}

	// --no-wait-uploads exits at once, naming what it leaves.
	m = mount(t, w.env, bucket, "--spill-dir", spillDir, "--no-wait-uploads")
	pend(m, "c.bin")
	m.cmd.Process.Signal(syscall.SIGTERM)
	exited(m)
	if !strings.Contains(m.stderr.String(), "pending uploads left for the next mount") {
		t.Errorf("--no-wait-uploads did not say what it left; stderr: %s", m.stderr)
	}
	w.faults(t, "")
	mount(t, w.env, bucket, "--spill-dir", spillDir)
	waitObject(t, w, bucket, "b.bin", data)
	waitObject(t, w, bucket, "c.bin", data)
}

// TestWriteAsyncCommitBatches: with --async-commit, close returns once the
// file is synced to the spill dir, small files are committed through the batch
// endpoints (well under one OSS call per file), the mount shows them at once,
// fsync still waits for APS, and unmount waits until everything is committed.
func TestWriteAsyncCommitBatches(t *testing.T) {
	const bucket = "wasync"
	w := newWorld(t, bucket)
	src := t.TempDir()
	want := map[string][]byte{}
	for i := range 300 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%03d", i))
		b := testbytes.Pattern{Seed: uint64(500 + i)}.Bytes(0, int64(i*97%(32<<10)))
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(src, rel), b, 0o644)
		want[rel] = b
	}
	big := testbytes.Pattern{Seed: 599}.Bytes(0, 9<<20)
	os.WriteFile(filepath.Join(src, "big.bin"), big, 0o644)
	want["big.bin"] = big
	m := mount(t, w.env, bucket, "--async-commit", "--calls-per-minute", "-1")
	w.resetStats(t)
	run(t, "cp", "-r", src+"/.", m.path("t"))
	// This host sees every file at once, from its spill file or from APS.
	for rel, b := range want {
		got, err := os.ReadFile(m.path("t/" + rel))
		if err != nil || sha1Of(got) != sha1Of(b) {
			t.Fatalf("%s right after cp: %d bytes, %v", rel, len(got), err)
		}
	}
	// fsync returns once its file is committed.
	f, err := os.Create(m.path("synced.txt"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("synced")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	w.mustObject(t, bucket, "synced.txt", []byte("synced"))
	f.Close()
	// rsync writes a temporary file, sets its mode and mtime after close and
	// renames it: the commit in the background must neither lose the rename
	// nor the stamp, so that a second rsync changes nothing.
	needTool(t, "rsync")
	for round := range 2 {
		var changed []string
		for _, l := range strings.Split(run(t, "rsync", "-a", "--itemize-changes", src+"/", m.path("r")+"/"), "\n") {
			if strings.HasPrefix(l, ">f") || strings.HasPrefix(l, ".f") {
				changed = append(changed, l)
			}
		}
		if round == 1 && len(changed) > 0 {
			t.Errorf("a second rsync -a changed: %q", changed)
		}
	}
	// Unmount waits for every pending upload.
	m.stop(t)
	calls := w.stats(t)
	for rel, b := range want {
		w.mustObject(t, bucket, "t/"+filepath.ToSlash(rel), b)
		w.mustObject(t, bucket, "r/"+filepath.ToSlash(rel), b)
	}
	files := int64(2 * len(want))
	batched := calls["batchsigneds3upload"] + calls["batchcompleteupload"]
	if calls["s3.upload"] < files-2+2 || batched == 0 {
		t.Fatalf("calls: %v, want the small files' parts put through batch calls", calls)
	}
	// Single-object calls: the big files (1 URL request, 1 completion, 1
	// details each), the 8 directory markers (2 each), synced.txt (2), the
	// files whose batch item had to go alone, and the renames of temporary
	// files committed before rsync renamed them (copyto and delete).
	single := calls["signeds3upload.get"] + calls["signeds3upload.complete"] + calls["objects.copyto"] + calls["objects.delete"]
	perFile := float64(batched+single+calls["objects.details"]) / float64(files)
	t.Logf("--async-commit cp -r and rsync -a of %d files: %.3f OSS calls per file (%v)", files, perFile, calls)
	if perFile > 0.5 {
		t.Errorf("--async-commit: %.2f OSS calls per file, want at most 0.5 (%v)", perFile, calls)
	}
}

// TestWriteAsyncCommitUnstageable: under --async-commit, a file whose
// original cannot be fetched at close is committed as without the flag: close
// reports the failure, the file stays pending and commits once it can.
func TestWriteAsyncCommitUnstageable(t *testing.T) {
	const bucket = "wasyncfail"
	w := newWorld(t, bucket)
	base := testbytes.Pattern{Seed: 71}.Bytes(0, 3<<20)
	w.put(t, bucket, "base.bin", base)
	m := mount(t, w.env, bucket, "--async-commit")
	f, err := os.OpenFile(m.path("base.bin"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("PATCH"), 1000); err != nil {
		t.Fatal(err)
	}
	w.faults(t, `[{"endpoint":"s3.download","every":1,"status":500}]`)
	if err := f.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("close with the original unreachable: %v, want EIO", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if o, err := w.c.ObjectDetails(ctx, bucket, "base.bin", oss.DetailsOptions{}); err != nil || o.SHA1 != sha1Of(base) {
		t.Fatalf("APS holds %+v (%v), want the original", o, err)
	}
	w.faults(t, "")
	want := bytes.Clone(base)
	copy(want[1000:], "PATCH")
	waitObject(t, w, bucket, "base.bin", want)
}
