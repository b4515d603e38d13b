package fs

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// stampLogName is the stamp log's file in the spill directory (spill leaves
// names that are not its own alone).
const stampLogName = "stamps.log"

// stampLog persists the stamps set through the mount on committed versions
// (touch, chmod, utimes after close), which no cheap APS call can store: an
// append-only file of JSON lines, one per change, compacted when opened. A
// line that cannot be read (a torn last write) is skipped.
type stampLog struct {
	path string

	mu sync.Mutex
	f  *os.File // guarded by mu; appended to
}

// stampRecord is one line: a version's stamp, or its removal.
type stampRecord struct {
	Version string `json:"v"`
	MTime   int64  `json:"m,omitempty"` // Unix nanoseconds
	Mode    uint32 `json:"p,omitempty"`
	Drop    bool   `json:"d,omitempty"`
}

// openStampLog reads the log in dir, rewrites it compacted, and opens it for
// appending.
func openStampLog(dir string) (*stampLog, map[string]stamp, error) {
	path := filepath.Join(dir, stampLogName)
	kept, err := readStamps(path)
	if err != nil {
		return nil, nil, err
	}
	tmp := path + ".tmp"
	if err := writeStamps(tmp, kept); err != nil {
		return nil, nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return &stampLog{path: path, f: f}, kept, nil
}

func readStamps(path string) (map[string]stamp, error) {
	kept := map[string]stamp{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return kept, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r stampRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Version == "" {
			continue
		}
		if r.Drop {
			delete(kept, r.Version)
			continue
		}
		s := stamp{mode: r.Mode}
		if r.MTime != 0 {
			s.mtime = time.Unix(0, r.MTime)
		}
		kept[r.Version] = s
	}
	return kept, sc.Err()
}

func writeStamps(path string, kept map[string]stamp) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for v, s := range kept {
		b, _ := json.Marshal(record(v, s))
		w.Write(append(b, '\n'))
	}
	return errors.Join(w.Flush(), f.Sync(), f.Close())
}

func record(version string, s stamp) stampRecord {
	r := stampRecord{Version: version, Mode: s.mode}
	if !s.mtime.IsZero() {
		r.MTime = s.mtime.UnixNano()
	}
	return r
}

// put records a version's stamp.
func (l *stampLog) put(version string, s stamp) error { return l.append(record(version, s)) }

// drop records that a version's stamp is no longer kept.
func (l *stampLog) drop(version string) error {
	return l.append(stampRecord{Version: version, Drop: true})
}

func (l *stampLog) append(r stampRecord) error {
	b, _ := json.Marshal(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("stamp log: %w", err)
	}
	return nil
}

func (l *stampLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
