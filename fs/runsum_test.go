package fs

import (
	"crypto/sha1"
	"encoding/hex"
	"testing"
)

// sumFile is a spill file stand-in: bytes and a running sum kept together.
type sumFile struct {
	data []byte
	sum  *runningSum
}

func (f *sumFile) write(off int, s string) {
	f.sum.write(int64(off), []byte(s), func() (int, error) {
		if end := off + len(s); end > len(f.data) {
			f.data = append(f.data, make([]byte, end-len(f.data))...)
		}
		return copy(f.data[off:], s), nil
	})
}

func (f *sumFile) truncate(size int) {
	if size < len(f.data) {
		f.data = f.data[:size]
	} else {
		f.data = append(f.data, make([]byte, size-len(f.data))...)
	}
	f.sum.truncated(int64(size))
}

// hashOf is what the commit computes: the prefix, then the rest from the file.
func (f *sumFile) hashOf() (string, int64) {
	h, n := f.sum.prefix(int64(len(f.data)))
	if h == nil {
		h, n = sha1.New(), 0
	}
	h.Write(f.data[n:])
	return hex.EncodeToString(h.Sum(nil)), n
}

func TestRunningSum(t *testing.T) {
	for _, c := range []struct {
		name   string
		ops    func(f *sumFile)
		hashed int64 // bytes the running sum covers at the commit
	}{
		{"sequential", func(f *sumFile) { f.write(0, "hello "); f.write(6, "world") }, 11},
		{"overwrite below", func(f *sumFile) { f.write(0, "hello world"); f.write(2, "XY") }, 0},
		{"gap", func(f *sumFile) { f.write(0, "abc"); f.write(10, "z") }, 3},
		{"gap filled later", func(f *sumFile) { f.write(0, "abc"); f.write(10, "z"); f.write(3, "defg") }, 7},
		{"emptied", func(f *sumFile) { f.write(0, "old bytes"); f.truncate(0); f.write(0, "new") }, 3},
		{"cut below", func(f *sumFile) { f.write(0, "0123456789"); f.truncate(4); f.write(4, "x") }, 0},
		{"grown", func(f *sumFile) { f.write(0, "ab"); f.truncate(100) }, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &sumFile{sum: newRunningSum()}
			c.ops(f)
			got, n := f.hashOf()
			want := sha1.Sum(f.data)
			if got != hex.EncodeToString(want[:]) {
				t.Errorf("sha1 %s, want %x", got, want)
			}
			if n != c.hashed {
				t.Errorf("the running sum covered %d bytes, want %d", n, c.hashed)
			}
		})
	}
	// A prefix is a copy: writes after it do not change it.
	f := &sumFile{sum: newRunningSum()}
	f.write(0, "abc")
	h, _ := f.sum.prefix(3)
	f.write(3, "def")
	if got, want := hex.EncodeToString(h.Sum(nil)), sha1.Sum([]byte("abc")); got != hex.EncodeToString(want[:]) {
		t.Errorf("the prefix changed with a later write: %s", got)
	}
}
