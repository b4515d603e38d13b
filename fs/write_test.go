package fs

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ossfs/ossfs/oss"
)

func TestNamespaceEditsAfterWrites(t *testing.T) {
	l := newFakeLister("d/a", "d/b")
	ns := newTestNamespace(l, time.Now)
	ctx := context.Background()
	before, err := ns.list(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ns.putFile("d/new", oss.Object{Key: "d/new", Size: 3, SHA1: "x"})
	ns.removeFile("d/a")
	ns.putDir("d/sub/", oss.Object{Key: "d/sub/"})
	d, _ := ns.list(ctx, "d/")
	if got := d.names(); len(got) != 3 || got[0] != "b" || got[1] != "new" || got[2] != "sub" {
		t.Fatalf("d/ after edits: %v", got)
	}
	if e := d.entries["new"]; e.dir || e.obj.Size != 3 {
		t.Errorf("new file entry: %+v", e)
	}
	if e := d.entries["sub"]; !e.dir || !e.marker {
		t.Errorf("new directory entry: %+v", e)
	}
	if sub := ns.fresh("d/sub/"); sub == nil || len(sub.entries) != 0 {
		t.Errorf("a new directory has a fresh empty listing: %+v", sub)
	}
	// Listings are shared without locks: an edit makes a copy.
	if len(before.entries) != 1 || before.entries["d"] == nil {
		t.Errorf("an edit changed a listing in place: %v", before.names())
	}
	ns.removeDir("d/sub/")
	if ns.fresh("d/sub/") != nil || ns.fresh("d/").entries["sub"] != nil {
		t.Error("removeDir left the directory")
	}
	if l.calls["list"] != 1 {
		t.Errorf("edits made calls: %v", l.calls)
	}
}

func TestCheckNewName(t *testing.T) {
	for name, want := range map[string]syscall.Errno{
		"ok.txt": 0, "with space": 0, "+%#?": 0, "日本": 0,
		".": syscall.EINVAL, "..": syscall.EINVAL, "bad\xff": syscall.EINVAL, "nul\x00": syscall.EINVAL,
		string(make([]byte, 256)): syscall.ENAMETOOLONG,
	} {
		if got := checkNewName(name); got != want {
			t.Errorf("checkNewName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestStampLogKeepsStampsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	log, kept, err := openStampLog(dir)
	if err != nil || len(kept) != 0 {
		t.Fatalf("new log: %v %v", kept, err)
	}
	d := newDateStore()
	d.log, d.kept = log, kept
	a := oss.Object{Key: "a", SHA1: "1"}
	b := oss.Object{Key: "b", SHA1: "2"}
	mt := time.Unix(1577934245, 123456789)
	d.keep(a, stamp{mtime: mt, mode: 0o600})
	d.keep(b, stamp{mode: 0o640})
	d.keep(b, stamp{mode: 0o644})
	d.set(a, stamp{mtime: time.Unix(5, 0)}) // a new commit of the same bytes drops the kept stamp
	if s, _ := d.get(a); !s.mtime.Equal(time.Unix(5, 0)) {
		t.Errorf("after a commit a shows %v", s)
	}
	d.keep(a, stamp{mtime: mt, mode: 0o600})
	log.Close()
	// A torn last line is skipped.
	f, _ := os.OpenFile(filepath.Join(dir, stampLogName), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte(`{"v":"c\u0000`))
	f.Close()

	log2, kept2, err := openStampLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer log2.Close()
	if len(kept2) != 2 {
		t.Fatalf("reopened: %v", kept2)
	}
	if s := kept2[versionKey(a)]; !s.mtime.Equal(mt) || s.mode != 0o600 {
		t.Errorf("a reopened: %+v", s)
	}
	if s := kept2[versionKey(b)]; s.mode != 0o644 || !s.mtime.IsZero() {
		t.Errorf("b reopened: %+v", s)
	}
	// Kept stamps win over what details tell.
	d2 := newDateStore()
	d2.kept = kept2
	d2.learn(&oss.Object{Key: "a", SHA1: "1", LastModifiedDate: time.Unix(9, 0)})
	if s, _ := d2.get(a); !s.mtime.Equal(mt) {
		t.Errorf("a learned over a kept stamp: %v", s.mtime)
	}
}

func TestStampLogForgetsDeletedVersions(t *testing.T) {
	dir := t.TempDir()
	log, kept, err := openStampLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := newDateStore()
	d.log, d.kept = log, kept
	tmp := oss.Object{Key: ".tmp", SHA1: "1"}
	d.keep(tmp, stamp{mode: 0o600})
	d.forget(tmp)
	if _, ok := d.get(tmp); ok {
		t.Error("a forgotten version still has a stamp")
	}
	log.Close()
	_, kept2, err := openStampLog(dir)
	if err != nil || len(kept2) != 0 {
		t.Errorf("reopened after forget: %v %v", kept2, err)
	}
}
