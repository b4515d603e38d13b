package copyjob

import (
	"context"
	"errors"
	"log/slog"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// Client is what planning and copying need of the APS client.
type Client interface {
	transfer.Client
	ListObjectsFunc(ctx context.Context, bucketKey string, opts oss.ListOptions, fn func(oss.Object) error) error
	CopyObject(ctx context.Context, bucketKey, fromKey, toKey string) (*oss.Object, error)
}

var _ Client = (*oss.Client)(nil)

// Progress is told of bytes as they move; it may be nil.
type Progress interface {
	Add64(n int64) error
}

// Options configures a Copier.
type Options struct {
	// Parallel is how many files copy at once (default 4); each file's bytes
	// are parallel within transfer's own limit.
	Parallel int
	// Overwrite copies even when the destination already holds the same bytes.
	Overwrite bool
	Logger    *slog.Logger
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options { return Options{Parallel: 4} }

// Validate reports the first problem with o.
func (o Options) Validate() error {
	if o.Parallel < 0 {
		return errors.New("copyjob: Parallel must not be negative")
	}
	return nil
}

// Copier plans and runs copies.
type Copier struct {
	client Client
	engine *transfer.Engine
	opts   Options
}

// New returns a Copier moving bytes through engine.
func New(client Client, engine *transfer.Engine, opts Options) (*Copier, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Parallel == 0 {
		opts.Parallel = DefaultOptions().Parallel
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Copier{client: client, engine: engine, opts: opts}, nil
}
