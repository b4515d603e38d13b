package spill

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// reopen plays a restart: the Dir is closed without closing its Files, as a
// crash would leave it, and opened again with no state but the directory.
func reopen(t *testing.T, d *Dir) *Dir {
	t.Helper()
	d.Close()
	d2, err := OpenDir(d.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d2.opts.PartSize, d2.opts.FillChunk = d.opts.PartSize, d.opts.FillChunk
	t.Cleanup(func() { d2.Close() })
	return d2
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s has mode %#o, want %#o", path, got, want)
	}
}

// TestPendingRoundTrip: a persisted File survives a restart with its key,
// attributes, session and uploaded parts; orphans are cleaned; after the
// commit nothing is left.
func TestPendingRoundTrip(t *testing.T) {
	const ps = modelPartSize
	d := testDir(t, ps, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	content := pattern(30, 0, 4*ps+44)
	mustWrite(t, f, content, 0)
	ready := f.ReadyParts(f.Size())
	f.PartUploaded(ready[0].Number, ready[0].Gen)
	f.PartUploaded(ready[1].Number, ready[1].Gen)
	f.PartFailed(ready[2].Number, ready[2].Gen) // part 4 stays in flight
	upload := json.RawMessage(`{"uploadKey":"k1","parts":[{"number":1},{"number":2}]}`)
	meta := Meta{Key: "dir/a b.txt", Attrs: `{"mtime":1}`, Upload: upload}
	if err := f.Persist(meta); err != nil {
		t.Fatal(err)
	}
	checkMode(t, d.file(f.name), 0o600)
	checkMode(t, d.file(f.name+sidecarSuffix), 0o600)

	orphans := map[string]string{
		"spill-ORPHANDATA":       "uncommitted bytes of a crashed mount",
		"spill-NODATA.json":      `{"format":1,"key":"gone","data":"spill-NODATA","partSize":64}`,
		"spill-BROKEN":           "data of a broken sidecar",
		"spill-BROKEN.json":      `{"format":1,"key":`,
		".tmp-spill-X.json.1234": "half a sidecar",
		"notes.txt":              "not ours: left alone",
	}
	for name, body := range orphans {
		if err := os.WriteFile(filepath.Join(d.Path(), name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The old File is never closed: the process "crashed".
	d2 := reopen(t, d)
	pending, err := d2.LoadPending()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".lock", "notes.txt", f.name, f.name + sidecarSuffix}; !slices.Equal(dirNames(t, d2.Path()), want) {
		t.Fatalf("after LoadPending the directory holds %v, want %v", dirNames(t, d2.Path()), want)
	}
	if len(pending) != 1 {
		t.Fatalf("%d pending uploads, want 1", len(pending))
	}
	p := pending[0]
	if p.Key != meta.Key || p.Attrs != meta.Attrs || p.Size != int64(len(content)) || !bytes.Equal(p.Upload, upload) {
		t.Fatalf("pending %+v, want key %q attrs %q size %d upload %s", p, meta.Key, meta.Attrs, len(content), upload)
	}
	g, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Open(); err == nil {
		t.Fatal("a pending upload opened twice")
	}
	if !g.AllLocal() || !g.Dirty() {
		t.Fatalf("reopened: AllLocal %v, Dirty %v; want both", g.AllLocal(), g.Dirty())
	}
	checkContent(t, g, content)
	plan, err := g.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if got := partNumbers(plan.Parts); plan.NewSession || !slices.Equal(got, []int{3, 4, 5}) {
		t.Fatalf("plan %v (new session %v), want [3 4 5] in the saved session", got, plan.NewSession)
	}
	for _, part := range plan.Parts {
		g.PartUploaded(part.Number, part.Gen)
	}
	if err := g.Committed(plan); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if want := []string{".lock", "notes.txt"}; !slices.Equal(dirNames(t, d2.Path()), want) {
		t.Fatalf("after the commit the directory holds %v, want %v", dirNames(t, d2.Path()), want)
	}
}

// TestPendingChangedAfterPersist: a change after Persist unseals the sidecar:
// after a restart the session is not trusted.
func TestPendingChangedAfterPersist(t *testing.T) {
	const ps = modelPartSize
	d := testDir(t, ps, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, pattern(31, 0, 3*ps), 0)
	for _, p := range f.ReadyParts(f.Size()) {
		f.PartUploaded(p.Number, p.Gen)
	}
	if err := f.Persist(Meta{Key: "k", Upload: json.RawMessage(`{"uploadKey":"k1"}`)}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, []byte("more"), ps+1) // rewrites uploaded part 2; same size
	d2 := reopen(t, d)
	pending, err := d2.LoadPending()
	if err != nil || len(pending) != 1 {
		t.Fatalf("LoadPending: %d, %v", len(pending), err)
	}
	if p := pending[0]; p.Upload != nil || p.Size != 3*ps {
		t.Fatalf("pending: upload %s, size %d; want no session, %d bytes", p.Upload, p.Size, 3*ps)
	}
	g, err := pending[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	plan, err := g.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if got := partNumbers(plan.Parts); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("plan %v, want every part", got)
	}
}

// TestCloseKeepsPending: Close keeps a pending upload's files and deletes
// other data files; Remove and Discard delete everything.
func TestCloseKeepsPending(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	plain, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	kept, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	removed, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*File{plain, kept, removed} {
		mustWrite(t, f, []byte("bytes"), 0)
	}
	for _, f := range []*File{kept, removed} {
		if err := f.Persist(Meta{Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := plain.Close(); err != nil {
		t.Fatal(err)
	}
	if err := kept.Close(); err != nil {
		t.Fatal(err)
	}
	if err := removed.Remove(); err != nil {
		t.Fatal(err)
	}
	if want := []string{".lock", kept.name, kept.name + sidecarSuffix}; !slices.Equal(dirNames(t, d.Path()), want) {
		t.Fatalf("directory holds %v, want %v", dirNames(t, d.Path()), want)
	}
	pending, err := d.LoadPending()
	if err != nil || len(pending) != 1 {
		t.Fatalf("LoadPending: %d, %v", len(pending), err)
	}
	if err := pending[0].Discard(); err != nil {
		t.Fatal(err)
	}
	if want := []string{".lock"}; !slices.Equal(dirNames(t, d.Path()), want) {
		t.Fatalf("directory holds %v, want %v", dirNames(t, d.Path()), want)
	}
}

// TestLoadPendingLeavesLiveFiles: files in use by this process are not
// orphans.
func TestLoadPendingLeavesLiveFiles(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustWrite(t, f, []byte("live"), 0)
	pending, err := d.LoadPending()
	if err != nil || len(pending) != 0 {
		t.Fatalf("LoadPending: %d, %v", len(pending), err)
	}
	if err := f.Persist(Meta{Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if pending, err := d.LoadPending(); err != nil || len(pending) != 0 {
		t.Fatalf("LoadPending of a live pending upload: %d, %v", len(pending), err)
	}
	checkContent(t, f, []byte("live"))
	if want := []string{".lock", f.name, f.name + sidecarSuffix}; !slices.Equal(dirNames(t, d.Path()), want) {
		t.Fatalf("directory holds %v, want %v", dirNames(t, d.Path()), want)
	}
}

// TestPendingStaleSession: a File whose session was cut by a truncate is
// persisted without it.
func TestPendingStaleSession(t *testing.T) {
	const ps = modelPartSize
	d := testDir(t, ps, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, pattern(32, 0, 3*ps), 0)
	for _, p := range f.ReadyParts(f.Size()) {
		f.PartUploaded(p.Number, p.Gen)
	}
	if err := f.Truncate(ps); err != nil {
		t.Fatal(err)
	}
	if err := f.Persist(Meta{Key: "k", Upload: json.RawMessage(`{"uploadKey":"k1"}`)}); err != nil {
		t.Fatal(err)
	}
	pending, err := reopen(t, d).LoadPending()
	if err != nil || len(pending) != 1 {
		t.Fatalf("LoadPending: %d, %v", len(pending), err)
	}
	if p := pending[0]; p.Upload != nil || p.Size != ps {
		t.Fatalf("pending: upload %s, size %d; want no session, %d bytes", p.Upload, p.Size, ps)
	}
}

// TestPendingDataChangedBehindSidecar: a sealed sidecar whose data file has
// another size (changed by a crash between write and unseal, or by hand) is
// not trusted.
func TestPendingDataChangedBehindSidecar(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, pattern(33, 0, 100), 0)
	if err := f.Persist(Meta{Key: "k", Upload: json.RawMessage(`{"uploadKey":"k1"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(d.file(f.name), 50); err != nil {
		t.Fatal(err)
	}
	pending, err := reopen(t, d).LoadPending()
	if err != nil || len(pending) != 1 {
		t.Fatalf("LoadPending: %d, %v", len(pending), err)
	}
	if p := pending[0]; p.Upload != nil || p.Size != 50 {
		t.Fatalf("pending: upload %s, size %d; want no session, 50 bytes", p.Upload, p.Size)
	}
}
