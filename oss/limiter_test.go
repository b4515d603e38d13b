package oss

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimiterRateAndBurst(t *testing.T) {
	l := newLimiter(1000)
	if l.Burst() != 1000 || l.Limit() != rate.Limit(1000.0/60) {
		t.Fatalf("burst %d limit %v, want a minute's worth at 1000/min", l.Burst(), l.Limit())
	}
	if newLimiter(-1) != nil {
		t.Fatal("a negative budget must disable the limiter")
	}
}

func TestLimiterSpendsTheBurstThenHoldsBack(t *testing.T) {
	var served atomic.Int64
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		writeJSON(w, 200, objectJSON)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.CallsPerMinute = 5 })
	ctx, cancel := context.WithTimeout(bg(), 5*time.Second) // one token takes 12s to refill
	defer cancel()
	for i := range 5 {
		if _, err := c.ObjectDetails(ctx, "bkt", "a", DetailsOptions{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err := c.ObjectDetails(ctx, "bkt", "a", DetailsOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("6th call: err %v, want DeadlineExceeded from the limiter", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the limiter must refuse at once, not wait for the deadline")
	}
	if n := served.Load(); n != 5 {
		t.Fatalf("server saw %d calls, want 5", n)
	}
	if calls := c.Calls(); calls[OpObjectsDetails] != 5 || calls[OpToken] != 1 {
		t.Fatalf("calls %v: the token call is outside the budget, the refused call is not counted", calls)
	}
}
