package cache

import (
	"container/list"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// diskTier is the optional on-disk tier: one verified file per block under
// dir/xx/, an in-memory index of them, and a byte budget kept by evicting the
// least recently used. It does no locking of Cache state; the Cache decides
// what to write and when (see Cache.writeBlock) and holds Cache.mu around
// insert and detach so that they are ordered with Invalidate.
type diskTier struct {
	dir       string
	blockSize int64
	maxBytes  int64
	log       *slog.Logger
	lock      io.Closer // the flock on dir, released by close

	failed    atomic.Bool // set by fail: the tier is then a no-op
	failOnce  sync.Once
	evictions atomic.Int64

	mu      sync.Mutex
	objects map[string]map[int64]*diskFile // guarded by mu: the index, by Key
	lru     list.List                      // guarded by mu: *diskFile, most recently used first
	bytes   int64                          // guarded by mu: sum of the indexed files' sizes
}

// diskFile is one indexed block file.
type diskFile struct {
	key  Key
	size int64         // bytes on disk, header included
	elem *list.Element // in diskTier.lru
}

// openDisk prepares o.Dir (creating it; its 256 fan-out directories xx/ are
// made on first write), locks it, and indexes the block files already there. Files that are not
// whole, valid block files of this block size, including temporary files left
// by a crash, are removed.
func openDisk(o Options) (*diskTier, error) {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	d := &diskTier{
		dir:       o.Dir,
		blockSize: o.BlockSize,
		maxBytes:  o.DirMaxBytes,
		log:       o.Logger,
		lock:      lock,
		objects:   make(map[string]map[int64]*diskFile),
	}
	if err := d.load(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("cache: loading %s: %w", o.Dir, err)
	}
	return d, nil
}

// load scans the fan-out directories into the index. Recency across runs is
// the files' modification time (the time they were written).
func (d *diskTier) load() error {
	type found struct {
		f     *diskFile
		mtime time.Time
	}
	var all []found
	removed := 0
	for i := range 256 {
		sub := filepath.Join(d.dir, fmt.Sprintf("%02x", i))
		entries, err := os.ReadDir(sub)
		if errors.Is(err, fs.ErrNotExist) {
			continue // fan-out directories are made on first use
		}
		if err != nil {
			return err
		}
		for _, de := range entries {
			path := filepath.Join(sub, de.Name())
			k, size, mtime, err := d.readHeader(path)
			if err != nil || blockFileName(d.blockSize, k) != de.Name() {
				os.Remove(path)
				removed++
				continue
			}
			all = append(all, found{&diskFile{key: k, size: size}, mtime})
		}
	}
	slices.SortFunc(all, func(a, b found) int { return a.mtime.Compare(b.mtime) })
	d.mu.Lock()
	for _, x := range all {
		d.addLocked(x.f) // oldest first, so the newest ends up most recent
	}
	evicted := d.evictLocked(nil)
	bytes := d.bytes
	d.mu.Unlock()
	removeFiles(evicted)
	d.log.Debug("cache: disk tier loaded", "op", "cache.open", "dir", d.dir,
		"files", len(all)-len(evicted), "bytes", bytes, "removed", removed, "evicted", len(evicted))
	return nil
}

// readHeader reads the Key of a block file and checks that its size agrees
// with its header. The data is verified only when it is read (get).
func (d *diskTier) readHeader(path string) (Key, int64, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return Key{}, 0, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Key{}, 0, time.Time{}, err
	}
	if !st.Mode().IsRegular() {
		return Key{}, 0, time.Time{}, fmt.Errorf("%w: not a regular file", errCorrupt)
	}
	var fixed [headerFixed]byte
	if _, err := io.ReadFull(f, fixed[:]); err != nil {
		return Key{}, 0, time.Time{}, err
	}
	h, err := parseFixed(fixed[:], d.blockSize)
	if err != nil {
		return Key{}, 0, time.Time{}, err
	}
	object := make([]byte, h.objectLen)
	if _, err := io.ReadFull(f, object); err != nil {
		return Key{}, 0, time.Time{}, err
	}
	k := Key{Object: string(object), Block: h.block}
	if st.Size() != blockFileSize(k, int(h.dataLen)) {
		return Key{}, 0, time.Time{}, fmt.Errorf("%w: truncated or extended", errCorrupt)
	}
	return k, st.Size(), st.ModTime(), nil
}

// path is where the file of k lives.
func (d *diskTier) path(k Key) string {
	name := blockFileName(d.blockSize, k)
	return filepath.Join(d.dir, name[:2], name)
}

// fits reports whether a block of dataLen bytes of k may be stored at all.
func (d *diskTier) fits(k Key, dataLen int) bool {
	return len(k.Object) <= maxObjectLen && blockFileSize(k, dataLen) <= d.maxBytes
}

