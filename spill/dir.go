package spill

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

const (
	dataPrefix    = "spill-" // data files: dataPrefix + a random id; never derived from a key
	sidecarSuffix = ".json"  // a pending upload's sidecar: data file name + sidecarSuffix
	tmpPrefix     = ".tmp-"  // sidecars being written: tmpPrefix + sidecar name + "." + random
	lockName      = ".lock"
)

// Dir is a spill directory: private to its owner, used by one mount at a time
// (an advisory lock), holding the data files of Files and the sidecars of
// pending uploads.
type Dir struct {
	path string
	opts Options
	lock io.Closer

	mu   sync.Mutex
	live map[string]bool // guarded by mu: data file names in use by this process
}

// OpenDir prepares path as a spill directory: it creates it 0700 if missing,
// refuses one that other users can access or that another user owns, and
// locks it so that no other mount uses it at the same time.
func OpenDir(path string, opts Options) (*Dir, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	lock, err := lockDir(path)
	if err != nil {
		return nil, err
	}
	return &Dir{path: path, opts: opts.withDefaults(), lock: lock, live: map[string]bool{}}, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Close releases the directory's lock. Close every File first.
func (d *Dir) Close() error { return d.lock.Close() }

// createData creates a new, empty data file (0600) under a fresh random name,
// held as live.
func (d *Dir) createData() (*os.File, string, error) {
	for range 8 {
		name := dataPrefix + rand.Text()
		if !d.hold(name) {
			continue
		}
		f, err := os.OpenFile(d.file(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, name, nil
		}
		d.release(name)
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", fmt.Errorf("spill: %w", err)
		}
	}
	return nil, "", errors.New("spill: no free data file name")
}

// hold marks name live, so LoadPending leaves it alone; false if it already is.
func (d *Dir) hold(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live[name] {
		return false
	}
	d.live[name] = true
	return true
}

func (d *Dir) release(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.live, name)
}

func (d *Dir) isLive(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live[name]
}

func (d *Dir) file(name string) string { return filepath.Join(d.path, name) }

// remove deletes the named file; one that is already gone is not an error.
func (d *Dir) remove(name string) error {
	if err := os.Remove(d.file(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

// writeAtomic replaces the named file with b: a temporary file, synced and
// renamed into place, then the directory synced.
func (d *Dir) writeAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(d.path, tmpPrefix+name+".*")
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.file(name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("spill: %w", err)
	}
	return d.sync()
}

// sync makes the directory's entries durable.
func (d *Dir) sync() error {
	f, err := os.Open(d.path)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

func isDataName(name string) bool {
	id, ok := strings.CutPrefix(name, dataPrefix)
	return ok && id != "" && !strings.Contains(id, ".")
}

// tmpOwner returns the data file name a temporary file is written for.
func tmpOwner(name string) string {
	owner, _, _ := strings.Cut(strings.TrimPrefix(name, tmpPrefix), ".")
	return owner
}

func isSidecarName(name string) bool {
	data, ok := strings.CutSuffix(name, sidecarSuffix)
	return ok && isDataName(data)
}
