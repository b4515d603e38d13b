package spill

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// sidecarFormat is the version of the sidecar's JSON.
const sidecarFormat = 1

// Meta is what a pending upload keeps besides its bytes.
type Meta struct {
	Key   string // the object key
	Attrs string // opaque to spill: the mount's mtime, mode and the like
	// Upload is the multipart session to resume (transfer.UploadState as
	// JSON), nil for none. It is kept only while it matches the bytes.
	Upload json.RawMessage
}

// pendingMeta is what a File that is a pending upload last wrote to its
// sidecar.
type pendingMeta struct {
	meta   Meta
	sealed bool // the sidecar describes the data as it is: size, session, uploaded parts
}

// sidecar is the JSON record next to a pending upload's data file.
type sidecar struct {
	Format   int             `json:"format"`
	Key      string          `json:"key"`
	Attrs    string          `json:"attrs,omitempty"`
	Data     string          `json:"data"` // the data file's name in the Dir
	Size     int64           `json:"size"`
	PartSize int64           `json:"partSize"`
	Sealed   bool            `json:"sealed"`             // false: the data changed after; trust its own size, no session
	Upload   json.RawMessage `json:"upload,omitempty"`   // when sealed
	Uploaded []int           `json:"uploaded,omitempty"` // when sealed: parts the session holds as they are now
}

// Persist makes the File a pending upload that survives a restart (see
// LoadPending): it syncs the data file and atomically writes a sidecar with
// meta, the size and the parts uploaded. Call it again when meta changes.
// It fails like PlanCommit when the File cannot be uploaded whole.
func (f *File) Persist(meta Meta) error {
	if meta.Key == "" {
		return fmt.Errorf("spill: a pending upload needs a key: %w", fs.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.committableLocked(); err != nil {
		return err
	}
	if err := f.data.Sync(); err != nil {
		return err
	}
	pm := &pendingMeta{meta: meta, sealed: true}
	if err := f.writeSidecarLocked(pm); err != nil {
		return err
	}
	f.pending = pm
	return nil
}

// unsealLocked runs before every change. A sealed sidecar is rewritten
// without its session, since the session no longer matches the bytes.
func (f *File) unsealLocked() error {
	if f.pending == nil || !f.pending.sealed {
		return nil
	}
	pm := &pendingMeta{meta: f.pending.meta}
	if err := f.writeSidecarLocked(pm); err != nil {
		return err
	}
	f.pending = pm
	return nil
}

func (f *File) writeSidecarLocked(pm *pendingMeta) error {
	sc := sidecar{
		Format: sidecarFormat, Key: pm.meta.Key, Attrs: pm.meta.Attrs,
		Data: f.name, Size: f.size, PartSize: f.partSize, Sealed: pm.sealed,
	}
	if pm.sealed && !f.staleSession {
		sc.Upload, sc.Uploaded = pm.meta.Upload, f.uploadedPartsLocked()
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return f.d.writeAtomic(f.name+sidecarSuffix, b)
}

// uploadedPartsLocked lists the parts the session holds at their current
// generation.
func (f *File) uploadedPartsLocked() []int {
	var numbers []int
	for idx, p := range f.parts {
		if p.uploaded != 0 && p.uploaded == p.gen {
			numbers = append(numbers, idx+1)
		}
	}
	return numbers
}

// PendingFile is a pending upload found by LoadPending.
type PendingFile struct {
	Key   string
	Attrs string
	Size  int64
	// Upload is the session to resume, nil to start a new one (none was
	// saved, or the bytes changed after it was).
	Upload json.RawMessage

	d        *Dir
	name     string
	partSize int64
	uploaded []int
	sealed   bool
}

// LoadPending finds the pending uploads in d, such as a previous mount left.
// Temporary files, data files without a sidecar (a mount's uncommitted
// files) and sidecars without data are removed, and so are a sidecar that
// cannot be read and its data (logged). Files in use by this process are left
// alone.
func (d *Dir) LoadPending() ([]*PendingFile, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	exists := map[string]bool{}
	for _, e := range entries {
		exists[e.Name()] = true
	}
	var found []*PendingFile
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			if !d.isLive(tmpOwner(name)) {
				d.cleanUp(name, "temporary file")
			}
		case isSidecarName(name):
			if pf := d.loadSidecar(name, exists); pf != nil {
				found = append(found, pf)
			}
		case isDataName(name):
			if !exists[name+sidecarSuffix] && !d.isLive(name) {
				d.cleanUp(name, "data file without sidecar")
			}
		}
	}
	return found, nil
}

// loadSidecar returns the pending upload of a sidecar, or nil when there is
// none (its data is in use, or it was cleaned up).
func (d *Dir) loadSidecar(name string, exists map[string]bool) *PendingFile {
	data := strings.TrimSuffix(name, sidecarSuffix)
	switch {
	case d.isLive(data):
		return nil
	case !exists[data]:
		d.cleanUp(name, "sidecar without data")
		return nil
	}
	pf, err := d.readPending(data)
	if err != nil {
		d.opts.Logger.Error("spill: dropping an unreadable pending upload", "op", "spill.load", "file", data, "err", err)
		d.cleanUp(name, "unreadable sidecar")
		d.cleanUp(data, "data of an unreadable sidecar")
		return nil
	}
	return pf
}

func (d *Dir) readPending(data string) (*PendingFile, error) {
	b, err := os.ReadFile(d.file(data + sidecarSuffix))
	if err != nil {
		return nil, err
	}
	var sc sidecar
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, err
	}
	if sc.Format != sidecarFormat || sc.Key == "" || sc.Data != data || sc.PartSize <= 0 || sc.Size < 0 {
		return nil, errors.New("sidecar fields are invalid")
	}
	fi, err := os.Stat(d.file(data))
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("the data file is not a regular file")
	}
	pf := &PendingFile{Key: sc.Key, Attrs: sc.Attrs, Size: fi.Size(), d: d, name: data, partSize: partSizeFor(fi.Size(), d.opts.PartSize)}
	if sc.Sealed && sc.Size == fi.Size() {
		pf.Upload, pf.uploaded, pf.partSize, pf.sealed = sc.Upload, sc.Uploaded, sc.PartSize, true
	}
	return pf, nil
}