func (d *diskTier) has(k Key) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lookupLocked(k) != nil
}

func (d *diskTier) lookupLocked(k Key) *diskFile {
	return d.objects[k.Object][k.Block]
}

// get reads and verifies the file of k. A file that fails verification is
// removed and reported as a miss; so is one that vanished (evicted or
// invalidated since the index was read).
func (d *diskTier) get(k Key) ([]byte, bool) {
	d.mu.Lock()
	f := d.lookupLocked(k)
	if f != nil {
		d.lru.MoveToFront(f.elem)
	}
	d.mu.Unlock()
	if f == nil {
		return nil, false
	}
	path := d.path(k)
	buf, err := os.ReadFile(path)
	if err == nil {
		var data []byte
		if data, err = decodeBlockFile(buf, d.blockSize, k); err == nil {
			return data, true
		}
	}
	d.forget(f)
	if !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("cache: removed bad block file", "op", "cache.get",
			"object", k.Object, "block", k.Block, "err", err)
		os.Remove(path)
	}
	return nil, false
}

// write stores data as the file of k, atomically: a temporary file in the
// same directory, renamed into place when whole. It does not touch the index.
func (d *diskTier) write(k Key, data []byte) (int64, error) {
	name := blockFileName(d.blockSize, k)
	dir := filepath.Join(d.dir, name[:2])
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.Mkdir(dir, 0o700); err == nil || errors.Is(err, fs.ErrExist) {
			tmp, err = os.CreateTemp(dir, ".tmp-*")
		}
	}
	if err != nil {
		return 0, err
	}
	header := encodeHeader(d.blockSize, k, len(data))
	crc := crc32.Update(crc32.Update(0, castagnoli, header), castagnoli, data)
	var trailer [trailerLen]byte
	binary.LittleEndian.PutUint32(trailer[:], crc)
	for _, b := range [][]byte{header, data, trailer[:]} {
		if err == nil {
			_, err = tmp.Write(b)
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, err
	}
	return blockFileSize(k, len(data)), nil
}

// insert indexes a file just written for k as the most recently used and
// returns the paths of the files evicted to stay within budget, which the
// caller removes after releasing its locks.
func (d *diskTier) insert(k Key, size int64) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := &diskFile{key: k, size: size}
	d.addLocked(f)
	return d.evictLocked(f)
}

// detach drops every file of object from the index and returns their paths
// for the caller to remove.
func (d *diskTier) detach(object string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var paths []string
	for _, f := range d.objects[object] {
		d.removeLocked(f)
		paths = append(paths, d.path(f.key))
	}
	return paths
}

// forget drops f from the index if it is still there.
func (d *diskTier) forget(f *diskFile) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lookupLocked(f.key) == f {
		d.removeLocked(f)
	}
}

func (d *diskTier) addLocked(f *diskFile) {
	if old := d.lookupLocked(f.key); old != nil {
		d.removeLocked(old)
	}
	blocks := d.objects[f.key.Object]
	if blocks == nil {
		blocks = make(map[int64]*diskFile)
		d.objects[f.key.Object] = blocks
	}
	blocks[f.key.Block] = f
	f.elem = d.lru.PushFront(f)
	d.bytes += f.size
}

func (d *diskTier) removeLocked(f *diskFile) {
	blocks := d.objects[f.key.Object]
	delete(blocks, f.key.Block)
	if len(blocks) == 0 {
		delete(d.objects, f.key.Object)
	}
	d.lru.Remove(f.elem)
	d.bytes -= f.size
}

// evictLocked drops least recently used files, never keep, until the tier is
// within budget, and returns their paths.
func (d *diskTier) evictLocked(keep *diskFile) []string {
	var paths []string
	for d.bytes > d.maxBytes {
		e := d.lru.Back()
		if e == nil || e.Value.(*diskFile) == keep {
			break
		}
		f := e.Value.(*diskFile)
		d.removeLocked(f)
		paths = append(paths, d.path(f.key))
		d.evictions.Add(1)
	}
	return paths
}

func (d *diskTier) usage() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.bytes
}

// fail turns the tier into a no-op after a write failed (disk full, read-only,
// directory gone). It logs once.
func (d *diskTier) fail(op string, err error) {
	d.failOnce.Do(func() {
		d.log.Error("cache: disk tier disabled", "op", op, "dir", d.dir, "err", err)
	})
	d.failed.Store(true)
}

func (d *diskTier) close() error { return d.lock.Close() }

// removeFiles removes files that have already left the index. A file that is
// already gone is fine.
func removeFiles(paths []string) {
	for _, p := range paths {
		os.Remove(p)
	}
}
