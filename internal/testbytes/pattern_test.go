package testbytes

import (
	"bytes"
	"testing"
)

func TestPatternRangesAgree(t *testing.T) {
	p := Pattern{Seed: 7}
	whole := p.Bytes(0, 1000)
	for _, r := range [][2]int64{{0, 1}, {3, 17}, {8, 8}, {999, 1}, {123, 456}} {
		if got := p.Bytes(r[0], r[1]); !bytes.Equal(got, whole[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v differs from the same bytes of the whole", r)
		}
	}
}

func TestPatternSeedsDiffer(t *testing.T) {
	a, b := Pattern{Seed: 1}, Pattern{Seed: 2}
	if bytes.Equal(a.Bytes(0, 64), b.Bytes(0, 64)) {
		t.Fatal("two seeds gave the same bytes")
	}
	if a.SHA1(100) == a.SHA1(101) {
		t.Fatal("sha1 ignores the size")
	}
}
