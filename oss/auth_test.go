package oss

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// bearerRecorder answers objectJSON and remembers the bearer tokens seen.
type bearerRecorder struct {
	mu     sync.Mutex
	tokens []string
}

func (b *bearerRecorder) handle(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.tokens = append(b.tokens, r.Header.Get("Authorization"))
	b.mu.Unlock()
	writeJSON(w, 200, objectJSON)
}

func (b *bearerRecorder) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens[len(b.tokens)-1]
}

func TestTokenRequestShape(t *testing.T) {
	var mu sync.Mutex
	var problems []string
	token := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id, secret, ok := r.BasicAuth()
		if !ok || id != testClientID || secret != testSecret {
			problems = append(problems, "bad Basic credentials")
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			problems = append(problems, "content type "+ct)
		}
		if err := r.ParseForm(); err != nil {
			problems = append(problems, err.Error())
		}
		if r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
			problems = append(problems, "method/grant_type")
		}
		if got := r.PostForm.Get("scope"); got != "data:read bucket:read" {
			problems = append(problems, "scope "+got)
		}
		if r.PostForm.Has("client_secret") || r.PostForm.Has("client_id") {
			problems = append(problems, "credentials in body")
		}
		writeJSON(w, 200, `{"access_token":"tok-x","token_type":"Bearer","expires_in":3599}`)
	}
	rec := &bearerRecorder{}
	srv := newAPSServerWithToken(t, token, rec.handle)
	c := newTestClient(t, srv.URL, func(o *Options) { o.Scopes = []string{"data:read", "bucket:read"} })
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("token request: %v", problems)
	}
	if got := rec.last(); got != "Bearer tok-x" {
		t.Fatalf("Authorization %q", got)
	}
}

func TestTokenCachedAndRefreshedAhead(t *testing.T) {
	rec := &bearerRecorder{}
	srv := newAPSServer(t, rec.handle)
	srv.expiresIn.Store(3600)
	clock := newFakeClock()
	c := newTestClient(t, srv.URL, func(o *Options) { o.Now = clock.Now; o.RefreshMargin = 5 * time.Minute })
	stat := func() {
		t.Helper()
		if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stat()
	clock.Advance(54*time.Minute + 59*time.Second)
	stat()
	if n := srv.tokens.Load(); n != 1 {
		t.Fatalf("token calls before the margin: %d, want 1", n)
	}
	clock.Advance(2 * time.Second) // 55m01s: inside the 5-minute margin
	stat()
	if n := srv.tokens.Load(); n != 2 {
		t.Fatalf("token calls after the margin: %d, want 2", n)
	}
	if got := rec.last(); got != "Bearer tok-2" {
		t.Fatalf("Authorization %q, want the refreshed token", got)
	}
	if got := c.Calls()[OpToken]; got != 2 {
		t.Fatalf("Calls()[token] = %d", got)
	}
}

func TestShortLivedTokenRefreshedAtHalfLife(t *testing.T) {
	srv := newAPSServer(t, (&bearerRecorder{}).handle)
	srv.expiresIn.Store(60)
	clock := newFakeClock()
	c := newTestClient(t, srv.URL, func(o *Options) { o.Now = clock.Now })
	for _, step := range []time.Duration{0, 29 * time.Second, 2 * time.Second} {
		clock.Advance(step)
		if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.tokens.Load(); n != 2 {
		t.Fatalf("token calls %d, want 2 (refresh after half of a 60s lifetime)", n)
	}
}

func TestConcurrentCallersShareOneTokenCall(t *testing.T) {
	srv := newAPSServer(t, (&bearerRecorder{}).handle)
	c := newTestClient(t, srv.URL, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			_, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.tokens.Load(); n != 1 {
		t.Fatalf("token calls %d, want 1", n)
	}
}

func TestUnauthorizedRefreshesOnceAndReplays(t *testing.T) {
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			writeJSON(w, 401, `{"developerMessage":"Access token provided is invalid or expired."}`)
			return
		}
		writeJSON(w, 200, objectJSON)
	})
	c := newTestClient(t, srv.URL, nil)
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	calls := c.Calls()
	if calls[OpToken] != 2 || calls[OpObjectsDetails] != 2 {
		t.Fatalf("calls %v, want 2 token and 2 details", calls)
	}
	if len(c.recordedWaits()) != 0 {
		t.Fatalf("a 401 replay must not wait for backoff: %v", c.recordedWaits())
	}
}

