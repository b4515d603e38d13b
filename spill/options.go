package spill

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/ossfs/ossfs/transfer"
)

const mib = 1 << 20

// Options configures a Dir and the Files made in it. Zero fields take their
// defaults.
type Options struct {
	// PartSize is the size of every upload part of a File but its last, for
	// files up to PartSize*transfer.MaxParts bytes; larger files get larger
	// parts. Default transfer's default part size (8 MiB); at least
	// transfer.MinPartSize.
	PartSize int64
	// FillChunk is the most bytes one fetch from the original object asks
	// for. Default 8 MiB.
	FillChunk int64
	// FillConcurrency is how many fetches FillAll runs at once. Default 4.
	FillConcurrency int
	// Logger receives what LoadPending cleans up (default: discard).
	Logger *slog.Logger
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		PartSize:        transfer.DefaultOptions().PartSize,
		FillChunk:       8 * mib,
		FillConcurrency: 4,
	}
}

// Validate reports the first problem with o. Zero fields are valid: they
// stand for their defaults.
func (o Options) Validate() error {
	switch {
	case o.PartSize < 0 || o.FillChunk < 0 || o.FillConcurrency < 0:
		return errors.New("spill: PartSize, FillChunk and FillConcurrency must not be negative")
	case o.PartSize != 0 && o.PartSize < transfer.MinPartSize:
		return fmt.Errorf("spill: PartSize %d is below the S3 minimum of %d", o.PartSize, transfer.MinPartSize)
	}
	return nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.PartSize == 0 {
		o.PartSize = d.PartSize
	}
	if o.FillChunk == 0 {
		o.FillChunk = d.FillChunk
	}
	if o.FillConcurrency == 0 {
		o.FillConcurrency = d.FillConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// partCount is the number of parts of partSize that hold size bytes; a
// zero-byte file is one empty part.
func partCount(size, partSize int64) int {
	return int(max(1, (size+partSize-1)/partSize))
}

// partSizeFor returns base, or for a file too large for transfer.MaxParts
// parts of base, the smallest whole number of MiB that fits it (as
// transfer.PartSizeFor does, without raising base to the S3 minimum, which
// Validate already ensures).
func partSizeFor(size, base int64) int64 {
	if need := (size + transfer.MaxParts - 1) / transfer.MaxParts; need > base {
		return (need + mib - 1) / mib * mib
	}
	return base
}
