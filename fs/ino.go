package fs

import "sync"

// inoTable hands out inode numbers that stay the same for a path for the life of
// the mount (root is 1).
type inoTable struct {
	mu   sync.Mutex
	next uint64            // guarded by mu
	m    map[string]uint64 // guarded by mu; by "d:"+prefix or "f:"+key
}

func newInoTable() *inoTable { return &inoTable{next: 2, m: map[string]uint64{}} }

func (t *inoTable) get(id string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ino, ok := t.m[id]
	if !ok {
		ino = t.next
		t.next++
		t.m[id] = ino
	}
	return ino
}

func dirID(prefix string) string { return "d:" + prefix }
func fileID(key string) string   { return "f:" + key }

// move gives the path to the inode number of from, which it no longer names.
func (t *inoTable) move(from, to string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ino, ok := t.m[from]; ok {
		t.m[to] = ino
		delete(t.m, from)
	}
}
