package transfer

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ossfs/ossfs/oss"
)

// maxCachedURLs bounds the download-URL cache; expired entries are swept when it
// is reached.
const maxCachedURLs = 10000

// signedURL is a signed download URL with what signeds3download said of the object.
type signedURL struct {
	url      string
	expires  time.Time
	signedAt time.Time // when signeds3download answered it (what it says of the object is that old)
	size     int64
	sha1     string
}

// urlCache keeps one signed download URL per object for its lifetime: one
// signeds3download per object per URL lifetime, refreshed ahead of expiry.
// Concurrent misses on one object share one call.
type urlCache struct {
	c       Client
	minutes int
	now     func() time.Time
	group   singleflight.Group

	mu      sync.Mutex
	entries map[string]*signedURL // guarded by mu; by bucket + "\x00" + key
}

func newURLCache(c Client, minutes int, now func() time.Time) *urlCache {
	return &urlCache{c: c, minutes: minutes, now: now, entries: map[string]*signedURL{}}
}

func cacheKey(bucket, key string) string { return bucket + "\x00" + key }

// refreshMargin is how long before expiry a URL is replaced: a quarter of its
// lifetime, at most 30 s. A request must only start before expiry, so this leaves
// room for clock skew and for the time a request waits for a concurrency token.
func (u *urlCache) refreshMargin() time.Duration {
	return min(30*time.Second, time.Duration(u.minutes)*time.Minute/4)
}

// get returns a URL for the object that is not about to expire.
func (u *urlCache) get(ctx context.Context, bucket, key string) (*signedURL, error) {
	return u.getWithin(ctx, bucket, key, 0)
}

// getWithin is get with a bound on how old what the URL says of the object may
// be (0: no bound beyond the URL's lifetime).
func (u *urlCache) getWithin(ctx context.Context, bucket, key string, maxAge time.Duration) (*signedURL, error) {
	k := cacheKey(bucket, key)
	if e := u.usable(k, maxAge); e != nil {
		return e, nil
	}
	v, err, _ := u.group.Do(k, func() (any, error) {
		// Shared by every caller waiting on this key: not bound to the first one's cancellation.
		sd, err := u.c.SignedDownloadURL(context.WithoutCancel(ctx), bucket, key, oss.DownloadURLOptions{Minutes: u.minutes})
		if err != nil {
			return nil, err
		}
		e := &signedURL{url: sd.URL, expires: sd.Expires, signedAt: u.now(), size: sd.Size, sha1: sd.SHA1}
		u.store(k, e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*signedURL), nil
}

// has reports whether a URL for the object is cached, not about to expire and
// at most maxAge old (0: any age).
func (u *urlCache) has(bucket, key string, maxAge time.Duration) bool {
	return u.usable(cacheKey(bucket, key), maxAge) != nil
}

// usable returns the cached entry under k if it is not about to expire and at
// most maxAge old (0: any age).
func (u *urlCache) usable(k string, maxAge time.Duration) *signedURL {
	u.mu.Lock()
	e := u.entries[k]
	u.mu.Unlock()
	now := u.now()
	if e != nil && now.Add(u.refreshMargin()).Before(e.expires) && (maxAge <= 0 || now.Sub(e.signedAt) <= maxAge) {
		return e
	}
	return nil
}

// prime fetches URLs for several objects of one bucket with the batch endpoint,
// so that reading many small files costs a fraction of a call each.
func (u *urlCache) prime(ctx context.Context, bucket string, keys []string) error {
	items := make([]oss.BatchDownloadItem, len(keys))
	for i, k := range keys {
		items[i] = oss.BatchDownloadItem{ObjectKey: k}
	}
	res, err := u.c.BatchSignedDownloadURLs(ctx, bucket, items, u.minutes)
	if err != nil {
		return err
	}
	for key, r := range res {
		if r.Err == nil && r.URL != "" {
			u.store(cacheKey(bucket, key), &signedURL{url: r.URL, expires: r.Expires, signedAt: u.now(), size: r.Size, sha1: r.SHA1})
		}
	}
	return nil
}

func (u *urlCache) store(k string, e *signedURL) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.entries) >= maxCachedURLs {
		u.sweepLocked()
	}
	u.entries[k] = e
}

// sweepLocked drops expired entries, and every entry if none had expired.
func (u *urlCache) sweepLocked() {
	now := u.now()
	for k, e := range u.entries {
		if !now.Before(e.expires) {
			delete(u.entries, k)
		}
	}
	if len(u.entries) >= maxCachedURLs {
		clear(u.entries)
	}
}

// invalidate forgets the object's URL if it is still the one S3 refused.
func (u *urlCache) invalidate(bucket, key, url string) {
	k := cacheKey(bucket, key)
	u.mu.Lock()
	defer u.mu.Unlock()
	if e := u.entries[k]; e != nil && e.url == url {
		delete(u.entries, k)
	}
}

// forget drops the object's URL (the object was replaced or deleted).
func (u *urlCache) forget(bucket, key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.entries, cacheKey(bucket, key))
}
