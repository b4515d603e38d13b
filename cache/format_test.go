package cache

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestBlockFileRoundTripAndEveryByteChecked(t *testing.T) {
	d := &diskTier{dir: t.TempDir(), blockSize: testBlockSize}
	k := Key{Object: "bucket/dir/file.bin@sha1:abc", Block: 12}
	data := blockData(3, 300)
	size, err := d.write(k, data)
	if err != nil {
		t.Fatal(err)
	}
	buf, err := os.ReadFile(d.path(k))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(buf)) != size || size != blockFileSize(k, len(data)) {
		t.Fatalf("file is %d bytes, write said %d, want %d", len(buf), size, blockFileSize(k, len(data)))
	}
	got, err := decodeBlockFile(buf, testBlockSize, k)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("decode: %v", err)
	}
	for _, other := range []Key{{k.Object, 13}, {k.Object + "x", 12}, {"", 12}} {
		if _, err := decodeBlockFile(buf, testBlockSize, other); !errors.Is(err, errCorrupt) {
			t.Fatalf("decode as %v: err %v, want errCorrupt", other, err)
		}
	}
	if _, err := decodeBlockFile(buf, 2*testBlockSize, k); !errors.Is(err, errCorrupt) {
		t.Fatalf("decode with another block size: err %v", err)
	}
	for i := range buf {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(buf)
			bad[i] ^= bit
			if _, err := decodeBlockFile(bad, testBlockSize, k); err == nil {
				t.Fatalf("flipping bit %#x of byte %d went unnoticed", bit, i)
			}
		}
	}
	for n := range len(buf) {
		if _, err := decodeBlockFile(buf[:n], testBlockSize, k); err == nil {
			t.Fatalf("file truncated to %d bytes went unnoticed", n)
		}
	}
	if _, err := decodeBlockFile(append(bytes.Clone(buf), 0), testBlockSize, k); err == nil {
		t.Fatal("an extended file went unnoticed")
	}
}

func TestBlockFileNames(t *testing.T) {
	a := blockFileName(testBlockSize, Key{"a/../../etc/passwd", 0})
	if len(a) != 32 || a == blockFileName(testBlockSize, Key{"a/../../etc/passwd", 1}) ||
		a == blockFileName(2*testBlockSize, Key{"a/../../etc/passwd", 0}) {
		t.Fatalf("file names do not separate keys and block sizes: %q", a)
	}
	for _, r := range a {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			t.Fatalf("file name %q is not hex", a)
		}
	}
}
