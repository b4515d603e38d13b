package fs

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossfs/ossfs/oss"
)

// fakeLister serves a fixed set of keys and counts calls.
type fakeLister struct {
	mu    sync.Mutex
	objs  map[string]oss.Object
	calls map[string]int
}

func newFakeLister(keys ...string) *fakeLister {
	f := &fakeLister{objs: map[string]oss.Object{}, calls: map[string]int{}}
	for _, k := range keys {
		f.objs[k] = oss.Object{Key: k, Size: int64(len(k)), SHA1: "sha1-of-" + k}
	}
	return f
}

func (f *fakeLister) count(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
}

func (f *fakeLister) ListObjectsFunc(ctx context.Context, b string, o oss.ListOptions, fn func(oss.Object) error) error {
	f.count("list")
	for _, obj := range f.objs {
		if strings.HasPrefix(obj.Key, o.BeginsWith) {
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakeLister) ListObjectsPage(ctx context.Context, b string, o oss.ListOptions, cursor string) (*oss.ObjectPage, error) {
	f.count("page")
	p := &oss.ObjectPage{}
	for _, obj := range f.objs {
		if strings.HasPrefix(obj.Key, o.BeginsWith) && len(p.Items) < max(o.Limit, 1) {
			p.Items = append(p.Items, obj)
		}
	}
	return p, nil
}

func (f *fakeLister) ObjectDetails(ctx context.Context, b, key string, o oss.DetailsOptions) (*oss.Object, error) {
	f.count("details")
	obj, ok := f.objs[key]
	if !ok {
		return nil, &oss.APIError{Op: oss.OpObjectsDetails, Status: 404}
	}
	return &obj, nil
}

func newTestNamespace(l Lister, now func() time.Time) *namespace {
	return newNamespace(l, "b", time.Minute, 5*time.Second, now, slog.New(slog.DiscardHandler))
}

func TestListingBuildsEveryDirectoryBelow(t *testing.T) {
	l := newFakeLister("top", "a/b/c", "a/b/d", "a/e", "m/", "m/inside", "empty/",
		"clash", "clash/child", "bad//x", "bad/../y", "bad/./z", "ok/"+strings.Repeat("n", 256))
	ns := newTestNamespace(l, time.Now)
	root, err := ns.list(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	// Keys with a component that cannot be a name are hidden whole, so "bad/"
	// and "ok/" hold nothing to show.
	if got, want := root.names(), []string{"a", "clash", "empty", "m", "top"}; !slices.Equal(got, want) {
		t.Fatalf("root = %v, want %v", got, want)
	}
	for name, dir := range map[string]bool{"a": true, "clash": true, "empty": true, "m": true, "top": false} {
		if root.entries[name].dir != dir {
			t.Errorf("%s: dir = %v", name, root.entries[name].dir)
		}
	}
	if !root.entries["m"].marker || root.entries["a"].marker {
		t.Error("marker flags wrong")
	}
	// Every directory below was filled by the same listing: no more calls.
	for prefix, want := range map[string][]string{
		"a/": {"b", "e"}, "a/b/": {"c", "d"}, "m/": {"inside"}, "empty/": {}, "clash/": {"child"},
	} {
		l2, err := ns.list(context.Background(), prefix)
		if err != nil || !slices.Equal(l2.names(), want) {
			t.Errorf("list %q = %v %v, want %v", prefix, l2.names(), err, want)
		}
	}
	if l.calls["list"] != 1 {
		t.Fatalf("%d list calls, want 1", l.calls["list"])
	}
	if len(ns.warned) != 5 { // bad//x, bad/../y, bad/./z, the long name, and the clash
		t.Fatalf("warned about %v", ns.warned)
	}
}

func TestLookupFromListingOrProbe(t *testing.T) {
	l := newFakeLister("d/f", "d/sub/g", "file")
	now := time.Now()
	clock := func() time.Time { return now }
	ns := newTestNamespace(l, clock)
	ctx := context.Background()

	// Without a listing: at most two calls per name.
	if e, err := ns.lookup(ctx, "", "d"); err != nil || e == nil || !e.dir {
		t.Fatalf("lookup d = %+v %v", e, err)
	}
	if e, err := ns.lookup(ctx, "", "file"); err != nil || e == nil || e.dir || e.obj.Size != 4 {
		t.Fatalf("lookup file = %+v %v", e, err)
	}
	if e, err := ns.lookup(ctx, "", "nope"); err != nil || e != nil {
		t.Fatalf("lookup nope = %+v %v", e, err)
	}
	if l.calls["page"] != 3 || l.calls["details"] != 2 || l.calls["list"] != 0 {
		t.Fatalf("probe calls %v", l.calls)
	}
	// A name found absent stays absent for the negative TTL.
	ns.lookup(ctx, "", "nope")
	if l.calls["page"] != 3 {
		t.Fatal("negative lookup not cached")
	}
	now = now.Add(6 * time.Second)
	ns.lookup(ctx, "", "nope")
	if l.calls["page"] != 4 {
		t.Fatal("negative lookup cached past its TTL")
	}

	// With a fresh listing: no calls at all.
	if _, err := ns.list(ctx, "d/"); err != nil {
		t.Fatal(err)
	}
	before := l.calls["page"] + l.calls["details"] + l.calls["list"]
	for _, name := range []string{"f", "sub", "missing"} {
		ns.lookup(ctx, "d/", name)
	}
	if after := l.calls["page"] + l.calls["details"] + l.calls["list"]; after != before {
		t.Fatalf("lookups with a fresh listing made %d calls", after-before)
	}
	// After the TTL the listing is loaded again.
	now = now.Add(2 * time.Minute)
	ns.list(ctx, "d/")
	if l.calls["list"] != 2 {
		t.Fatalf("list calls %d after the TTL, want 2", l.calls["list"])
	}
}

func TestConcurrentListsShareOneLoad(t *testing.T) {
	l := newFakeLister("a", "b", "c")
	ns := newTestNamespace(l, time.Now)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns.list(context.Background(), "")
		}()
	}
	wg.Wait()
	if l.calls["list"] != 1 { // a load in flight is shared; after it the listing is fresh
		t.Fatalf("%d list calls for 20 concurrent readdirs", l.calls["list"])
	}
}

func TestSplitPrefix(t *testing.T) {
	for in, want := range map[string][2]string{"a/": {"", "a"}, "a/b/": {"a/", "b"}, "x/y/z/": {"x/y/", "z"}} {
		p, n := splitPrefix(in)
		if p != want[0] || n != want[1] {
			t.Errorf("splitPrefix(%q) = %q %q", in, p, n)
		}
	}
}
