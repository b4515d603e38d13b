package oss

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

const signedURLJSON = `{"status":"complete","url":"https://bucket.s3.amazonaws.com/p?X-Amz-Date=20210120T152914Z&X-Amz-Expires=120&X-Amz-Signature=abc",
	"params":{"content-type":"text/plain"},"size":221983,"sha1":"4F2DDFA9F898EDA7EDEE1AB9827CFEB57F2EC647"}`

func TestSignedDownloadURL(t *testing.T) {
	var mu sync.Mutex
	var query, inm string
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		query, inm = r.URL.RawQuery, r.Header.Get("If-None-Match")
		mu.Unlock()
		writeJSON(w, 200, signedURLJSON)
	})
	c := newTestClient(t, srv.URL, nil)
	d, err := c.SignedDownloadURL(bg(), "bkt", "dir/a.txt", DownloadURLOptions{Minutes: 5, ContentType: "text/plain", IfNoneMatch: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if query != "minutesExpiration=5&response-content-type=text%2Fplain" || inm != "abc" {
		t.Errorf("query %q If-None-Match %q", query, inm)
	}
	if want := time.Date(2021, 1, 20, 15, 31, 14, 0, time.UTC); !d.Expires.Equal(want) {
		t.Errorf("Expires %v, want X-Amz-Date + 120s = %v", d.Expires, want)
	}
	if d.Size != 221983 || d.SHA1 != "4f2ddfa9f898eda7edee1ab9827cfeb57f2ec647" || d.Params["content-type"] != "text/plain" || d.Status != "complete" {
		t.Errorf("download %+v", d)
	}
}

func TestSignedDownloadExpiryWithoutAmzParams(t *testing.T) {
	srv := newAPSServer(t, status(200, `{"status":"complete","url":"http://127.0.0.1:1/d/x","size":1}`))
	clock := newFakeClock()
	c := newTestClient(t, srv.URL, func(o *Options) { o.Now = clock.Now })
	d, err := c.SignedDownloadURL(bg(), "bkt", "a", DownloadURLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(2 * time.Minute); !d.Expires.Equal(want) {
		t.Fatalf("Expires %v, want now + the default 2 minutes", d.Expires)
	}
}

func TestSignedDownloadNotCompleteIsUnsupported(t *testing.T) {
	srv := newAPSServer(t, status(200, `{"status":"chunked","urls":{"0-10":"https://x"},"size":11}`))
	c := newTestClient(t, srv.URL, nil)
	if _, err := c.SignedDownloadURL(bg(), "bkt", "a", DownloadURLOptions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("err %v, want errors.ErrUnsupported", err)
	}
}

func TestBatchSignedDownloadURLs(t *testing.T) {
	rec := &batchRecorder{answer: func(key string, it map[string]any) string {
		switch key {
		case "gone":
			return `{"status":"error","reason":"Object not found"}`
		case "same":
			return `{"status":"skipped","reason":"Not modified"}`
		case "html":
			return `{"status":"error","reason":"Inline executable content not allowed"}`
		}
		return `{"status":"complete","url":"https://s3/x?X-Amz-Date=20210120T152914Z&X-Amz-Expires=60","size":3}`
	}}
	srv := newAPSServer(t, rec.handle)
	c := newTestClient(t, srv.URL, nil)
	items := []BatchDownloadItem{{ObjectKey: "gone"}, {ObjectKey: "same", IfNoneMatch: "s"}, {ObjectKey: "html", ContentType: "text/html"}}
	for i := range 27 {
		items = append(items, BatchDownloadItem{ObjectKey: fmt.Sprintf("k%d", i)})
	}
	res, err := c.BatchSignedDownloadURLs(bg(), "bkt", items, 10)
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.requests) != 2 || len(rec.requests[0]) != 25 || len(rec.requests[1]) != 5 {
		t.Fatalf("%d requests, want 25 + 5", len(rec.requests))
	}
	if rec.requests[0][1]["If-None-Match"] != "s" || rec.requests[0][2]["response-content-type"] != "text/html" {
		t.Errorf("item fields %v %v", rec.requests[0][1], rec.requests[0][2])
	}
	if !errors.Is(res["gone"].Err, ErrNotFound) || !errors.Is(res["same"].Err, ErrNotModified) {
		t.Errorf("gone %v, same %v", res["gone"].Err, res["same"].Err)
	}
	if err := res["html"].Err; err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("html err %v", err)
	}
	if r := res["k26"]; r.Err != nil || r.Size != 3 || r.Expires.IsZero() {
		t.Errorf("k26 %+v", r)
	}
	if _, err := c.BatchSignedDownloadURLs(bg(), "bkt", []BatchDownloadItem{{ObjectKey: "a"}, {ObjectKey: "a"}}, 0); !errors.Is(err, ErrBadRequest) {
		t.Errorf("duplicate keys: err %v", err)
	}
}
