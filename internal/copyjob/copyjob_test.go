package copyjob

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

const bucket = "copyjob-test"

type env struct {
	cp  *Copier
	c   *oss.Client
	emu *emulator.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	eo := emulator.DefaultOptions()
	eo.Apps = []emulator.App{{ClientID: "id", ClientSecret: "secret"}}
	eo.Quota = -1
	srv, err := emulator.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	if err := srv.CreateBucket(bucket, "persistent", "US", "id"); err != nil {
		t.Fatal(err)
	}
	co := oss.DefaultOptions()
	co.Endpoint, co.ClientID, co.ClientSecret = ts.URL, "id", "secret"
	co.Retry.BaseDelay, co.Retry.MaxDelay = time.Millisecond, 10*time.Millisecond
	c, err := oss.New(co)
	if err != nil {
		t.Fatal(err)
	}
	e, err := transfer.New(c, transfer.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := New(c, e, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return &env{cp: cp, c: c, emu: srv}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func loc(t *testing.T, s string) Location {
	t.Helper()
	l, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (v *env) copy(t *testing.T, src, dst string, recursive bool) Summary {
	t.Helper()
	jobs, err := v.cp.Plan(ctx(t), loc(t, src), loc(t, dst), recursive)
	if err != nil {
		t.Fatalf("plan %s -> %s: %v", src, dst, err)
	}
	return v.cp.Run(ctx(t), jobs, nil)
}

// writeTree makes a local tree and returns its files' contents by relative path.
func writeTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		"top.txt":              []byte("top"),
		"empty":                nil,
		"a/b/c/deep.bin":       testbytes.Pattern{Seed: 1}.Bytes(0, 6<<20),
		"with space/plus+.txt": []byte("odd names"),
		"ünï/日本.txt":           []byte("unicode"),
	}
	for i := range 20 {
		files[fmt.Sprintf("many/f%02d", i)] = []byte(fmt.Sprintf("file %d", i))
	}
	for rel, b := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestTreeRoundTripAndSkip(t *testing.T) {
	v := newEnv(t)
	src := t.TempDir()
	files := writeTree(t, src)
	sum := v.copy(t, src, "oss://"+bucket+"/tree", true)
	if sum.Failed != 0 || sum.Copied != len(files) {
		t.Fatalf("upload: %+v", sum)
	}
	for rel, b := range files {
		d, err := v.c.ObjectDetails(ctx(t), bucket, "tree/"+filepath.ToSlash(rel), oss.DetailsOptions{})
		if err != nil || d.SHA1 != sha1Hex(b) {
			t.Fatalf("object tree/%s: %+v %v", rel, d, err)
		}
	}

	dst := filepath.Join(t.TempDir(), "out")
	sum = v.copy(t, "oss://"+bucket+"/tree", dst, true)
	if sum.Failed != 0 || sum.Copied != len(files) {
		t.Fatalf("download: %+v", sum)
	}
	for rel, b := range files {
		got, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("downloaded %s differs (%v)", rel, err)
		}
	}

	// A second run finds everything in place: one listing, no upload.
	v.c.ResetCalls()
	sum = v.copy(t, src, "oss://"+bucket+"/tree", true)
	if sum.Skipped != len(files) || sum.Copied != 0 {
		t.Fatalf("second upload: %+v", sum)
	}
	if calls := v.c.Calls(); calls[oss.OpObjectsList] != 1 || len(calls) != 1 {
		t.Fatalf("second upload made calls %v, want one listing", calls)
	}
	sum = v.copy(t, "oss://"+bucket+"/tree", dst, true)
	if sum.Skipped != len(files) {
		t.Fatalf("second download: %+v", sum)
	}
	if n := v.c.Calls()[oss.OpS3Download]; n != 0 {
		t.Fatalf("second download fetched %d ranges", n)
	}
}

func TestSingleFileDestinations(t *testing.T) {
	v := newEnv(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "one.txt")
	os.WriteFile(f, []byte("one"), 0o644)
	for dst, key := range map[string]string{
		"oss://" + bucket + "/":          "one.txt",
		"oss://" + bucket + "/dir/":      "dir/one.txt",
		"oss://" + bucket + "/named.bin": "named.bin",
	} {
		if sum := v.copy(t, f, dst, false); sum.Copied != 1 {
			t.Fatalf("cp %s: %+v", dst, sum)
		}
		if _, err := v.c.ObjectDetails(ctx(t), bucket, key, oss.DetailsOptions{}); err != nil {
			t.Fatalf("cp to %s did not create %s: %v", dst, key, err)
		}
	}

	into := t.TempDir()
	if sum := v.copy(t, "oss://"+bucket+"/dir/one.txt", into, false); sum.Copied != 1 {
		t.Fatalf("cp into a folder: %+v", sum)
	}
	if b, _ := os.ReadFile(filepath.Join(into, "one.txt")); string(b) != "one" {
		t.Fatalf("file in folder holds %q", b)
	}
	missing := filepath.Join(into, "no", "such", "folder", "x")
	sum := v.copy(t, "oss://"+bucket+"/dir/one.txt", missing, false)
	if sum.Failed != 1 {
		t.Fatalf("cp into a missing folder: %+v", sum)
	}
	if _, err := os.Stat(filepath.Join(into, "no")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("cp into a missing folder created folders")
	}
}

func TestKeysThatCannotBeFileNames(t *testing.T) {
	v := newEnv(t)
	for _, k := range []string{"p/ok.txt", "p/../escape", "p/a//b", "p/./dot"} {
		if err := v.emu.PutObject(bucket, k, []byte(k), ""); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	dst := filepath.Join(root, "out")
	sum := v.copy(t, "oss://"+bucket+"/p", dst, true)
	if sum.Copied != 1 || sum.Failed != 3 {
		t.Fatalf("copy of odd keys: %+v", sum)
	}
	for _, r := range sum.Results {
		if r.Err != nil && !errors.Is(r.Err, ErrUnrepresentable) {
			t.Fatalf("%s: %v, want ErrUnrepresentable", r.Job.Src, r.Err)
		}
	}
	var names []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		names = append(names, rel)
		return nil
	})
	if want := []string{".", "out", "out/ok.txt"}; !slices.Equal(names, want) {
		t.Fatalf("files written: %v, want %v", names, want)
	}
}

func TestFailedDownloadLeavesNothing(t *testing.T) {
	v := newEnv(t)
	v.emu.PutObject(bucket, "k", []byte("content"), "")
	v.emu.SetFaults([]emulator.FaultRule{{Endpoint: emulator.EndpointS3Download, Every: 1, Status: 500}})
	dir := t.TempDir()
	sum := v.copy(t, "oss://"+bucket+"/k", filepath.Join(dir, "k"), false)
	if sum.Failed != 1 {
		t.Fatalf("copy under failing downloads: %+v", sum)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("a failed download left %v", entries)
	}
}

func TestMissingSources(t *testing.T) {
	v := newEnv(t)
	_, err := v.cp.Plan(ctx(t), loc(t, filepath.Join(t.TempDir(), "nope")), loc(t, "oss://"+bucket+"/x"), false)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing local source: %v", err)
	}
	_, err = v.cp.Plan(ctx(t), loc(t, "oss://"+bucket+"/nope"), loc(t, t.TempDir()), false)
	if !errors.Is(err, oss.ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	_, err = v.cp.Plan(ctx(t), loc(t, t.TempDir()), loc(t, "oss://"+bucket+"/x"), false)
	if err == nil {
		t.Fatal("a folder without -r was planned")
	}
}

func TestRemoteToRemote(t *testing.T) {
	v := newEnv(t)
	v.emu.PutObject(bucket, "src", []byte("payload"), "")
	if err := v.emu.CreateBucket("copyjob-other", "persistent", "US", "id"); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"oss://" + bucket + "/dst", "oss://copyjob-other/dst"} {
		if sum := v.copy(t, "oss://"+bucket+"/src", dst, false); sum.Copied != 1 {
			t.Fatalf("copy to %s: %+v", dst, sum)
		}
		l := loc(t, dst)
		d, err := v.c.ObjectDetails(ctx(t), l.Bucket, l.Key, oss.DetailsOptions{})
		if err != nil || d.SHA1 != sha1Hex([]byte("payload")) {
			t.Fatalf("%s: %+v %v", dst, d, err)
		}
	}
	if n := v.c.Calls()[oss.OpObjectsCopyTo]; n != 1 {
		t.Fatalf("copyto calls = %d, want 1 (same bucket only)", n)
	}
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}
