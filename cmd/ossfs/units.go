package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseBytes reads a byte count such as "50MB", "50MB/s", "64MiB", "1.5GB" or
// "1048576". Decimal suffixes (kB, MB, GB) are powers of 1000, binary ones
// (KiB, MiB, GiB) powers of 1024, as in the rest of the documentation.
func parseBytes(s string) (int64, error) {
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
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a byte count (like 50MB or 64MiB)", s)
	}
	return int64(v * scale), nil
}

// bytesFlag is a flag.Value holding a byte count written with parseBytes's units.
type bytesFlag struct{ n int64 }

func (b *bytesFlag) String() string { return strconv.FormatInt(b.n, 10) }

func (b *bytesFlag) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	b.n = n
	return nil
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}
