package cache

import (
	"errors"
	"fmt"
	"log/slog"
)

const (
	mib = 1 << 20
	// maxBlockSize bounds BlockSize so that a block always fits an int and a
	// block file header stays meaningful.
	maxBlockSize = 1 << 30
)

// Options configures a Cache. Zero fields take their defaults.
type Options struct {
	// MaxBytes is the memory tier's budget in bytes; a block costs len(data).
	// Default 256 MiB; at least BlockSize.
	MaxBytes int64
	// BlockSize is the size of every block of an object but its last, which
	// may be shorter. Blocks longer than this are not cached. Default 1 MiB,
	// at most 1 GiB. Changing it between runs discards the disk tier's blocks
	// (a block index means other bytes under another size).
	BlockSize int64
	// Dir is the directory of the optional on-disk tier, which survives
	// remounts; "" means no disk tier. One Cache at a time may use a Dir.
	Dir string
	// DirMaxBytes is the disk tier's budget in bytes of block files (headers
	// included). Default 4 GiB; at least BlockSize when Dir is set.
	DirMaxBytes int64
	// Logger receives disk-tier problems (default: discard).
	Logger *slog.Logger
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		MaxBytes:    256 * mib,
		BlockSize:   1 * mib,
		DirMaxBytes: 4096 * mib,
	}
}

// Validate reports the first problem with o. Zero fields are valid: they
// stand for their defaults.
func (o Options) Validate() error {
	if o.MaxBytes < 0 || o.BlockSize < 0 || o.DirMaxBytes < 0 {
		return errors.New("cache: MaxBytes, BlockSize and DirMaxBytes must not be negative")
	}
	o = o.withDefaults()
	switch {
	case o.BlockSize > maxBlockSize:
		return fmt.Errorf("cache: BlockSize %d is above the maximum of %d", o.BlockSize, maxBlockSize)
	case o.MaxBytes < o.BlockSize:
		return fmt.Errorf("cache: MaxBytes %d is below one block (%d)", o.MaxBytes, o.BlockSize)
	case o.Dir != "" && o.DirMaxBytes < o.BlockSize:
		return fmt.Errorf("cache: DirMaxBytes %d is below one block (%d)", o.DirMaxBytes, o.BlockSize)
	}
	return nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxBytes == 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.BlockSize == 0 {
		o.BlockSize = d.BlockSize
	}
	if o.DirMaxBytes == 0 {
		o.DirMaxBytes = d.DirMaxBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
