package fs

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/ossfs/ossfs/oss"
)

// detailsWith is what a details call asks for: the date and what ossfs stores
// in user-defined metadata.
var detailsWith = []string{oss.WithLastModifiedDate, oss.WithUserMetadata}

// userMeta is what ossfs keeps in an object's x-ads-user-defined-metadata (JSON,
// under 100 bytes): the mtime and mode set through a mount.
type userMeta struct {
	MTimeMillis int64  `json:"m,omitempty"`
	Mode        uint32 `json:"p,omitempty"`
}

func parseUserMeta(s string) (userMeta, bool) {
	var m userMeta
	if s == "" || json.Unmarshal([]byte(s), &m) != nil {
		return userMeta{}, false
	}
	return m, true
}

// stamp is what a file shows besides its size: mtime and mode bits.
type stamp struct {
	mtime time.Time
	mode  uint32 // permission bits; 0: the mount's default
}

// dateStore remembers stamps by object version (key and sha1), so a stamp is
// never shown for other bytes than those it was learned for. Listings carry no
// dates: without a stamp a file shows the Unix epoch until the dateFiller has
// fetched its details.
type dateStore struct {
	log *stampLog // nil: kept stamps are not persisted

	mu   sync.Mutex
	m    map[string]stamp // guarded by mu; by versionKey
	kept map[string]stamp // guarded by mu; set through the mount after commit; win over m
}

func newDateStore() *dateStore { return &dateStore{m: map[string]stamp{}, kept: map[string]stamp{}} }

func versionKey(o oss.Object) string { return o.Key + "\x00" + o.SHA1 }

func (d *dateStore) get(o oss.Object) (stamp, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.kept[versionKey(o)]; ok {
		return s, true
	}
	s, ok := d.m[versionKey(o)]
	return s, ok
}

// learn records the stamp details tell of an object: the mtime set through a
// mount if there is one, else APS's lastModifiedDate.
func (d *dateStore) learn(o *oss.Object) stamp {
	s := stamp{mtime: o.LastModifiedDate}
	if m, ok := parseUserMeta(o.UserMetadata); ok {
		if m.MTimeMillis != 0 {
			s.mtime = time.UnixMilli(m.MTimeMillis)
		}
		s.mode = m.Mode & 0o7777
	}
	if s.mtime.IsZero() && s.mode == 0 {
		return s
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[versionKey(*o)] = s
	return s
}

// dateFiller fetches the stamps of files shown without one, in the background,
// within its own share of the OSS call budget.
type dateFiller struct {
	client  Lister
	bucket  string
	store   *dateStore
	limiter *rate.Limiter
	queue   chan oss.Object

	mu     sync.Mutex
	queued map[string]bool // guarded by mu; versionKeys waiting or being fetched
}

// dateQueueLen bounds the filler's backlog; files beyond it are queued again the
// next time they are shown.
const dateQueueLen = 4096

func newDateFiller(client Lister, bucket string, store *dateStore, perMinute int) *dateFiller {
	return &dateFiller{
		client: client, bucket: bucket, store: store,
		limiter: rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(1, perMinute/10)),
		queue:   make(chan oss.Object, dateQueueLen),
		queued:  map[string]bool{},
	}
}

// want asks for o's stamp; it returns at once.
func (f *dateFiller) want(o oss.Object) {
	if f == nil {
		return
	}
	k := versionKey(o)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.queued[k] {
		return
	}
	select {
	case f.queue <- o:
		f.queued[k] = true
	default:
	}
}

// run fetches queued stamps until ctx ends.
func (f *dateFiller) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-f.queue:
			if f.limiter.Wait(ctx) != nil {
				return
			}
			if d, err := f.client.ObjectDetails(ctx, f.bucket, o.Key, oss.DetailsOptions{With: detailsWith}); err == nil && d.SHA1 == o.SHA1 {
				f.store.learn(d)
			}
			f.mu.Lock()
			delete(f.queued, versionKey(o))
			f.mu.Unlock()
		}
	}
}

// fillDates fetches, before readdir answers, the stamps of up to SyncDates files
// of a listing that have none, a few at a time; the rest go to the filler.
func (f *FS) fillDates(ctx context.Context, l *dirList) {
	if f.opts.DateCallsPerMinute < 0 {
		return
	}
	var missing []oss.Object
	for _, e := range l.entries {
		if !e.dir || e.marker {
			if _, ok := f.dates.get(e.obj); !ok {
				missing = append(missing, e.obj)
			}
		}
	}
	if len(missing) > f.opts.SyncDates {
		return // a large directory: the filler takes them as they are shown
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, o := range missing {
		g.Go(func() error {
			if d, err := f.client.ObjectDetails(gctx, f.opts.Bucket, o.Key, oss.DetailsOptions{With: detailsWith}); err == nil && d.SHA1 == o.SHA1 {
				f.dates.learn(d)
			}
			return nil // a date is a nicety: a failure leaves it to the filler
		})
	}
	g.Wait()
}

// set records the stamp of a version committed through this mount (its user
// metadata holds it too): a stamp kept for the same key and bytes is dropped.
func (d *dateStore) set(o oss.Object, s stamp) error {
	vk := versionKey(o)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[vk] = s
	return d.dropKeptLocked(vk)
}

// keep records a stamp set through this mount on a committed version, whose
// user metadata cannot be changed cheaply: persisted in the stamp log, it
// wins over what details tell of the version.
func (d *dateStore) keep(o oss.Object, s stamp) error {
	vk := versionKey(o)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kept[vk] = s
	if d.log == nil {
		return nil
	}
	return d.log.put(vk, s)
}

// forget drops what is kept of a version deleted through this mount, so the
// stamp log does not grow with every temporary file renamed or removed.
func (d *dateStore) forget(o oss.Object) error {
	vk := versionKey(o)
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, vk)
	return d.dropKeptLocked(vk)
}

// dropKeptLocked forgets a kept stamp of version vk, in memory and in the log.
func (d *dateStore) dropKeptLocked(vk string) error {
	if _, ok := d.kept[vk]; !ok {
		return nil
	}
	delete(d.kept, vk)
	if d.log == nil {
		return nil
	}
	return d.log.drop(vk)
}
