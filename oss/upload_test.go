package oss

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const partsFailure = `{"uploadKey":"uk","status":"error","reason":"MissingOrInvalidParts",
	"size":{"expected":1,"detected":12582912},
	"parts":[{"part":1,"size":5242880,"eTag":"9aec","status":"Unexpected"},
	         {"part":2,"size":5242880,"eTag":"68ed","status":"Ok"},
	         {"part":3,"size":0,"eTag":"","status":"Pending"}]}`

func TestCompletionStatusErrorWith200IsFailure(t *testing.T) {
	srv := newAPSServer(t, status(200, partsFailure))
	c := newTestClient(t, srv.URL, nil)
	_, err := c.CompleteUpload(bg(), "bkt", "a.bin", CompleteRequest{UploadKey: "uk", Size: 1})
	if !errors.Is(err, ErrInvalidParts) || errors.Is(err, ErrBadRequest) {
		t.Fatalf("err %v, want ErrInvalidParts only", err)
	}
	var ae *APIError
	errors.As(err, &ae)
	if len(ae.Parts) != 3 || ae.Parts[0] != (PartStatus{Part: 1, Size: 5242880, ETag: "9aec", Status: "Unexpected"}) || ae.Parts[2].Status != "Pending" {
		t.Fatalf("parts %+v", ae.Parts)
	}
	if ae.SizeExpected != 1 || ae.SizeDetected != 12582912 {
		t.Fatalf("sizes %d/%d", ae.SizeExpected, ae.SizeDetected)
	}
	if msg := err.Error(); !strings.Contains(msg, "1 Unexpected") || !strings.Contains(msg, "3 Pending") {
		t.Fatalf("message %q does not list the bad parts", msg)
	}
	if n := c.Calls()[OpSignedS3UploadComplete]; n != 1 {
		t.Fatalf("attempts %d, want 1", n)
	}
	if n := c.Calls()[OpObjectsDetails]; n != 0 {
		t.Fatalf("an unretried failure must not be confirmed: %d details calls", n)
	}
}

func TestCompletionStatusErrorWith400(t *testing.T) {
	srv := newAPSServer(t, status(400, partsFailure))
	c := newTestClient(t, srv.URL, nil)
	_, err := c.CompleteUpload(bg(), "bkt", "a.bin", CompleteRequest{UploadKey: "uk", Size: -1})
	var ae *APIError
	if !errors.Is(err, ErrInvalidParts) || !errors.Is(err, ErrBadRequest) || !errors.As(err, &ae) || len(ae.Parts) != 3 {
		t.Fatalf("err %v", err)
	}
}

func TestCompletionRequestShape(t *testing.T) {
	var mu sync.Mutex
	var header http.Header
	var body map[string]any
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		header = r.Header.Clone()
		json.NewDecoder(r.Body).Decode(&body)
		writeJSON(w, 200, `{"bucketKey":"bkt","objectKey":"a.bin","size":12,"contentType":"text/plain"}`)
	})
	c := newTestClient(t, srv.URL, nil)
	o, err := c.CompleteUpload(bg(), "bkt", "a.bin", CompleteRequest{
		UploadKey: "uk==", Size: 12, ETags: []string{`"e1"`, "e2"},
		ContentType: "text/plain", ContentDisposition: "inline", ContentEncoding: "gzip", CacheControl: "max-age=60",
		UserMetadata: `{"a":1}`,
	})
	if err != nil || o.Size != 12 || o.Key != "a.bin" {
		t.Fatalf("object %+v err %v", o, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, want := range map[string]string{
		"x-ads-meta-Content-Type": "text/plain", "x-ads-meta-Content-Disposition": "inline",
		"x-ads-meta-Content-Encoding": "gzip", "x-ads-meta-Cache-Control": "max-age=60",
		"x-ads-user-defined-metadata": `{"a":1}`, "Content-Type": "application/json",
	} {
		if got := header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	tags, _ := json.Marshal(body["eTags"])
	if body["uploadKey"] != "uk==" || body["size"] != float64(12) || string(tags) != `["e1","e2"]` {
		t.Errorf("body %v", body)
	}
}

func TestCompletionOmitsSizeWhenNegative(t *testing.T) {
	var mu sync.Mutex
	var hasSize, hasETags bool
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		_, hasSize = m["size"]
		_, hasETags = m["eTags"]
		mu.Unlock()
		writeJSON(w, 200, objectJSON)
	})
	c := newTestClient(t, srv.URL, nil)
	if _, err := c.CompleteUpload(bg(), "bkt", "a.txt", CompleteRequest{UploadKey: "uk", Size: -1}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hasSize || hasETags {
		t.Fatalf("size sent: %t, eTags sent: %t; want neither", hasSize, hasETags)
	}
}

func TestCompletionUserMetadataValidated(t *testing.T) {
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected call") })
	c := newTestClient(t, srv.URL, nil)
	for _, m := range []string{`{"k":"` + strings.Repeat("x", 95) + `"}`, `[1,2]`, `not json`, `null`} {
		_, err := c.CompleteUpload(bg(), "bkt", "a", CompleteRequest{UploadKey: "uk", Size: 1, UserMetadata: m})
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("metadata %q: err %v, want ErrBadRequest", m, err)
		}
	}
}

