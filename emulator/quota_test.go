package emulator

import (
	"net/http"
	"testing"
	"time"
)

func TestQuota(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Quota = 3 })
	e.srv.CreateBucket("quota", "transient", "", ownerID)
	e.srv.PutObject("quota", "k", []byte("data"), "")
	url := e.downloadURL("quota", "k", "") // call 1
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	e.clock.Advance(20 * time.Second)
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK) // call 3, at +20 s
	r := e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusTooManyRequests)
	if got := r.Header.Get("Retry-After"); got != "40" {
		t.Errorf("Retry-After %q, want 40 (first call leaves the window in 40 s)", got)
	}
	if r.json(t)["developerMessage"] != "Quota limit exceeded." {
		t.Errorf("429 body %s", r.body)
	}
	// Signed URLs and the token endpoint are not OSS calls.
	e.get(url, "").want(t, http.StatusOK)
	e.getToken(ownerID, ownerSecret, "data:read")
	// Other apps have their own budget.
	other := e.getToken(otherID, otherSecret, "bucket:read")
	e.do(http.MethodGet, e.http.URL+"/oss/v2/buckets", other, nil, nil).want(t, http.StatusOK)

	e.clock.Advance(40 * time.Second) // calls 1 and 2 age out
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	r = e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusTooManyRequests)
	if got := r.Header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After %q, want 20", got)
	}
	if n := e.srv.Stats().Calls[EndpointBucketsList]; n != 7 {
		t.Errorf("stats count %d buckets.list calls, want 7 (429s included)", n)
	}
}

func TestQuotaRejectedCallsDoNotCount(t *testing.T) {
	q := newQuota(1, time.Minute, NewFakeClock(epoch))
	if ok, _ := q.admit("a"); !ok {
		t.Fatal("first call refused")
	}
	for range 5 {
		if ok, wait := q.admit("a"); ok || wait != time.Minute {
			t.Fatalf("admit = %v, %v; want refused with 1m", ok, wait)
		}
	}
	if retryAfterSeconds(1500*time.Millisecond) != 2 || retryAfterSeconds(0) != 1 {
		t.Error("retryAfterSeconds must round up to at least 1")
	}
}
