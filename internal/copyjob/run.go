package copyjob

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// Result is how one job ended.
type Result struct {
	Job     Job
	Skipped bool  // the destination already held the same bytes
	Err     error // nil: copied or skipped
}

// Summary counts what Run did.
type Summary struct {
	Copied, Skipped, Failed int
	Bytes                   int64 // bytes copied (not skipped)
	Results                 []Result
}

// Run copies every job, Options.Parallel at a time, and reports each outcome.
// It stops early only when ctx ends; one file's failure does not stop the rest.
func (c *Copier) Run(ctx context.Context, jobs []Job, progress Progress) Summary {
	var (
		mu  sync.Mutex
		sum Summary
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Parallel)
	for _, job := range jobs {
		g.Go(func() error {
			r := c.runOne(gctx, job, progress)
			mu.Lock()
			defer mu.Unlock()
			sum.Results = append(sum.Results, r)
			switch {
			case r.Err != nil:
				sum.Failed++
			case r.Skipped:
				sum.Skipped++
			default:
				sum.Copied++
				sum.Bytes += job.Size
			}
			return nil
		})
	}
	g.Wait()
	return sum
}

func (c *Copier) runOne(ctx context.Context, job Job, progress Progress) Result {
	if job.Err != nil {
		return Result{Job: job, Err: fmt.Errorf("%s: %w", job.Src, job.Err)}
	}
	var skipped bool
	var err error
	switch {
	case !job.Src.Remote():
		skipped, err = c.upload(ctx, job, progress)
	case !job.Dst.Remote():
		skipped, err = c.download(ctx, job, progress)
	default:
		err = c.copyRemote(ctx, job, progress)
	}
	if err != nil {
		err = fmt.Errorf("%s -> %s: %w", job.Src, job.Dst, err)
	}
	return Result{Job: job, Skipped: skipped, Err: err}
}

// upload copies a local file to an object.
func (c *Copier) upload(ctx context.Context, job Job, progress Progress) (bool, error) {
	f, err := os.Open(job.Src.Path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if same, err := c.remoteMatches(ctx, job, f, fi.Size()); err != nil || same {
		return same, err
	}
	opts := transfer.UploadOptions{ContentType: mime.TypeByExtension(filepath.Ext(job.Src.Path))}
	_, err = c.engine.UploadFrom(ctx, job.Dst.Bucket, job.Dst.Key, countingReaderAt{f, progress}, fi.Size(), opts)
	return false, err
}

// remoteMatches says whether the destination object already holds f's bytes.
func (c *Copier) remoteMatches(ctx context.Context, job Job, f *os.File, size int64) (bool, error) {
	if c.opts.Overwrite {
		return false, nil
	}
	have := job.Existing
	if have == nil {
		o, err := c.client.ObjectDetails(ctx, job.Dst.Bucket, job.Dst.Key, oss.DetailsOptions{})
		switch {
		case errors.Is(err, oss.ErrNotFound):
			return false, nil
		case err != nil:
			return false, err
		}
		have = &Existing{Size: o.Size, SHA1: o.SHA1}
	}
	if have.Size != size || have.SHA1 == "" {
		return false, nil
	}
	sum, err := fileSHA1(f)
	return sum == have.SHA1, err
}

// download copies an object to a local file through a temporary file in the
// destination folder, renamed into place only when complete and verified.
func (c *Copier) download(ctx context.Context, job Job, progress Progress) (bool, error) {
	if job.MarkerOnly {
		return false, os.MkdirAll(job.Dst.Path, 0o777)
	}
	dir := filepath.Dir(job.Dst.Path)
	if same, err := c.localMatches(job); err != nil || same {
		return same, err
	}
	tmp, err := c.tempFile(dir, job)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = c.engine.DownloadToFile(ctx, job.Src.Bucket, job.Src.Key, countingWriterAt{tmp, progress})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	return false, os.Rename(tmp.Name(), job.Dst.Path)
}

// tempFile creates the temporary file of a download. Recursive copies create the
// folders they need; a single copy needs its destination folder to exist.
func (c *Copier) tempFile(dir string, job Job) (*os.File, error) {
	if !job.MakeDirs && !isDir(dir) {
		return nil, fmt.Errorf("destination folder %s does not exist", dir)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	name := filepath.Join(dir, "."+filepath.Base(job.Dst.Path)+".ossfs-"+hex.EncodeToString(b[:]))
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
}

// localMatches says whether the destination file already holds the object's bytes.
func (c *Copier) localMatches(job Job) (bool, error) {
	if c.opts.Overwrite || job.SHA1 == "" {
		return false, nil
	}
	f, err := os.Open(job.Dst.Path)
	if err != nil {
		return false, nil // nothing there (or unreadable: the copy will say)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != job.Size {
		return false, nil
	}
	sum, err := fileSHA1(f)
	return sum == job.SHA1, err
}

// copyRemote copies an object to another object: copyto within a bucket, else
// through a temporary local file.
func (c *Copier) copyRemote(ctx context.Context, job Job, progress Progress) error {
	if job.Src.Bucket == job.Dst.Bucket {
		_, err := c.client.CopyObject(ctx, job.Src.Bucket, job.Src.Key, job.Dst.Key)
		if err == nil && progress != nil {
			progress.Add64(job.Size)
		}
		return err
	}
	tmp, err := os.CreateTemp("", "ossfs-cp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	id, err := c.engine.DownloadToFile(ctx, job.Src.Bucket, job.Src.Key, tmp)
	if err != nil {
		return err
	}
	_, err = c.engine.UploadFrom(ctx, job.Dst.Bucket, job.Dst.Key, countingReaderAt{tmp, progress}, id.Size, transfer.UploadOptions{})
	return err
}

func fileSHA1(f *os.File) (string, error) {
	h := sha1.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// countingReaderAt tells progress of the bytes read.
type countingReaderAt struct {
	r io.ReaderAt
	p Progress
}

func (c countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(b, off)
	if c.p != nil && n > 0 {
		c.p.Add64(int64(n))
	}
	return n, err
}

// countingWriterAt tells progress of the bytes written.
type countingWriterAt struct {
	w io.WriterAt
	p Progress
}

func (c countingWriterAt) WriteAt(b []byte, off int64) (int, error) {
	n, err := c.w.WriteAt(b, off)
	if c.p != nil && n > 0 {
		c.p.Add64(int64(n))
	}
	return n, err
}
