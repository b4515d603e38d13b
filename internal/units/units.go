// Package units reads the byte counts of ossfs's command lines ("50MB",
// "64MiB", "1.5GB", "50MB/s", "1048576"): decimal suffixes (kB, MB, GB, TB) are
// powers of 1000, binary ones (KiB, MiB, GiB, TiB) powers of 1024.
package units

import (
	"fmt"
	"strconv"
	"strings"
)

// maxBytes bounds what ParseBytes accepts (1 PiB): beyond it a count is a typo.
const maxBytes = 1 << 50

// ParseBytes reads a byte count; a trailing "/s" (a rate) is ignored.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "/s"))
	units := []struct {
		suffix string
		scale  float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"B", 1},
	}
	scale := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, scale = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.scale
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*scale > maxBytes {
		return 0, fmt.Errorf("%q is not a byte count (like 50MB or 64MiB)", s)
	}
	return int64(v * scale), nil
}