// completionServer fails the first completion with first, answers later
// completions with 400 InvalidUploadKey, and serves details with size and
// sha1.
func completionServer(t *testing.T, first http.HandlerFunc, size int64, sha1 string) *apsServer {
	complete := seq(first, status(400, `{"reason":"InvalidUploadKey"}`))
	return newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/details") {
			writeJSON(w, 200, fmt.Sprintf(`{"bucketKey":"bkt","objectKey":"a.bin","size":%d,"sha1":%q}`, size, sha1))
			return
		}
		complete.ServeHTTP(w, r)
	})
}

func TestRetriedCompletionConfirmedThroughDetails(t *testing.T) {
	srv := completionServer(t, hangUp, 12, "33a16388013ce310564af70b0ef5320d8fd85444")
	c := newTestClient(t, srv.URL, nil)
	o, err := c.CompleteUpload(bg(), "bkt", "a.bin", CompleteRequest{UploadKey: "uk", Size: 12, SHA1: "33A16388013CE310564AF70B0EF5320D8FD85444"})
	if err != nil {
		t.Fatalf("err %v, want success confirmed through details", err)
	}
	if o.Size != 12 || o.Key != "a.bin" {
		t.Fatalf("object %+v", o)
	}
	calls := c.Calls()
	if calls[OpSignedS3UploadComplete] != 2 || calls[OpObjectsDetails] != 1 {
		t.Fatalf("calls %v", calls)
	}
}

func TestRetriedCompletionMismatchKeepsError(t *testing.T) {
	for name, tc := range map[string]struct {
		size int64
		sha1 string
		req  CompleteRequest
	}{
		"size differs":   {13, "aa", CompleteRequest{UploadKey: "uk", Size: 12}},
		"sha1 differs":   {12, "bb", CompleteRequest{UploadKey: "uk", Size: 12, SHA1: "aa"}},
		"nothing to cmp": {12, "", CompleteRequest{UploadKey: "uk", Size: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := completionServer(t, status(503, ""), tc.size, tc.sha1)
			c := newTestClient(t, srv.URL, nil)
			_, err := c.CompleteUpload(bg(), "bkt", "a.bin", tc.req)
			if !errors.Is(err, ErrInvalidUploadKey) {
				t.Fatalf("err %v, want ErrInvalidUploadKey", err)
			}
		})
	}
}

