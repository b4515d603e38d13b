package emulator

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// diskEnv runs an emulator on a DiskStore in dir with a fixed signing key,
// so that signed URLs survive a restart.
func diskEnv(t *testing.T, dir string) *env {
	t.Helper()
	st, err := NewDiskStore(dir)
	must(t, err)
	return newEnv(t, func(o *Options) {
		o.Store = st
		o.SigningKey = []byte("fixed key for the restart test")
	})
}

func TestDiskStoreSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e1 := diskEnv(t, dir)
	e1.createBucket("durable")
	e1.upload("durable", "done/file.txt", []byte("committed bytes"))
	must(t, e1.srv.PutObject("durable", "replaced", []byte("v1"), ""))
	must(t, e1.srv.PutObject("durable", "replaced", []byte("v2"), "text/plain"))
	ans := e1.startUpload("durable", "pending.bin", "parts=2")
	urls := ans["urls"].([]any)
	part1 := pattern(5*mib, 3)
	e1.putPart(urls[0].(string), pattern(100, 1)) // replaced by the next PUT
	etag1 := e1.putPart(urls[0].(string), part1)
	e1.http.Close()
	must(t, e1.srv.Close())

	e2 := diskEnv(t, dir)
	got := e2.get(e2.downloadURL("durable", "done/file.txt", ""), "").want(t, http.StatusOK)
	if string(got.body) != "committed bytes" {
		t.Errorf("after restart: %q", got.body)
	}
	got = e2.get(e2.downloadURL("durable", "replaced", ""), "").want(t, http.StatusOK)
	if string(got.body) != "v2" || got.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("replaced: %q %s", got.body, got.Header.Get("Content-Type"))
	}
	// The upload goes on: URLs signed before the restart still work, and the
	// part uploaded before it is there.
	etag2 := e2.putPart(strings.Replace(urls[1].(string), e1.http.URL, e2.http.URL, 1), []byte("tail"))
	e2.complete("durable", "pending.bin", map[string]any{"uploadKey": ans["uploadKey"], "eTags": []string{etag1, etag2}}, nil).
		want(t, http.StatusOK)
	got = e2.get(e2.downloadURL("durable", "pending.bin", ""), "").want(t, http.StatusOK)
	if !bytes.Equal(got.body, append(part1, "tail"...)) {
		t.Error("completed bytes differ")
	}
	checkLayout(t, dir)
}

// checkLayout asserts no object key became a file name and nothing is left
// over: one blob per object, no uploads, nothing staged.
func checkLayout(t *testing.T, dir string) {
	t.Helper()
	count := map[string]int{}
	must(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		must(t, err)
		for _, key := range []string{"file.txt", "pending", "replaced", "done"} {
			if strings.Contains(path, key) {
				t.Errorf("object key in path %s", path)
			}
		}
		rel, _ := filepath.Rel(dir, path)
		if !d.IsDir() {
			count[strings.Split(rel, string(filepath.Separator))[0]]++
		}
		return nil
	}))
	if count["objects"] != 3 || count["blobs"] != 3 || count["uploads"] != 0 || count["tmp"] != 0 || count["buckets"] != 1 {
		t.Errorf("files per dir: %v", count)
	}
}

func TestDiskStoreLockedAndDeleteBucket(t *testing.T) {
	dir := t.TempDir()
	st, err := NewDiskStore(dir)
	must(t, err)
	if _, err := NewDiskStore(dir); err == nil {
		t.Error("second store on a locked dir")
	}
	must(t, st.CreateBucket(Bucket{Key: "gone", Owner: ownerID}))
	_, err = st.PutObject(Object{BucketKey: "gone", ObjectKey: "k"}, strings.NewReader("x"))
	must(t, err)
	must(t, st.CreateUpload(Upload{ID: randomUUID(), BucketKey: "gone", ObjectKey: "u"}))
	must(t, st.DeleteBucket("gone"))
	must(t, st.Close())
	st, err = NewDiskStore(dir)
	must(t, err)
	defer st.Close()
	if _, err := st.Bucket("gone"); err == nil {
		t.Error("deleted bucket is back")
	}
	for _, sub := range []string{"objects", "blobs", "uploads"} {
		if files := countFiles(t, filepath.Join(dir, sub)); files != 0 {
			t.Errorf("%s holds %d files after the bucket was deleted", sub, files)
		}
	}
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	must(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	}))
	return n
}

func TestDiskStoreRejectsForeignFormat(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "VERSION"), []byte("something else\n"), 0o644))
	if _, err := NewDiskStore(dir); err == nil {
		t.Error("opened a dir of another format")
	}
}

func TestParsePartName(t *testing.T) {
	n, seq, etag, ok := parsePartName("00012-00000000000000ff-0123456789abcdef0123456789abcdef.part")
	if !ok || n != 12 || seq != 255 || etag != "0123456789abcdef0123456789abcdef" {
		t.Errorf("parsed %d %d %s %v", n, seq, etag, ok)
	}
	for _, bad := range []string{"upload.json", "1-2-3.part", "00001-zz-0123456789abcdef0123456789abcdef.part"} {
		if _, _, _, ok := parsePartName(bad); ok {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestStorePartRules(t *testing.T) {
	for name, st := range map[string]Store{"mem": NewMemStore(), "disk": mustDisk(t)} {
		t.Run(name, func(t *testing.T) {
			defer st.Close()
			must(t, st.CreateBucket(Bucket{Key: "bkt", Owner: ownerID}))
			id := randomUUID()
			must(t, st.CreateUpload(Upload{ID: id, BucketKey: "bkt", ObjectKey: "k"}))
			if _, err := st.PutPart(id, PartData{Number: 1, Size: 5, Body: strings.NewReader("abc")}); !errors.Is(err, ErrIncompleteBody) {
				t.Errorf("short body: %v", err)
			}
			old, err := st.PutPart(id, PartData{Number: 1, Size: 3, Body: strings.NewReader("abc")})
			must(t, err)
			_, err = st.PutPart(id, PartData{Number: 1, Size: 3, Body: strings.NewReader("xyz")})
			must(t, err)
			if _, err := st.CompleteUpload(id, Object{BucketKey: "bkt", ObjectKey: "k"}, []Part{old}); !errors.Is(err, ErrPartsChanged) {
				t.Errorf("stale part: %v", err)
			}
			u, err := st.Upload(id)
			must(t, err)
			o, err := st.CompleteUpload(id, Object{BucketKey: "bkt", ObjectKey: "k"}, []Part{u.Parts[1]})
			must(t, err)
			if o.Size != 3 || !strings.HasSuffix(o.ETag, "-1") {
				t.Errorf("completed %+v", o)
			}
			if _, err := st.Upload(id); !errors.Is(err, ErrUploadNotFound) {
				t.Errorf("upload after completion: %v", err)
			}
			if _, err := st.PutPart(id, PartData{Number: 2, Size: 1, Body: strings.NewReader("z")}); !errors.Is(err, ErrUploadNotFound) {
				t.Errorf("part after completion: %v", err)
			}
		})
	}
}
