package transfer

import (
	"context"
	"io"

	"github.com/ossfs/ossfs/oss"
)

// Client is what transfer needs of the APS client; *oss.Client implements it.
type Client interface {
	SignedDownloadURL(ctx context.Context, bucketKey, objectKey string, opts oss.DownloadURLOptions) (*oss.SignedDownload, error)
	BatchSignedDownloadURLs(ctx context.Context, bucketKey string, items []oss.BatchDownloadItem, minutes int) (map[string]oss.BatchDownloadResult, error)
	Download(ctx context.Context, signedURL string, off, n int64) (*oss.DownloadResponse, error)
	SignedUploadURLs(ctx context.Context, bucketKey, objectKey string, opts oss.UploadURLOptions) (*oss.SignedUpload, error)
	UploadPartMD5(ctx context.Context, signedURL string, part io.ReaderAt, size int64, md5 []byte) (string, error)
	CompleteUpload(ctx context.Context, bucketKey, objectKey string, req oss.CompleteRequest) (*oss.Object, error)
	BatchSignedUploadURLs(ctx context.Context, bucketKey string, items []oss.BatchUploadItem, minutes int) (map[string]oss.BatchUploadResult, error)
	BatchCompleteUpload(ctx context.Context, bucketKey string, items []oss.BatchCompleteItem) (map[string]oss.BatchCompleteResult, error)
	ObjectDetails(ctx context.Context, bucketKey, objectKey string, opts oss.DetailsOptions) (*oss.Object, error)
}

var _ Client = (*oss.Client)(nil)

// Engine moves bytes over signed S3 URLs. One Engine serves a whole process: its
// concurrency limit and its cache of download URLs are shared by every reader and
// upload it makes. It is safe for concurrent use.
type Engine struct {
	c    Client
	opts Options
	sem  chan struct{} // one token per signed-URL request in flight
	urls *urlCache
}

// New returns an Engine over c.
func New(c Client, opts Options) (*Engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Engine{
		c:    c,
		opts: opts,
		sem:  make(chan struct{}, opts.Concurrency),
		urls: newURLCache(c, opts.URLMinutes, opts.Now),
	}, nil
}

// acquire takes one of the Engine's concurrency tokens.
func (e *Engine) acquire(ctx context.Context) error {
	select {
	case e.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) release() { <-e.sem }
