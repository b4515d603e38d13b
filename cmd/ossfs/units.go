package main

import (
	"strconv"
	"strings"

	"github.com/ossfs/ossfs/internal/units"
)

// bytesFlag is a flag.Value holding a byte count written with parseBytes's units.
type bytesFlag struct{ n int64 }

func (b *bytesFlag) String() string { return strconv.FormatInt(b.n, 10) }

func (b *bytesFlag) Set(s string) error {
	n, err := units.ParseBytes(s)
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
