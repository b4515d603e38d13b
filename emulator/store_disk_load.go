package emulator

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// load fills s from the dir and removes debris: staging files, records of
// vanished buckets, unreferenced blobs and superseded parts.
func (d *diskBackend) load(s *indexStore) error {
	if err := os.RemoveAll(d.path("tmp")); err != nil {
		return err
	}
	if err := os.MkdirAll(d.path("tmp"), 0o755); err != nil {
		return err
	}
	steps := []func(*indexStore) error{d.loadBuckets, d.loadObjects, d.sweepBlobs, d.loadUploads}
	for _, step := range steps {
		if err := step(s); err != nil {
			return fmt.Errorf("emulator: load %s: %w", d.dir, err)
		}
	}
	return nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func (d *diskBackend) loadBuckets(s *indexStore) error {
	names, err := filepath.Glob(d.path("buckets", "*.json"))
	if err != nil {
		return err
	}
	for _, name := range names {
		var b Bucket
		if err := readJSON(name, &b); err != nil {
			return err
		}
		if d.bucketPath(b.Key) != name {
			return fmt.Errorf("bucket record %s does not match its key", name)
		}
		s.buckets[b.Key] = &bucketEntry{bucket: b, objects: make(map[string]Object)}
	}
	return nil
}

func (d *diskBackend) loadObjects(s *indexStore) error {
	names, err := filepath.Glob(d.path("objects", "*", "*.json"))
	if err != nil {
		return err
	}
	for _, name := range names {
		var o Object
		if err := readJSON(name, &o); err != nil {
			return err
		}
		e, ok := s.buckets[o.BucketKey]
		if !ok || !d.blobExists(o.BlobID) || d.objectPath(o.BucketKey, o.ObjectKey) != name {
			_ = os.Remove(name) // its bucket was deleted, or a crash left it behind
			continue
		}
		e.objects[o.ObjectKey] = o
		s.refs[o.BlobID]++
	}
	return nil
}

func (d *diskBackend) blobExists(blobID string) bool {
	if !isBlobID(blobID) {
		return false
	}
	_, err := os.Stat(d.blobPath(blobID))
	return err == nil
}

func isBlobID(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 32
}

// sweepBlobs removes blobs no object uses (a crash between writing a blob
// and its record, or between replacing a record and unlinking the old blob).
func (d *diskBackend) sweepBlobs(s *indexStore) error {
	names, err := filepath.Glob(d.path("blobs", "*", "*"))
	if err != nil {
		return err
	}
	for _, name := range names {
		if s.refs[filepath.Base(name)] == 0 {
			_ = os.Remove(name)
		}
	}
	return nil
}

func (d *diskBackend) loadUploads(s *indexStore) error {
	entries, err := os.ReadDir(d.path("uploads"))
	if err != nil {
		return err
	}
	for _, ent := range entries {
		dir := d.path("uploads", ent.Name())
		var u Upload
		err := readJSON(filepath.Join(dir, "upload.json"), &u)
		if _, ok := s.buckets[u.BucketKey]; err != nil || !ok || u.ID != ent.Name() || !isUUID(u.ID) {
			_ = os.RemoveAll(dir)
			continue
		}
		parts, err := d.loadParts(dir)
		if err != nil {
			return err
		}
		s.uploads[u.ID] = &uploadEntry{upload: u, parts: parts}
	}
	return nil
}

// loadParts reads an upload's part files, keeping the newest per number.
func (d *diskBackend) loadParts(dir string) (map[int]partEntry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	parts := make(map[int]partEntry)
	seqs := make(map[int]int64)
	for _, ent := range entries {
		number, seq, etag, ok := parsePartName(ent.Name())
		if !ok {
			continue
		}
		if old, seen := parts[number]; seen && seqs[number] > seq {
			_ = os.Remove(filepath.Join(dir, ent.Name()))
			continue
		} else if seen {
			_ = os.Remove(filepath.Join(dir, old.ref))
		}
		info, err := ent.Info()
		if err != nil {
			return nil, err
		}
		parts[number] = partEntry{part: Part{Number: number, Size: info.Size(), ETag: etag}, ref: ent.Name()}
		seqs[number] = seq
	}
	return parts, nil
}

// parsePartName parses "<number>-<seq>-<md5>.part".
func parsePartName(name string) (number int, seq int64, etag string, ok bool) {
	fields := strings.Split(strings.TrimSuffix(name, ".part"), "-")
	if len(fields) != 3 || !strings.HasSuffix(name, ".part") {
		return 0, 0, "", false
	}
	number, err1 := strconv.Atoi(fields[0])
	seq, err2 := strconv.ParseInt(fields[1], 16, 64)
	_, err3 := hex.DecodeString(fields[2])
	if err1 != nil || err2 != nil || err3 != nil || len(fields[2]) != 32 {
		return 0, 0, "", false
	}
	return number, seq, fields[2], true
}
