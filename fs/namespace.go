package fs

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ossfs/ossfs/oss"
)

// Lister is what the namespace needs of the APS client.
type Lister interface {
	ListObjectsFunc(ctx context.Context, bucketKey string, opts oss.ListOptions, fn func(oss.Object) error) error
	ListObjectsPage(ctx context.Context, bucketKey string, opts oss.ListOptions, cursor string) (*oss.ObjectPage, error)
	ObjectDetails(ctx context.Context, bucketKey, objectKey string, opts oss.DetailsOptions) (*oss.Object, error)
}

// entry is one name in a directory.
type entry struct {
	dir    bool
	marker bool       // a directory with a "name/" marker object
	obj    oss.Object // a file's object, or a directory's marker
}

// dirList is a directory's entries as one listing saw them. It is never changed
// after it is built, so it is shared without locks.
type dirList struct {
	entries map[string]*entry
	loaded  time.Time
}

// names returns the entry names in order.
func (l *dirList) names() []string {
	names := make([]string, 0, len(l.entries))
	for n := range l.entries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// namespace turns a flat, unordered key space into directories. A listing of
// prefix P (APS lists every key below P, at any depth) yields the complete
// contents of P and of every directory below it, so all of them are cached from
// one listing for the metadata TTL.
type namespace struct {
	client Lister
	bucket string
	ttl    time.Duration // how long a listing answers readdir and lookup
	negTTL time.Duration // how long a name known absent stays absent
	now    func() time.Time
	log    *slog.Logger
	loads  singleflight.Group
	// learned is told of every details answer (its dates and metadata).
	learned func(*oss.Object)

	mu     sync.Mutex
	dirs   map[string]*dirList  // guarded by mu; by prefix ("" or "a/b/")
	absent map[string]time.Time // guarded by mu; key -> absent until
	warned map[string]bool      // guarded by mu; keys already logged as hidden or clashing
}

func newNamespace(client Lister, bucket string, ttl, negTTL time.Duration, now func() time.Time, log *slog.Logger) *namespace {
	return &namespace{
		client: client, bucket: bucket, ttl: ttl, negTTL: negTTL, now: now, log: log,
		dirs: map[string]*dirList{}, absent: map[string]time.Time{}, warned: map[string]bool{},
	}
}

// list returns the directory's entries, from a listing younger than the TTL or
// from a new one (concurrent loads of one prefix share one).
func (n *namespace) list(ctx context.Context, prefix string) (*dirList, error) {
	if l := n.fresh(prefix); l != nil {
		return l, nil
	}
	v, err, _ := n.loads.Do(prefix, func() (any, error) {
		return n.load(context.WithoutCancel(ctx), prefix)
	})
	if err != nil {
		return nil, err
	}
	return v.(*dirList), nil
}

// fresh returns the cached listing of prefix if it is younger than the TTL.
func (n *namespace) fresh(prefix string) *dirList {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.dirs[prefix]
	if l == nil || n.now().Sub(l.loaded) >= n.ttl {
		return nil
	}
	return l
}

// load lists every key below prefix and caches the listing of prefix and of
// every directory below it.
func (n *namespace) load(ctx context.Context, prefix string) (*dirList, error) {
	b := newListBuilder(prefix, n.now())
	err := n.client.ListObjectsFunc(ctx, n.bucket, oss.ListOptions{BeginsWith: prefix}, func(o oss.Object) error {
		b.add(o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, key := range b.hidden {
		n.warnLocked(key, "key hidden: a component cannot be a file name")
	}
	for _, key := range b.clashes {
		n.warnLocked(key, "file hidden by a directory of the same name")
	}
	for p, l := range b.lists {
		n.dirs[p] = l
	}
	return b.lists[prefix], nil
}

func (n *namespace) warnLocked(key, msg string) {
	if !n.warned[key] {
		n.warned[key] = true
		n.log.Warn(msg, "key", key)
	}
}

// lookup finds name in the directory prefix: from a fresh listing when there is
// one, else with at most two calls (is there anything below "name/"? is there an
// object "name"?). A nil entry means absent.
func (n *namespace) lookup(ctx context.Context, prefix, name string) (*entry, error) {
	if l := n.fresh(prefix); l != nil {
		return l.entries[name], nil
	}
	key := childKey(prefix, name)
	if n.knownAbsent(key) {
		return nil, nil
	}
	e, err := n.probe(ctx, prefix, name)
	if err == nil && e == nil {
		n.markAbsent(key)
	}
	return e, err
}

// probe asks APS about one name without listing its whole directory.
func (n *namespace) probe(ctx context.Context, prefix, name string) (*entry, error) {
	page, err := n.client.ListObjectsPage(ctx, n.bucket, oss.ListOptions{BeginsWith: childPrefix(prefix, name), Limit: 1}, "")
	if err != nil {
		return nil, err
	}
	if len(page.Items) > 0 {
		return &entry{dir: true}, nil // the directory wins over a file of the same name
	}
	o, err := n.client.ObjectDetails(ctx, n.bucket, childKey(prefix, name), oss.DetailsOptions{With: detailsWith})
	if errors.Is(err, oss.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if n.learned != nil {
		n.learned(o)
	}
	return &entry{obj: *o}, nil
}

func (n *namespace) knownAbsent(key string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	until, ok := n.absent[key]
	if ok && n.now().After(until) {
		delete(n.absent, key)
		return false
	}
	return ok
}

func (n *namespace) markAbsent(key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.absent[key] = n.now().Add(n.negTTL)
}

// listBuilder turns the keys below a prefix into directory listings.
type listBuilder struct {
	prefix  string
	loaded  time.Time
	lists   map[string]*dirList
	hidden  []string // keys with a component that cannot be a name
	clashes []string // file keys hidden by a directory of the same name
}

func newListBuilder(prefix string, loaded time.Time) *listBuilder {
	b := &listBuilder{prefix: prefix, loaded: loaded, lists: map[string]*dirList{}}
	b.listOf(prefix)
	return b
}

func (b *listBuilder) listOf(prefix string) *dirList {
	l := b.lists[prefix]
	if l == nil {
		l = &dirList{entries: map[string]*entry{}, loaded: b.loaded}
		b.lists[prefix] = l
	}
	return l
}

// add places one object: as a file, or as a marker, in its directory, creating
// the directories on its path.
func (b *listBuilder) add(o oss.Object) {
	rel := o.Key[len(b.prefix):]
	if rel == "" {
		return // the directory's own marker
	}
	comps, marker, ok := splitKey(rel)
	if !ok {
		b.hidden = append(b.hidden, o.Key)
		return
	}
	p := b.prefix
	for i, c := range comps {
		l := b.listOf(p)
		if i < len(comps)-1 || marker {
			d := b.addDir(l, p, c)
			if i == len(comps)-1 {
				d.marker, d.obj = true, o
			}
			p = childPrefix(p, c)
			b.listOf(p)
			continue
		}
		if e := l.entries[c]; e != nil && e.dir {
			b.clashes = append(b.clashes, o.Key)
			continue
		}
		l.entries[c] = &entry{obj: o}
	}
}

// addDir returns the directory entry c of l, replacing a file of that name.
func (b *listBuilder) addDir(l *dirList, prefix, c string) *entry {
	e := l.entries[c]
	if e != nil && e.dir {
		return e
	}
	if e != nil {
		b.clashes = append(b.clashes, childKey(prefix, c))
	}
	e = &entry{dir: true}
	l.entries[c] = e
	return e
}

// editLocked replaces the cached listing of prefix, if any, with a copy changed
// by fn (listings are shared without locks, so they are never changed in
// place). The copy keeps the listing's load time.
func (n *namespace) editLocked(prefix string, fn func(map[string]*entry)) {
	l := n.dirs[prefix]
	if l == nil {
		return
	}
	m := maps.Clone(l.entries)
	fn(m)
	n.dirs[prefix] = &dirList{entries: m, loaded: l.loaded}
}

// putFile records a file committed through this mount.
func (n *namespace) putFile(key string, o oss.Object) {
	prefix, name := splitKeyName(key)
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.absent, key)
	n.editLocked(prefix, func(m map[string]*entry) {
		if e := m[name]; e == nil || !e.dir {
			m[name] = &entry{obj: o}
		}
	})
}

// removeFile forgets a file deleted through this mount.
func (n *namespace) removeFile(key string) {
	prefix, name := splitKeyName(key)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.editLocked(prefix, func(m map[string]*entry) {
		if e := m[name]; e != nil && !e.dir {
			delete(m, name)
		}
	})
}

// putDir records a directory made through this mount: its marker in its
// parent, and an empty listing of its own.
func (n *namespace) putDir(prefix string, marker oss.Object) {
	parent, name := splitPrefix(prefix)
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.absent, childKey(parent, name))
	n.editLocked(parent, func(m map[string]*entry) {
		m[name] = &entry{dir: true, marker: true, obj: marker}
	})
	if n.dirs[prefix] == nil {
		n.dirs[prefix] = &dirList{entries: map[string]*entry{}, loaded: n.now()}
	}
}

// removeDir forgets a directory removed through this mount, and every listing
// below it.
func (n *namespace) removeDir(prefix string) {
	parent, name := splitPrefix(prefix)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.editLocked(parent, func(m map[string]*entry) { delete(m, name) })
	for p := range n.dirs {
		if strings.HasPrefix(p, prefix) {
			delete(n.dirs, p)
		}
	}
}

// splitKeyName splits "a/b/c" into "a/b/" and "c".
func splitKeyName(key string) (prefix, name string) {
	i := strings.LastIndex(key, "/")
	return key[:i+1], key[i+1:]
}

// invalidate drops the cached listing of prefix, so the next lookup or readdir
// lists it again.
func (n *namespace) invalidate(prefix string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.dirs, prefix)
}