func TestSecondUnauthorizedIsReturned(t *testing.T) {
	srv := newAPSServer(t, status(401, `{"developerMessage":"nope","errorCode":"AUTH-010"}`))
	c := newTestClient(t, srv.URL, nil)
	_, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err %v, want ErrUnauthorized", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "AUTH-010" || ae.Op != OpObjectsDetails {
		t.Fatalf("APIError %+v", ae)
	}
	calls := c.Calls()
	if calls[OpToken] != 2 || calls[OpObjectsDetails] != 2 {
		t.Fatalf("calls %v, want 2 token and 2 details", calls)
	}
}

func TestStaticTokenUnauthorizedIsNotRefreshed(t *testing.T) {
	rec := &bearerRecorder{}
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.tokens = append(rec.tokens, r.Header.Get("Authorization"))
		rec.mu.Unlock()
		writeJSON(w, 401, `{}`)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.ClientID, o.ClientSecret, o.AccessToken = "", "", "static-token-123" })
	_, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err %v, want ErrUnauthorized", err)
	}
	if calls := c.Calls(); calls[OpToken] != 0 || calls[OpObjectsDetails] != 1 {
		t.Fatalf("calls %v, want 0 token and 1 details", calls)
	}
	if got := rec.last(); got != "Bearer static-token-123" {
		t.Fatalf("Authorization %q", got)
	}
}

func TestTokenFailureIsRetriedOnceNotPerCall(t *testing.T) {
	token := status(503, `{"developerMessage":"down"}`)
	srv := newAPSServerWithToken(t, token, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("OSS call without a token")
	})
	c := newTestClient(t, srv.URL, nil)
	_, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Op != OpToken || ae.Status != 503 {
		t.Fatalf("err %v, want the token endpoint's 503", err)
	}
	if calls := c.Calls(); calls[OpToken] != 4 || calls[OpObjectsDetails] != 0 {
		t.Fatalf("calls %v, want 4 token attempts (MaxAttempts) and no details", calls)
	}
}

func TestRefreshFailureKeepsLiveToken(t *testing.T) {
	var fail sync.Once
	failing := make(chan struct{})
	token := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-failing:
			writeJSON(w, 500, `{}`)
		default:
			writeJSON(w, 200, `{"access_token":"tok-old","expires_in":3600}`)
		}
	}
	rec := &bearerRecorder{}
	srv := newAPSServerWithToken(t, token, rec.handle)
	clock := newFakeClock()
	c := newTestClient(t, srv.URL, func(o *Options) { o.Now = clock.Now })
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	fail.Do(func() { close(failing) })
	clock.Advance(58 * time.Minute) // due for refresh, not expired
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatalf("with a live token, a failed refresh must not fail the call: %v", err)
	}
	if got := rec.last(); got != "Bearer tok-old" {
		t.Fatalf("Authorization %q", got)
	}
	tokenCalls := c.Calls()[OpToken]
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := c.Calls()[OpToken]; n != tokenCalls {
		t.Fatalf("a failed refresh must be postponed, not repeated on the next call: %d token calls, then %d", tokenCalls, n)
	}
	clock.Advance(3 * time.Minute) // expired
	if _, err := c.ObjectDetails(bg(), "bkt", "a.txt", DetailsOptions{}); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("expired token and failing refresh: err %v", err)
	}
}
