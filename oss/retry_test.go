package oss

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfterIsHonoured(t *testing.T) {
	throttled := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		writeJSON(w, 429, `{"developerMessage":"Quota limit exceeded."}`)
	}
	srv := newAPSServer(t, seq(throttled, throttled, status(200, objectJSON)).ServeHTTP)
	c := newTestClient(t, srv.URL, nil)
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := c.Calls()[OpObjectsDetails]; n != 3 {
		t.Fatalf("attempts %d, want 3", n)
	}
	waits := c.recordedWaits()
	if len(waits) != 2 {
		t.Fatalf("waits %v, want 2", waits)
	}
	for _, w := range waits {
		if w < 3*time.Second {
			t.Errorf("wait %v shorter than Retry-After 3s (MaxDelay is only 4ms)", w)
		}
	}
}

func TestRetryAfterIsBounded(t *testing.T) {
	throttled := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "86400")
		writeJSON(w, 429, `{}`)
	}
	srv := newAPSServer(t, seq(throttled, status(200, objectJSON)).ServeHTTP)
	c := newTestClient(t, srv.URL, nil)
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	if waits := c.recordedWaits(); len(waits) != 1 || waits[0] != maxRetryAfter {
		t.Fatalf("waits %v, want [%v]", waits, maxRetryAfter)
	}
}

func TestRetryAfterBeyondDeadlineGivesUpAtOnce(t *testing.T) {
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		writeJSON(w, 429, `{"developerMessage":"Quota limit exceeded."}`)
	})
	c := newTestClient(t, srv.URL, nil)
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	defer cancel()
	_, err := c.ObjectDetails(ctx, "bkt", "a.txt", DetailsOptions{})
	var ae *APIError
	if !errors.Is(err, ErrThrottled) || !errors.As(err, &ae) || ae.RetryAfter != time.Minute {
		t.Fatalf("err %v, want ErrThrottled with RetryAfter 1m", err)
	}
	if n := c.Calls()[OpObjectsDetails]; n != 1 || len(c.recordedWaits()) != 0 {
		t.Fatalf("attempts %d waits %v, want 1 attempt and no wait", n, c.recordedWaits())
	}
}

func TestServerErrorsRetriedThenSuccess(t *testing.T) {
	srv := newAPSServer(t, seq(status(503, `{}`), status(502, "<html>bad gateway</html>"), status(504, ""), status(200, objectJSON)).ServeHTTP)
	c := newTestClient(t, srv.URL, nil)
	o, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Size != 12 {
		t.Fatalf("size %d", o.Size)
	}
	if n := c.Calls()[OpObjectsDetails]; n != 4 {
		t.Fatalf("attempts %d, want 4", n)
	}
}

func TestClientErrorsNotRetried(t *testing.T) {
	for _, code := range []int{400, 403, 404, 409, 412} {
		srv := newAPSServer(t, status(code, `{"reason":"no"}`))
		c := newTestClient(t, srv.URL, nil)
		_, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{})
		if statusOf(err) != code {
			t.Errorf("%d: err %v", code, err)
		}
		if n := c.Calls()[OpObjectsDetails]; n != 1 {
			t.Errorf("%d: attempts %d, want 1", code, n)
		}
	}
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	srv := newAPSServer(t, status(500, `{"reason":"boom"}`))
	c := newTestClient(t, srv.URL, nil)
	_, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{})
	if statusOf(err) != 500 {
		t.Fatalf("err %v, want the last 500", err)
	}
	if n := c.Calls()[OpObjectsDetails]; n != 4 {
		t.Fatalf("attempts %d, want MaxAttempts 4", n)
	}
}

func TestBackoffIsExponentialCappedAndJittered(t *testing.T) {
	srv := newAPSServer(t, status(503, `{}`))
	c := newTestClient(t, srv.URL, func(o *Options) {
		o.Retry = RetryPolicy{MaxAttempts: 6, BaseDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond}
	})
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); statusOf(err) != 503 {
		t.Fatalf("err %v", err)
	}
	want := []time.Duration{100, 200, 400, 400, 400}
	waits := c.recordedWaits()
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %d", waits, len(want))
	}
	for i, w := range waits {
		base := want[i] * time.Millisecond
		lo, hi := base*8/10, min(base*12/10, 400*time.Millisecond)
		if w < lo || w > hi {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, lo, hi)
		}
	}
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	srv := newAPSServer(t, seq(hang, status(200, objectJSON)).ServeHTTP)
	c := newTestClient(t, srv.URL, func(o *Options) { o.Retry.AttemptTimeout = 100 * time.Millisecond })
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := c.Calls()[OpObjectsDetails]; n != 2 {
		t.Fatalf("attempts %d, want 2", n)
	}
}

func TestCanceledContextIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(bg())
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	c := newTestClient(t, srv.URL, nil)
	_, err := c.ObjectDetails(ctx, "bkt", "a.txt", DetailsOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n := c.Calls()[OpObjectsDetails]; n != 1 {
		t.Fatalf("attempts %d, want 1", n)
	}
}

func TestConnectionResetIsRetried(t *testing.T) {
	// POST is not replayed by net/http itself, so both attempts are ours.
	s := seq(hangUp, status(200, `{"bucketKey":"bkt","policyKey":"transient"}`))
	srv := newAPSServer(t, s.ServeHTTP)
	c := newTestClient(t, srv.URL, nil)
	b, err := c.CreateBucket(bg(), CreateBucketRequest{Key: "bkt", Policy: "transient"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Key != "bkt" {
		t.Fatalf("bucket %+v", b)
	}
	if n, seen := c.Calls()[OpBucketsCreate], s.n.Load(); n != 2 || seen != 2 {
		t.Fatalf("attempts %d, server saw %d; want 2 and 2", n, seen)
	}
}
