package oss

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestListObjectsFollowsOpaqueCursor(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		n := len(uris)
		mu.Unlock()
		switch n {
		case 1: // next on the real APS host, without beginsWith
			writeJSON(w, 200, `{"items":[{"objectKey":"dir/a","size":1}],
				"next":"https://developer.api.autodesk.com/oss/v2/buckets/bkt/objects?startAt=7%7C&limit=2"}`)
		case 2: // a doubled slash and a foreign prefix, beginsWith present
			writeJSON(w, 200, `{"items":[{"objectKey":"dir/b","size":2}],
				"next":"http://elsewhere:9/x//oss/v2/buckets/bkt/objects?beginsWith=dir%2F&startAt=9%7C"}`)
		default:
			writeJSON(w, 200, `{"items":[{"objectKey":"dir/c","size":3}]}`)
		}
	})
	c := newTestClient(t, srv.URL, nil)
	objs, err := c.ListObjects(bg(), "bkt", ListOptions{BeginsWith: "dir/", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
		if o.BucketKey != "bkt" {
			t.Errorf("bucket key %q", o.BucketKey)
		}
	}
	if got := strings.Join(keys, ","); got != "dir/a,dir/b,dir/c" {
		t.Fatalf("keys %s", got)
	}
	want := []string{
		"/oss/v2/buckets/bkt/objects?beginsWith=dir%2F&limit=2",
		"/oss/v2/buckets/bkt/objects?startAt=7%7C&limit=2&beginsWith=dir%2F",
		"/oss/v2/buckets/bkt/objects?beginsWith=dir%2F&startAt=9%7C&limit=2",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(uris, "\n") != strings.Join(want, "\n") {
		t.Fatalf("request URIs:\n%s\nwant:\n%s", strings.Join(uris, "\n"), strings.Join(want, "\n"))
	}
}

func TestListObjectsPageReturnsRawCursor(t *testing.T) {
	next := "https://developer.api.autodesk.com/oss/v2/buckets/bkt/objects?startAt=abc"
	srv := newAPSServer(t, status(200, fmt.Sprintf(`{"items":[],"next":%q}`, next)))
	c := newTestClient(t, srv.URL, nil)
	page, err := c.ListObjectsPage(bg(), "bkt", ListOptions{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if page.Next != next {
		t.Fatalf("Next %q, want the server's cursor unchanged", page.Next)
	}
	if _, err := c.ListObjectsPage(bg(), "bkt", ListOptions{Limit: 101}, ""); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("limit 101: err %v", err)
	}
}

func TestListObjectsStuckCursorIsAnError(t *testing.T) {
	srv := newAPSServer(t, status(200, `{"items":[],"next":"/oss/v2/buckets/bkt/objects?startAt=same"}`))
	c := newTestClient(t, srv.URL, nil)
	if _, err := c.ListObjects(bg(), "bkt", ListOptions{}); err == nil {
		t.Fatal("a cursor that repeats must end the listing with an error")
	}
	if n := c.Calls()[OpObjectsList]; n != 2 {
		t.Fatalf("list calls %d, want 2", n)
	}
}

func TestListObjectsFuncStopsAtCallbackError(t *testing.T) {
	srv := newAPSServer(t, status(200, `{"items":[{"objectKey":"a"},{"objectKey":"b"}],"next":"/oss/v2/buckets/bkt/objects?startAt=x"}`))
	c := newTestClient(t, srv.URL, nil)
	stop := errors.New("stop")
	seen := 0
	err := c.ListObjectsFunc(bg(), "bkt", ListOptions{}, func(Object) error {
		seen++
		return stop
	})
	if err != stop || seen != 1 {
		t.Fatalf("err %v after %d items, want stop after 1", err, seen)
	}
	if n := c.Calls()[OpObjectsList]; n != 1 {
		t.Fatalf("list calls %d, want 1", n)
	}
}

func TestObjectDetailsRequestAndDecoding(t *testing.T) {
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	var query, ims string
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		query, ims = r.URL.RawQuery, r.Header.Get("If-Modified-Since")
		mu.Unlock()
		writeJSON(w, 200, `{"bucketKey":"bkt","objectKey":"a","sha1":"ABCDEF0123","size":618,
			"createdDate":1463785698600,"lastModifiedDate":1463785699,"lastAccessedDate":null,
			"userDefinedMetadata":"{\"k\":\"v\"}"}`)
	})
	c := newTestClient(t, srv.URL, nil)
	o, err := c.ObjectDetails(bg(), "bkt", "a", DetailsOptions{
		With: []string{WithCreatedDate, WithLastModifiedDate, WithUserMetadata}, IfModifiedSince: since,
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if query != "with=createdDate&with=lastModifiedDate&with=userDefinedMetadata" {
		t.Errorf("query %q", query)
	}
	if ims != "Thu, 02 Jan 2025 03:04:05 GMT" {
		t.Errorf("If-Modified-Since %q", ims)
	}
	if !o.CreatedDate.Equal(time.UnixMilli(1463785698600)) || !o.LastModifiedDate.Equal(time.Unix(1463785699, 0)) {
		t.Errorf("dates %v %v (ms and seconds)", o.CreatedDate, o.LastModifiedDate)
	}
	if !o.LastAccessedDate.IsZero() || o.UserMetadata != `{"k":"v"}` || o.SHA1 != "abcdef0123" || o.Size != 618 {
		t.Errorf("object %+v", o)
	}
}

func TestObjectDetailsNotModified(t *testing.T) {
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) })
	c := newTestClient(t, srv.URL, nil)
	_, err := c.ObjectDetails(bg(), "bkt", "a", DetailsOptions{IfModifiedSince: time.Now()})
	if !errors.Is(err, ErrNotModified) {
		t.Fatalf("err %v, want ErrNotModified", err)
	}
}

func TestDeleteObjectRetried404IsSuccess(t *testing.T) {
	srv := newAPSServer(t, seq(status(503, ""), status(404, `{"reason":"Object not found"}`)).ServeHTTP)
	c := newTestClient(t, srv.URL, nil)
	if err := c.DeleteObject(bg(), "bkt", "a"); err != nil {
		t.Fatalf("err %v: a 404 after a retried delete means the first attempt deleted it", err)
	}
	srv2 := newAPSServer(t, status(404, `{"reason":"Object not found"}`))
	c2 := newTestClient(t, srv2.URL, nil)
	if err := c2.DeleteObject(bg(), "bkt", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("first-attempt 404: err %v, want ErrNotFound", err)
	}
}

func TestCopyObjectDecodes(t *testing.T) {
	var method string
	var mu sync.Mutex
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		method = r.Method
		mu.Unlock()
		writeJSON(w, 200, objectJSON)
	})
	c := newTestClient(t, srv.URL, nil)
	o, err := c.CopyObject(bg(), "bkt", "from", "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if method != http.MethodPut || o.Key != "a.txt" || o.SHA1 == "" || o.ObjectID == "" {
		t.Fatalf("method %s object %+v", method, o)
	}
}
