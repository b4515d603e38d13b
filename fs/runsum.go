package fs

import (
	"crypto/sha1"
	"encoding"
	"hash"
	"sync"
)

// runningSum is the sha1 of a file's first n bytes, kept as a writer writes
// them in order from the start, so that a commit after a large sequential
// write hashes only what it did not see (commonly nothing) instead of
// reading the whole spill file again. A write or truncate below n makes it
// invalid, and the commit hashes the file.
type runningSum struct {
	mu sync.Mutex
	h  hash.Hash // guarded by mu; nil: invalid
	n  int64     // guarded by mu; bytes hashed
}

// newRunningSum returns a sum of an empty file.
func newRunningSum() *runningSum { return &runningSum{h: sha1.New()} }

// write runs write, which puts data at off in the spill file, and hashes
// what landed when it continues the sum: one step, so that no other write
// can change those bytes in between.
func (s *runningSum) write(off int64, data []byte, write func() (int, error)) (int, error) {
	if s == nil {
		return write()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := write()
	s.wroteLocked(off, data[:n])
	return n, err
}

func (s *runningSum) wroteLocked(off int64, data []byte) {
	switch {
	case s.h == nil:
	case off == s.n:
		s.h.Write(data)
		s.n += int64(len(data))
	case off < s.n:
		s.h = nil // hashed bytes changed
	}
	// A write past n leaves a gap the commit reads from the file.
}

// truncated records a new size: emptying the file starts the sum afresh, a
// cut below n invalidates it.
func (s *runningSum) truncated(size int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case size == 0:
		s.h, s.n = sha1.New(), 0
	case size < s.n:
		s.h = nil
	}
}

// prefix returns a copy of the hash of the first n bytes and n, or nil when
// the sum is invalid or covers more than size bytes.
func (s *runningSum) prefix(size int64) (hash.Hash, int64) {
	if s == nil {
		return nil, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil || s.n > size {
		return nil, 0
	}
	state, err := s.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, 0
	}
	h := sha1.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, 0
	}
	return h, s.n
}
