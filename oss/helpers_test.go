package oss

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID = "test-client-id"
	testSecret   = "s3cr3t-client-secret-value"
)

// apsServer is a scripted APS: a token endpoint that issues "tok-1",
// "tok-2", … and a handler for everything else.
type apsServer struct {
	*httptest.Server
	tokens       atomic.Int64
	expiresIn    atomic.Int64     // seconds; default 3599
	tokenHandler http.HandlerFunc // nil: the default token endpoint
	oss          http.HandlerFunc
}

func newAPSServer(t *testing.T, oss http.HandlerFunc) *apsServer {
	t.Helper()
	return newAPSServerWithToken(t, nil, oss)
}

// newAPSServerWithToken replaces the token endpoint with token (nil: default).
func newAPSServerWithToken(t *testing.T, token, oss http.HandlerFunc) *apsServer {
	t.Helper()
	s := &apsServer{oss: oss, tokenHandler: token}
	s.expiresIn.Store(3599)
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *apsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/authentication/v2/token") {
		s.oss(w, r)
		return
	}
	if s.tokenHandler != nil {
		s.tokenHandler(w, r)
		return
	}
	n := s.tokens.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, s.expiresIn.Load())
}

// testClient is a Client on a test server whose backoff waits are recorded
// and skipped.
type testClient struct {
	*Client
	mu    sync.Mutex
	waits []time.Duration // guarded by mu
}

func newTestClient(t *testing.T, endpoint string, mutate func(*Options)) *testClient {
	t.Helper()
	opts := Options{
		Endpoint:       endpoint,
		ClientID:       testClientID,
		ClientSecret:   testSecret,
		CallsPerMinute: -1,
		Retry:          RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, AttemptTimeout: 5 * time.Second},
	}
	if mutate != nil {
		mutate(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tc := &testClient{Client: c}
	c.waitHook = func(_ string, d time.Duration) time.Duration {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		tc.waits = append(tc.waits, d)
		return 0
	}
	return tc
}

func (tc *testClient) recordedWaits() []time.Duration {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([]time.Duration(nil), tc.waits...)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// writeJSON answers status with a JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// sequence answers the n-th call (from 0) with steps[n], repeating the last.
type sequence struct {
	n     atomic.Int64
	steps []http.HandlerFunc
}

func (s *sequence) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1) - 1)
	s.steps[min(i, len(s.steps)-1)](w, r)
}

func seq(steps ...http.HandlerFunc) *sequence { return &sequence{steps: steps} }

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, code, body) }
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

const objectJSON = `{"bucketKey":"bkt","objectKey":"a.txt","objectId":"urn:adsk.objects:os.object:bkt/a.txt","sha1":"33a16388013ce310564af70b0ef5320d8fd85444","size":12,"contentType":"text/plain","location":"x"}`

func bg() context.Context { return context.Background() }