func TestSignedUploadURLsRequestAndDecoding(t *testing.T) {
	var mu sync.Mutex
	var q url.Values
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		q = r.URL.Query()
		mu.Unlock()
		writeJSON(w, 200, `{"uploadKey":"uk+/=","uploadExpiration":"2022-01-25T00:00:00Z","urlExpiration":"2022-01-23T21:48:42Z",
			"urls":["https://s3/p?partNumber=3","https://s3/p?partNumber=4"]}`)
	})
	c := newTestClient(t, srv.URL, nil)
	su, err := c.SignedUploadURLs(bg(), "bkt", "a.bin", UploadURLOptions{Parts: 2, FirstPart: 3, UploadKey: "uk+/=", Minutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if q.Get("parts") != "2" || q.Get("firstPart") != "3" || q.Get("uploadKey") != "uk+/=" || q.Get("minutesExpiration") != "10" {
		t.Errorf("query %v", q)
	}
	mu.Unlock()
	if su.FirstPart != 3 || len(su.URLs) != 2 || su.UploadKey != "uk+/=" ||
		!su.UploadExpiration.Equal(time.Date(2022, 1, 25, 0, 0, 0, 0, time.UTC)) || su.URLExpiration.IsZero() {
		t.Errorf("signed upload %+v", su)
	}
	if _, err := c.SignedUploadURLs(bg(), "bkt", "a.bin", UploadURLOptions{Parts: 26}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("26 parts: err %v", err)
	}
	if _, err := c.SignedUploadURLs(bg(), "bkt", "a.bin", UploadURLOptions{Parts: 3}); err == nil {
		t.Errorf("3 parts answered with 2 URLs must fail")
	}
}

// batchRecorder records the requests of a batch endpoint and answers each
// with answer(objectKey, item).
type batchRecorder struct {
	mu       sync.Mutex
	requests [][]map[string]any
	answer   func(key string, item map[string]any) string
}

func (b *batchRecorder) handle(w http.ResponseWriter, r *http.Request) {
	var body struct{ Requests []map[string]any }
	json.NewDecoder(r.Body).Decode(&body)
	b.mu.Lock()
	b.requests = append(b.requests, body.Requests)
	b.mu.Unlock()
	var parts []string
	for _, it := range body.Requests {
		key := it["objectKey"].(string)
		parts = append(parts, fmt.Sprintf("%q:%s", key, b.answer(key, it)))
	}
	writeJSON(w, 200, `{"results":{`+strings.Join(parts, ",")+`}}`)
}

func TestBatchUploadURLsSplitAt25URLs(t *testing.T) {
	rec := &batchRecorder{answer: func(key string, it map[string]any) string {
		if key == "bad" {
			return `{"status":"error","reason":"Object not found"}`
		}
		urls := make([]string, int(it["parts"].(float64)))
		for i := range urls {
			urls[i] = `"https://s3/u"`
		}
		return `{"uploadKey":"uk-` + key + `","urls":[` + strings.Join(urls, ",") + `]}`
	}}
	srv := newAPSServer(t, rec.handle)
	c := newTestClient(t, srv.URL, nil)
	items := []BatchUploadItem{{ObjectKey: "a", Parts: 10}, {ObjectKey: "b", Parts: 10}, {ObjectKey: "c", Parts: 10}, {ObjectKey: "bad"}, {ObjectKey: "d", Parts: 3, FirstPart: 4, UploadKey: "k"}}
	res, err := c.BatchSignedUploadURLs(bg(), "bkt", items, 5)
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.requests) != 2 {
		t.Fatalf("%d requests, want 2", len(rec.requests))
	}
	for i, req := range rec.requests {
		urls := 0
		for _, it := range req {
			urls += int(it["parts"].(float64))
		}
		if urls > 25 {
			t.Errorf("request %d asks for %d URLs", i, urls)
		}
	}
	if len(res["a"].URLs) != 10 || res["d"].FirstPart != 4 || res["d"].UploadKey != "uk-d" || res["a"].Err != nil {
		t.Errorf("results %+v", res)
	}
	if !errors.Is(res["bad"].Err, ErrNotFound) {
		t.Errorf("bad item err %v, want ErrNotFound", res["bad"].Err)
	}
}

func TestBatchCompleteSplitsAt25(t *testing.T) {
	rec := &batchRecorder{answer: func(key string, it map[string]any) string {
		if key == "k7" {
			return `{"status":"error","reason":"InvalidUploadKey"}`
		}
		return fmt.Sprintf(`{"bucketKey":"bkt","objectKey":%q,"size":%v}`, key, it["size"])
	}}
	srv := newAPSServer(t, rec.handle)
	c := newTestClient(t, srv.URL, nil)
	var items []BatchCompleteItem
	for i := range 30 {
		items = append(items, BatchCompleteItem{ObjectKey: fmt.Sprintf("k%d", i),
			CompleteRequest: CompleteRequest{UploadKey: "uk", Size: int64(i), ContentType: "text/plain"}})
	}
	res, err := c.BatchCompleteUpload(bg(), "bkt", items)
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.requests) != 2 || len(rec.requests[0]) != 25 || len(rec.requests[1]) != 5 {
		t.Fatalf("request sizes wrong: %d requests", len(rec.requests))
	}
	if rec.requests[0][0]["x-ads-meta-Content-Type"] != "text/plain" {
		t.Errorf("metadata not sent as body fields: %v", rec.requests[0][0])
	}
	if o := res["k29"].Object; o == nil || o.Size != 29 {
		t.Errorf("k29 %+v", res["k29"])
	}
	if !errors.Is(res["k7"].Err, ErrInvalidUploadKey) {
		t.Errorf("k7 err %v", res["k7"].Err)
	}
	if len(res) != 30 {
		t.Errorf("%d results", len(res))
	}
}
