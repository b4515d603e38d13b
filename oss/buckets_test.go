package oss

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestCreateBucketSendsBothRegionHeaders(t *testing.T) {
	var mu sync.Mutex
	var region, adsRegion string
	var body map[string]any
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		region, adsRegion = r.Header.Get("region"), r.Header.Get("x-ads-region")
		json.NewDecoder(r.Body).Decode(&body)
		writeJSON(w, 200, `{"bucketKey":"bkt","bucketOwner":"me","createdDate":1463785698600,
			"permissions":[{"authId":"me","access":"full"}],"policyKey":"transient"}`)
	})
	c := newTestClient(t, srv.URL, nil)
	b, err := c.CreateBucket(bg(), CreateBucketRequest{Key: "bkt", Policy: "transient", Region: "EMEA",
		Allow: []Permission{{AuthID: "other", Access: "read"}}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if region != "EMEA" || adsRegion != "EMEA" {
		t.Errorf("region %q x-ads-region %q", region, adsRegion)
	}
	if body["bucketKey"] != "bkt" || body["policyKey"] != "transient" || body["allow"] == nil {
		t.Errorf("body %v", body)
	}
	if b.Owner != "me" || b.Policy != "transient" || len(b.Permissions) != 1 || !b.CreatedDate.Equal(time.UnixMilli(1463785698600)) {
		t.Errorf("bucket %+v", b)
	}
}

func TestRetriedCreateBucketConflictConfirmedThroughDetails(t *testing.T) {
	create := seq(status(502, ""), status(409, `{"reason":"Bucket already exists"}`))
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			create.ServeHTTP(w, r)
			return
		}
		writeJSON(w, 200, `{"bucketKey":"bkt","bucketOwner":"me","policyKey":"transient"}`)
	})
	c := newTestClient(t, srv.URL, nil)
	b, err := c.CreateBucket(bg(), CreateBucketRequest{Key: "bkt", Policy: "transient"})
	if err != nil || b.Owner != "me" {
		t.Fatalf("bucket %+v err %v", b, err)
	}
	if n := c.Calls()[OpBucketsDetails]; n != 1 {
		t.Fatalf("details calls %d", n)
	}
	srv2 := newAPSServer(t, status(409, `{"reason":"Bucket already exists"}`))
	c2 := newTestClient(t, srv2.URL, nil)
	if _, err := c2.CreateBucket(bg(), CreateBucketRequest{Key: "bkt", Policy: "transient"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("first-attempt 409: err %v, want ErrConflict", err)
	}
	if n := c2.Calls()[OpBucketsDetails]; n != 0 {
		t.Fatalf("details calls %d after an unretried conflict", n)
	}
}

func TestListBucketsReaddsRegionAndLimit(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		n := len(uris)
		mu.Unlock()
		if n == 1 {
			writeJSON(w, 200, `{"items":[{"bucketKey":"b1","createdDate":1440119769765,"policyKey":"transient"}],
				"next":"https://developer.api.autodesk.com/oss/v2/buckets?startAt=000e37cc"}`)
			return
		}
		writeJSON(w, 200, `{"items":[{"bucketKey":"b2","policyKey":"persistent"}]}`)
	})
	c := newTestClient(t, srv.URL, nil)
	bs, err := c.ListBuckets(bg(), "EMEA")
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].Key != "b1" || bs[1].Policy != "persistent" {
		t.Fatalf("buckets %+v", bs)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/oss/v2/buckets?region=EMEA&limit=100", "/oss/v2/buckets?startAt=000e37cc&region=EMEA&limit=100"}
	if len(uris) != 2 || uris[0] != want[0] || uris[1] != want[1] {
		t.Fatalf("URIs %q, want %q", uris, want)
	}
}

func TestDeleteBucketRetriedConflictIsSuccess(t *testing.T) {
	srv := newAPSServer(t, seq(status(500, ""), status(409, `{"reason":"already marked for deletion"}`)).ServeHTTP)
	c := newTestClient(t, srv.URL, nil)
	if err := c.DeleteBucket(bg(), "bkt"); err != nil {
		t.Fatal(err)
	}
}
