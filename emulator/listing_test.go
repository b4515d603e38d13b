package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// listAll follows next links and returns the keys in the order served.
func (e *env) listAll(bucketKey, query string, between func(page int)) []string {
	e.t.Helper()
	var keys []string
	next := e.http.URL + "/oss/v2/buckets/" + bucketKey + "/objects?" + query
	for page := 0; next != ""; page++ {
		if page > 1000 {
			e.t.Fatal("listing does not end")
		}
		body := e.do(http.MethodGet, next, e.token, nil, nil).want(e.t, http.StatusOK).json(e.t)
		for _, it := range body["items"].([]any) {
			keys = append(keys, it.(map[string]any)["objectKey"].(string))
		}
		next, _ = body["next"].(string)
		if between != nil && next != "" {
			between(page)
		}
	}
	return keys
}

func fillBucket(t *testing.T, e *env, bucketKey string) {
	t.Helper()
	e.createBucket(bucketKey)
	for i := range 2500 {
		key := fmt.Sprintf("dir/f%04d", i)
		if i%5 == 0 {
			key = fmt.Sprintf("other/f%04d", i)
		}
		if err := e.srv.PutObject(bucketKey, key, []byte{byte(i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListingCompleteUnorderedAndOpaque(t *testing.T) {
	e := newEnv(t, nil)
	fillBucket(t, e, "many")
	keys := e.listAll("many", "beginsWith=dir%2F&limit=100", nil)
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] || !strings.HasPrefix(k, "dir/") {
			t.Fatalf("duplicate or foreign key %q", k)
		}
		seen[k] = true
	}
	if len(seen) != 2000 {
		t.Fatalf("listed %d keys, want 2000", len(seen))
	}
	if sort.StringsAreSorted(keys) {
		t.Error("listing is in lexical order; it must not be by default")
	}
	first := e.oss(http.MethodGet, "/buckets/many/objects?beginsWith=dir%2F&limit=7", nil).want(t, http.StatusOK).json(t)
	next, err := url.Parse(first["next"].(string))
	if err != nil || next.Scheme != "http" || next.Query().Get("beginsWith") != "dir/" || next.Query().Get("limit") != "7" {
		t.Fatalf("next %v", first["next"])
	}
	item := first["items"].([]any)[0].(map[string]any)
	for _, f := range []string{"bucketKey", "objectKey", "objectId", "sha1", "size", "location", "contentType"} {
		if _, ok := item[f]; !ok {
			t.Errorf("item lacks %s: %v", f, item)
		}
	}
	if _, ok := item["createdDate"]; ok {
		t.Error("listing items must not carry dates")
	}
	// A tampered cursor is refused.
	q := next.Query()
	c := []byte(q.Get("startAt"))
	c[3] ^= 1
	q.Set("startAt", string(c))
	e.oss(http.MethodGet, "/buckets/many/objects?"+q.Encode(), nil).want(t, http.StatusBadRequest)
	// A cursor of another bucket is refused too.
	e.createBucket("few")
	e.oss(http.MethodGet, "/buckets/few/objects?"+next.RawQuery, nil).want(t, http.StatusBadRequest)
	e.oss(http.MethodGet, "/buckets/many/objects?limit=101", nil).want(t, http.StatusBadRequest)
}

func TestListingStableUnderChanges(t *testing.T) {
	e := newEnv(t, nil)
	fillBucket(t, e, "moving")
	// Between pages, delete some keys and add others. Every key that exists
	// throughout must be listed exactly once.
	deleted := map[string]bool{}
	keys := e.listAll("moving", "limit=50", func(page int) {
		victim := fmt.Sprintf("dir/f%04d", page*37%2500)
		if e.srv.DeleteObject("moving", victim) == nil {
			deleted[victim] = true
		}
		if err := e.srv.PutObject("moving", fmt.Sprintf("new/%d", page), nil, ""); err != nil {
			t.Fatal(err)
		}
	})
	seen := map[string]int{}
	for _, k := range keys {
		seen[k]++
	}
	for i := range 2500 {
		key := fmt.Sprintf("dir/f%04d", i)
		if i%5 == 0 {
			key = fmt.Sprintf("other/f%04d", i)
		}
		if !deleted[key] && seen[key] != 1 {
			t.Errorf("%s listed %d times", key, seen[key])
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s listed %d times", k, n)
		}
	}
}

func TestListingOrderedOption(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Ordered = true })
	e.createBucket("ordered")
	for _, k := range []string{"c", "a", "b/x", "b", "d"} {
		e.srv.PutObject("ordered", k, nil, "")
	}
	keys := e.listAll("ordered", "limit=2", nil)
	if strings.Join(keys, ",") != "a,b,b/x,c,d" {
		t.Errorf("ordered listing %v", keys)
	}
}

func TestListingLag(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.ListingLag = 5 * time.Second })
	e.createBucket("lag")
	must(t, e.srv.PutObject("lag", "old", nil, ""))
	e.clock.Advance(5 * time.Second)
	must(t, e.srv.PutObject("lag", "new", nil, ""))
	if got := e.listAll("lag", "", nil); len(got) != 1 || got[0] != "old" {
		t.Errorf("listing during lag: %v", got)
	}
	e.oss(http.MethodGet, objectPath("lag", "new", "details"), nil).want(t, http.StatusOK)
	e.clock.Advance(5 * time.Second)
	if got := e.listAll("lag", "", nil); len(got) != 2 {
		t.Errorf("listing after lag: %v", got)
	}
}