func (d *Dir) cleanUp(name, what string) {
	err := d.remove(name)
	d.opts.Logger.Info("spill: removed "+what, "op", "spill.load", "file", name, "err", err)
}

// Open returns the pending upload as a dirty File with every byte local,
// still a pending upload, knowing which parts its saved session holds.
func (p *PendingFile) Open() (*File, error) {
	if !p.d.hold(p.name) {
		return nil, fmt.Errorf("spill: the pending upload of %q is already open", p.Key)
	}
	data, size, err := openData(p.d.file(p.name))
	if err != nil {
		p.d.release(p.name)
		return nil, err
	}
	sealed := p.sealed && size == p.Size
	partSize := partSizeFor(size, p.d.opts.PartSize)
	if sealed {
		partSize = p.partSize
	}
	f := p.d.newFile(data, p.name, size, partSize, nil)
	if sealed {
		f.markUploaded(p.uploaded)
	}
	f.dirty = true
	f.pending = &pendingMeta{meta: Meta{Key: p.Key, Attrs: p.Attrs, Upload: p.Upload}, sealed: sealed}
	return f, nil
}

// openData opens an existing data file for reading and writing.
func openData(path string) (*os.File, int64, error) {
	data, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, err
	}
	fi, err := data.Stat()
	if err != nil {
		data.Close()
		return nil, 0, err
	}
	return data, fi.Size(), nil
}

// markUploaded records, for a File nobody else uses yet, that the session
// holds these parts at their current generation.
func (f *File) markUploaded(numbers []int) {
	for _, n := range numbers {
		if n >= 1 && n <= len(f.parts) {
			p := &f.parts[n-1]
			p.handed, p.uploaded = p.gen, p.gen
		}
	}
}

// Discard deletes the pending upload (its object was replaced or removed
// since, say). It fails while the upload is open.
func (p *PendingFile) Discard() error {
	if !p.d.hold(p.name) {
		return fmt.Errorf("spill: the pending upload of %q is open", p.Key)
	}
	defer p.d.release(p.name)
	return errors.Join(p.d.remove(p.name+sidecarSuffix), p.d.remove(p.name))
}
