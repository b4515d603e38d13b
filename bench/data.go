package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// dataFile is the local file every transfer workload moves: size
// pseudo-random (incompressible) bytes, written once per run.
type dataFile struct {
	path string
	size int64
	sha1 string
}

// writeData writes size bytes of a fixed-seed ChaCha8 stream to path,
// hashing them on the way.
func writeData(path string, size int64) (dataFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return dataFile{}, err
	}
	h := sha1.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	src := rand.NewChaCha8([32]byte{'o', 's', 's', 'f', 's', '-', 'b', 'e', 'n', 'c', 'h'})
	_, err = io.CopyN(w, src, size)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return dataFile{}, err
	}
	return dataFile{path: path, size: size, sha1: hex.EncodeToString(h.Sum(nil))}, nil
}

// splitParts copies d into files of partSize bytes (the last one shorter)
// under dir and returns their paths in part order.
func splitParts(d dataFile, dir string, partSize int64) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	src, err := os.Open(d.path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var paths []string
	for off := int64(0); off < d.size; off += partSize {
		p := filepath.Join(dir, fmt.Sprintf("part-%05d", len(paths)+1))
		if err := copyPart(p, io.NewSectionReader(src, off, min(partSize, d.size-off))); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// copyFile copies the file at src to dst.
func copyFile(dst, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return copyPart(dst, f)
}

func copyPart(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fileSHA1 is the hex sha1 of the file at path.
func fileSHA1(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
