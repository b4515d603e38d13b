package testbytes

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"io"
)

// Pattern is an endless, seekable stream of pseudo-random bytes determined by Seed.
type Pattern struct{ Seed uint64 }

// word returns the 8 bytes at offset 8*i.
func (p Pattern) word(i uint64) uint64 {
	// splitmix64 over the word index, mixed with the seed.
	z := i*0x9e3779b97f4a7c15 + p.Seed*0xbf58476d1ce4e5b9 + 0x632be59bd9b4e019
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// ReadAt fills b with the bytes at offset off. It never fails.
func (p Pattern) ReadAt(b []byte, off int64) (int, error) {
	var buf [8]byte
	pos := uint64(off)
	for n := 0; n < len(b); {
		binary.LittleEndian.PutUint64(buf[:], p.word(pos/8))
		c := copy(b[n:], buf[pos%8:])
		n += c
		pos += uint64(c)
	}
	return len(b), nil
}

// Bytes returns n bytes starting at off.
func (p Pattern) Bytes(off, n int64) []byte {
	b := make([]byte, n)
	p.ReadAt(b, off)
	return b
}

// Reader returns the first size bytes as a reader.
func (p Pattern) Reader(size int64) io.Reader {
	return io.NewSectionReader(p, 0, size)
}

// SHA1 returns the hex sha1 of the first size bytes.
func (p Pattern) SHA1(size int64) string {
	h := sha1.New()
	if _, err := io.Copy(h, p.Reader(size)); err != nil {
		panic(err) // Pattern never fails to read
	}
	return hex.EncodeToString(h.Sum(nil))
}
