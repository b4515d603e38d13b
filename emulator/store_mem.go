package emulator

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// NewMemStore returns a Store that keeps everything in memory. It is meant
// for unit tests and small experiments: object bytes are held in memory.
func NewMemStore() Store {
	return newIndexStore(&memBackend{
		blobs: make(map[string][]byte),
		parts: make(map[string][]byte),
	})
}

// memBackend keeps bytes in maps; records need no persistence.
type memBackend struct {
	mu    sync.Mutex
	blobs map[string][]byte // guarded by mu
	parts map[string][]byte // uploadID/ref -> bytes; guarded by mu
	seq   int               // guarded by mu
}

func (*memBackend) saveBucket(Bucket) error           { return nil }
func (*memBackend) removeBucket(string) error         { return nil }
func (*memBackend) saveObject(Object) error           { return nil }
func (*memBackend) removeObject(string, string) error { return nil }
func (*memBackend) saveUpload(Upload) error           { return nil }
func (*memBackend) close() error                      { return nil }

func (m *memBackend) removeUpload(uploadID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := uploadID + "/"
	for k := range m.parts {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			delete(m.parts, k)
		}
	}
	return nil
}

func (m *memBackend) stage(r io.Reader, want digests) (*staged, error) {
	h, sums := hashers(want)
	data, err := io.ReadAll(io.TeeReader(r, h))
	if err != nil {
		return nil, err
	}
	st := &staged{size: int64(len(data)), data: data}
	sums(st)
	return st, nil
}

func (*memBackend) discard(*staged) {}

func (m *memBackend) commitBlob(st *staged) (string, error) {
	id := randomHex(16)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[id] = st.data
	return id, nil
}

func (m *memBackend) openBlob(blobID string) (Blob, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.blobs[blobID]
	if !ok {
		return nil, fmt.Errorf("emulator: blob %s missing", blobID)
	}
	return memBlob{bytes.NewReader(data)}, nil
}

func (m *memBackend) removeBlob(blobID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, blobID)
}

func (m *memBackend) commitPart(uploadID string, number int, st *staged) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	ref := fmt.Sprintf("%05d-%d", number, m.seq)
	m.parts[uploadID+"/"+ref] = st.data
	return ref, nil
}

func (m *memBackend) openPart(uploadID, ref string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.parts[uploadID+"/"+ref]
	if !ok {
		return nil, fmt.Errorf("emulator: part %s/%s missing", uploadID, ref)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (m *memBackend) removePart(uploadID, ref string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.parts, uploadID+"/"+ref)
}

// memBlob is an in-memory Blob.
type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }
