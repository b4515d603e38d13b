package main

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"
)

// Local trees the write workloads copy into a mount. A file's content is
// objectContent(set, i, size) (incompressible, distinct, computable), so the
// sha1 of each is known without reading it back.

// treeFile is one file of a tree: its slash-separated path below the root,
// its size and the sha1 of its content.
type treeFile struct {
	rel  string
	size int
	sha1 string
}

// localTree is a tree written under dir.
type localTree struct {
	dir   string
	files []treeFile
	dirs  []string // the folders below dir, dir itself excluded
	bytes int64
}

// treeTime is the mtime of every file and folder of a tree: the same in every
// run, so that a second rsync -a finds nothing to do.
var treeTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// flatFiles is n files of size bytes in one folder: f0000, f0001, ...
func flatFiles(n, size int) []treeFile {
	files := make([]treeFile, n)
	for i := range files {
		files[i] = treeFile{rel: fmt.Sprintf("f%04d", i), size: size}
	}
	return files
}

// rsyncTree is n files spread over the root, ten folders and one folder in
// each of these: mostly small (1 byte to 64 KiB), every hundredth (from the
// first) 1 to 10 MiB.
func rsyncTree(n int) []treeFile {
	dirs := []string{""}
	for d := range 10 {
		dirs = append(dirs, fmt.Sprintf("d%d", d), fmt.Sprintf("d%d/sub", d))
	}
	files := make([]treeFile, n)
	for i := range files {
		size := 1 + i*7919%(64<<10)
		if i%100 == 0 {
			size = (1+i/100%10)<<20 + i
		}
		files[i] = treeFile{rel: path.Join(dirs[i%len(dirs)], fmt.Sprintf("f%04d", i)), size: size}
	}
	return files
}

// writeTree writes files under dir (which must not exist) with the content
// of set, and sets every mtime to treeTime.
func writeTree(dir, set string, files []treeFile) (*localTree, error) {
	t := &localTree{dir: dir, files: slices.Clone(files)}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	for i := range t.files {
		f := &t.files[i]
		b := objectContent(set, i, f.size)
		sum := sha1.Sum(b)
		f.sha1 = hex.EncodeToString(sum[:])
		p := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		for d := path.Dir(f.rel); d != "." && !slices.Contains(t.dirs, d); d = path.Dir(d) {
			t.dirs = append(t.dirs, d)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		if err := os.Chtimes(p, treeTime, treeTime); err != nil {
			return nil, err
		}
		t.bytes += int64(f.size)
	}
	// Folders last, deepest first: creating an entry changes its folder's mtime.
	slices.SortFunc(t.dirs, func(a, b string) int { return len(b) - len(a) })
	for _, d := range append(slices.Clone(t.dirs), "") {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(d)), treeTime, treeTime); err != nil {
			return nil, err
		}
	}
	logf("%s: a tree of %d files in %d folders (%d bytes) written", set, len(t.files), len(t.dirs)+1, t.bytes)
	return t, nil
}
