package transfer

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

const (
	mib = 1 << 20
	// MinPartSize is the smallest part S3 accepts except for the last one.
	MinPartSize = 5 * mib
	// MaxParts is the most parts one upload may have.
	MaxParts = 10000
	// maxURLsPerRequest is the most part URLs one signeds3upload call returns.
	maxURLsPerRequest = 25
)

// Options configures an Engine. Zero fields take their defaults.
type Options struct {
	// URLMinutes is the lifetime asked for signed URLs (minutesExpiration):
	// 1..60, default 2, the APS default; APS advises keeping it as short as works.
	URLMinutes int
	// Concurrency bounds the signed-URL requests (GETs and PUTs) in flight
	// across everything the Engine does. Default 8.
	Concurrency int
	// RangeSize is the size of one ranged GET when a large read is split.
	// Default 8 MiB.
	RangeSize int64
	// PartSize is the upload part size for objects up to PartSize*MaxParts
	// bytes; larger objects get larger parts (see PartSizeFor). Default 8 MiB,
	// at least MinPartSize.
	PartSize int64
	// MaxURLRefreshes bounds how often one request fetches a new signed URL
	// after S3 refused the one it had (403). Default 3.
	MaxURLRefreshes int
	// MaxResumes bounds how often one range resumes a body that broke off
	// midway. Default 10.
	MaxResumes int
	// VerifySHA1 compares the sha1 computed while uploading with the one APS
	// reports after completion (one details call per upload). Default on; see
	// DefaultOptions.
	VerifySHA1 bool
	// Now is the clock used for URL expiry (default time.Now); it must agree
	// with the oss client's.
	Now func() time.Time
	// Logger receives retry notices (default: discard).
	Logger *slog.Logger
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		URLMinutes:      2,
		Concurrency:     8,
		RangeSize:       8 * mib,
		PartSize:        8 * mib,
		MaxURLRefreshes: 3,
		MaxResumes:      10,
		VerifySHA1:      true,
	}
}

// Validate reports the first problem with o.
func (o Options) Validate() error {
	switch {
	case o.URLMinutes < 0 || o.URLMinutes > 60:
		return fmt.Errorf("transfer: URLMinutes %d is outside 1..60", o.URLMinutes)
	case o.Concurrency < 0 || o.RangeSize < 0 || o.MaxURLRefreshes < 0 || o.MaxResumes < 0:
		return errors.New("transfer: Concurrency, RangeSize, MaxURLRefreshes and MaxResumes must not be negative")
	case o.PartSize != 0 && o.PartSize < MinPartSize:
		return fmt.Errorf("transfer: PartSize %d is below the S3 minimum of %d", o.PartSize, MinPartSize)
	}
	return nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.URLMinutes == 0 {
		o.URLMinutes = d.URLMinutes
	}
	if o.Concurrency == 0 {
		o.Concurrency = d.Concurrency
	}
	if o.RangeSize == 0 {
		o.RangeSize = d.RangeSize
	}
	if o.PartSize == 0 {
		o.PartSize = d.PartSize
	}
	if o.MaxURLRefreshes == 0 {
		o.MaxURLRefreshes = d.MaxURLRefreshes
	}
	if o.MaxResumes == 0 {
		o.MaxResumes = d.MaxResumes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// PartSizeFor returns the part size for an object of size bytes: base (at least
// MinPartSize), grown to whole MiB so that the object needs at most MaxParts parts.
func PartSizeFor(size, base int64) int64 {
	p := max(base, MinPartSize)
	if need := (size + MaxParts - 1) / MaxParts; need > p {
		p = (need + mib - 1) / mib * mib
	}
	return p
}

// partCount is the number of parts of partSize that hold size bytes; a zero-byte
// object is one empty part.
func partCount(size, partSize int64) int {
	return int(max(1, (size+partSize-1)/partSize))
}
