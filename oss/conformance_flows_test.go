package oss_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/ossfs/ossfs/oss"
)

// These are the plain direct-to-S3 flows of APS-OSS-API.md §5 and §6, written
// against the client's primitives the way a careful caller would. transfer/ does
// the same with parallelism and budgets; here they exercise the client.

const maxURLRefreshes = 3

// putObject uploads size bytes of ra in parts of partSize and completes the upload.
func putObject(ctx context.Context, c *oss.Client, bucket, key string, ra io.ReaderAt, size, partSize int64, req oss.CompleteRequest) (*oss.Object, error) {
	h := sha1.New()
	if _, err := io.Copy(h, io.NewSectionReader(ra, 0, size)); err != nil {
		return nil, err
	}
	nparts := int(max(1, (size+partSize-1)/partSize))
	up := uploader{c: c, bucket: bucket, key: key, urls: map[int]string{}}
	eTags := make([]string, nparts)
	for part := 1; part <= nparts; part++ {
		off := int64(part-1) * partSize
		n := min(partSize, size-off)
		eTag, err := up.putPart(ctx, part, nparts, io.NewSectionReader(ra, off, n), n)
		if err != nil {
			return nil, fmt.Errorf("part %d: %w", part, err)
		}
		eTags[part-1] = eTag
	}
	req.UploadKey, req.Size, req.ETags, req.SHA1 = up.uploadKey, size, eTags, hex.EncodeToString(h.Sum(nil))
	return c.CompleteUpload(ctx, bucket, key, req)
}

// uploader holds one upload session's key and the part URLs it has been given.
type uploader struct {
	c           *oss.Client
	bucket, key string
	uploadKey   string
	urls        map[int]string // part number -> signed URL
}

// putPart PUTs one part, asking for URLs (25 at a time, same uploadKey) when it has
// none for the part or the one it has was refused as expired.
func (u *uploader) putPart(ctx context.Context, part, nparts int, body io.ReaderAt, n int64) (string, error) {
	for refresh := 0; ; refresh++ {
		if _, ok := u.urls[part]; !ok {
			if err := u.fetchURLs(ctx, part, min(25, nparts-part+1)); err != nil {
				return "", err
			}
		}
		eTag, err := u.c.UploadPart(ctx, u.urls[part], body, n)
		if errors.Is(err, oss.ErrURLExpired) && refresh < maxURLRefreshes {
			clear(u.urls)
			continue
		}
		return eTag, err
	}
}

func (u *uploader) fetchURLs(ctx context.Context, first, parts int) error {
	su, err := u.c.SignedUploadURLs(ctx, u.bucket, u.key, oss.UploadURLOptions{Parts: parts, FirstPart: first, UploadKey: u.uploadKey})
	if err != nil {
		return err
	}
	if u.uploadKey != "" && su.UploadKey != u.uploadKey {
		return fmt.Errorf("uploadKey changed on re-request")
	}
	u.uploadKey = su.UploadKey
	for i, url := range su.URLs {
		u.urls[first+i] = url
	}
	return nil
}

// getObject downloads the object into w in ranged GETs of chunk bytes, resuming a
// broken body from the last byte received and re-signing an expired URL. Every
// response must belong to the same object version (size and S3 ETag).
func getObject(ctx context.Context, c *oss.Client, bucket, key string, w io.WriterAt, chunk int64) (*oss.SignedDownload, error) {
	d := downloader{c: c, bucket: bucket, key: key}
	if err := d.sign(ctx); err != nil {
		return nil, err
	}
	for off := int64(0); off < d.sd.Size; off += chunk {
		if err := d.getRange(ctx, w, off, min(chunk, d.sd.Size-off)); err != nil {
			return nil, err
		}
	}
	return d.sd, nil
}

type downloader struct {
	c           *oss.Client
	bucket, key string
	sd          *oss.SignedDownload
	eTag        string // S3 ETag of the first response; later ones must match
}

func (d *downloader) sign(ctx context.Context) error {
	sd, err := d.c.SignedDownloadURL(ctx, d.bucket, d.key, oss.DownloadURLOptions{})
	if err == nil {
		d.sd = sd
	}
	return err
}

func (d *downloader) getRange(ctx context.Context, w io.WriterAt, off, n int64) error {
	for attempt := 0; n > 0; attempt++ {
		if attempt > 10 {
			return fmt.Errorf("range at %d: too many broken attempts", off)
		}
		resp, err := d.c.Download(ctx, d.sd.URL, off, n)
		if errors.Is(err, oss.ErrURLExpired) {
			if err := d.sign(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := d.checkIdentity(resp); err != nil {
			resp.Body.Close()
			return err
		}
		got, err := io.Copy(io.NewOffsetWriter(w, off), io.LimitReader(resp.Body, n))
		resp.Body.Close()
		off, n = off+got, n-got
		if err == nil && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		_ = err // a broken body is resumed from off
	}
	return nil
}

func (d *downloader) checkIdentity(resp *oss.DownloadResponse) error {
	if resp.Total != d.sd.Size {
		return fmt.Errorf("object size changed from %d to %d", d.sd.Size, resp.Total)
	}
	if d.eTag == "" {
		d.eTag = resp.ETag
	}
	if resp.ETag != d.eTag {
		return fmt.Errorf("object replaced during download (ETag %s, then %s)", d.eTag, resp.ETag)
	}
	return nil
}
