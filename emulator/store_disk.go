package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// diskFormat is written to VERSION; a directory holding anything else is
// refused.
const diskFormat = "ossfs-emulator-store 1\n"

// NewDiskStore returns a durable Store in dir, creating it if needed. State
// written by an earlier process on the same dir (buckets, objects, open
// uploads and their parts) is loaded. Only one process may use a dir at a
// time (the dir is locked where the OS supports it).
//
// Layout, in which object keys never appear as file names:
//
//	VERSION, LOCK
//	buckets/<sha256(bucketKey)>.json
//	objects/<h[:2]>/<h>.json          h = sha256(bucketKey NUL objectKey)
//	blobs/<id[:2]>/<id>               immutable object bytes, random id
//	uploads/<uuid>/upload.json        one dir per multipart upload
//	uploads/<uuid>/<nnnnn>-<seq>-<md5>.part
//	tmp/                              staging; emptied at start
//
// Every file is written to tmp/, fsynced and renamed into place, and the
// directory is fsynced. Blobs are never modified: a replaced object gets a
// new blob and the old one is unlinked when no object uses it, so a reader
// holding it open keeps a consistent view.
func NewDiskStore(dir string) (Store, error) {
	d := &diskBackend{dir: dir}
	if err := d.open(); err != nil {
		return nil, err
	}
	s := newIndexStore(d)
	if err := d.load(s); err != nil {
		_ = d.close()
		return nil, err
	}
	return s, nil
}

// diskBackend keeps everything under dir.
type diskBackend struct {
	dir  string
	lock *os.File

	mu      sync.Mutex
	lastSeq int64 // guarded by mu
}

func (d *diskBackend) path(elem ...string) string {
	return filepath.Join(append([]string{d.dir}, elem...)...)
}

func hashName(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (d *diskBackend) bucketPath(bucketKey string) string {
	return d.path("buckets", hashName(bucketKey)+".json")
}

func (d *diskBackend) objectPath(bucketKey, objectKey string) string {
	h := hashName(bucketKey, objectKey)
	return d.path("objects", h[:2], h+".json")
}

func (d *diskBackend) blobPath(blobID string) string {
	return d.path("blobs", blobID[:2], blobID)
}

func (d *diskBackend) uploadDir(uploadID string) string {
	return d.path("uploads", uploadID)
}

// open creates the layout, locks the dir and checks its format.
func (d *diskBackend) open() error {
	for _, sub := range []string{"buckets", "objects", "blobs", "uploads", "tmp"} {
		if err := os.MkdirAll(d.path(sub), 0o755); err != nil {
			return err
		}
	}
	lock, err := lockDir(d.path("LOCK"))
	if err != nil {
		return fmt.Errorf("emulator: store %s: %w", d.dir, err)
	}
	d.lock = lock
	if err := d.checkFormat(); err != nil {
		_ = d.close()
		return err
	}
	return nil
}

func (d *diskBackend) checkFormat() error {
	data, err := os.ReadFile(d.path("VERSION"))
	if errors.Is(err, fs.ErrNotExist) {
		return d.writeFile(d.path("VERSION"), []byte(diskFormat))
	}
	if err != nil {
		return err
	}
	if string(data) != diskFormat {
		return fmt.Errorf("emulator: store %s: unknown format %q", d.dir, data)
	}
	return nil
}

func (d *diskBackend) close() error {
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	return err
}

// writeFile writes data to path atomically and durably.
func (d *diskBackend) writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(d.path("tmp"), "meta-*")
	if err != nil {
		return err
	}
	if err := finishTemp(f, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return err
	}
	return d.install(f.Name(), path)
}

// finishTemp writes into f, syncs and closes it; on error f is removed.
func finishTemp(f *os.File, write func(io.Writer) error) error {
	err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// install renames a finished temp file to path and syncs path's dir.
func (d *diskBackend) install(tmp, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeFile removes path (missing is fine) and syncs its dir.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func (d *diskBackend) saveJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return d.writeFile(path, data)
}

func (d *diskBackend) saveBucket(b Bucket) error { return d.saveJSON(d.bucketPath(b.Key), b) }
func (d *diskBackend) removeBucket(bucketKey string) error {
	return removeFile(d.bucketPath(bucketKey))
}
func (d *diskBackend) saveObject(o Object) error {
	return d.saveJSON(d.objectPath(o.BucketKey, o.ObjectKey), o)
}
func (d *diskBackend) removeObject(bucketKey, objectKey string) error {
	return removeFile(d.objectPath(bucketKey, objectKey))
}
func (d *diskBackend) saveUpload(u Upload) error {
	return d.saveJSON(filepath.Join(d.uploadDir(u.ID), "upload.json"), u)
}

// removeUpload moves the upload's dir out of uploads/ atomically, then
// deletes it.
func (d *diskBackend) removeUpload(uploadID string) error {
	trash := d.path("tmp", "upload-"+randomHex(8))
	if err := os.Rename(d.uploadDir(uploadID), trash); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := syncDir(d.path("uploads")); err != nil {
		return err
	}
	return os.RemoveAll(trash)
}

// stage copies r into a temp file, hashing it on the way.
func (d *diskBackend) stage(r io.Reader, want digests) (*staged, error) {
	f, err := os.CreateTemp(d.path("tmp"), "data-*")
	if err != nil {
		return nil, err
	}
	h, sums := hashers(want)
	var n int64
	err = finishTemp(f, func(w io.Writer) error {
		var err error
		n, err = io.CopyBuffer(io.MultiWriter(w, h), r, make([]byte, 1<<20))
		return err
	})
	if err != nil {
		return nil, err
	}
	st := &staged{size: n, path: f.Name()}
	sums(st)
	return st, nil
}

func (d *diskBackend) discard(st *staged) { _ = os.Remove(st.path) }

func (d *diskBackend) commitBlob(st *staged) (string, error) {
	id := randomHex(16)
	return id, d.install(st.path, d.blobPath(id))
}

func (d *diskBackend) openBlob(blobID string) (Blob, error) {
	f, err := os.Open(d.blobPath(blobID))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return fileBlob{File: f, size: fi.Size()}, nil
}

func (d *diskBackend) removeBlob(blobID string) { _ = os.Remove(d.blobPath(blobID)) }

// commitPart installs a staged part as <number>-<seq>-<md5>.part; the
// highest seq of a number wins when the dir is loaded again.
func (d *diskBackend) commitPart(uploadID string, number int, st *staged) (string, error) {
	ref := fmt.Sprintf("%05d-%016x-%x.part", number, d.nextSeq(), st.md5)
	return ref, d.install(st.path, filepath.Join(d.uploadDir(uploadID), ref))
}

// nextSeq returns increasing numbers, also across restarts (they start at
// the wall clock in nanoseconds).
func (d *diskBackend) nextSeq() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastSeq = max(d.lastSeq+1, time.Now().UnixNano())
	return d.lastSeq
}

func (d *diskBackend) openPart(uploadID, ref string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(d.uploadDir(uploadID), ref))
}

func (d *diskBackend) removePart(uploadID, ref string) {
	_ = os.Remove(filepath.Join(d.uploadDir(uploadID), ref))
}

// fileBlob is a Blob backed by an open file.
type fileBlob struct {
	*os.File
	size int64
}

func (b fileBlob) Size() int64 { return b.size }
