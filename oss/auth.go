package oss

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// defaultTokenLifetime is assumed when a token answer has no expires_in.
const defaultTokenLifetime = 3599 * time.Second

// tokenSource hands out bearer tokens: a static one, or 2-legged tokens that
// are cached and refreshed ahead of expiry. Concurrent callers that find no
// usable token share one refresh.
type tokenSource struct {
	c      *Client
	static string
	group  singleflight.Group

	mu        sync.Mutex
	tok       string    // guarded by mu
	refreshAt time.Time // guarded by mu; refresh from here on
	expiresAt time.Time // guarded by mu; the token is useless from here on
}

func newTokenSource(c *Client) *tokenSource {
	s := &tokenSource{c: c}
	if c.opts.ClientID == "" {
		s.static = c.opts.AccessToken
	}
	return s
}

// refreshable reports whether a rejected token can be replaced.
func (s *tokenSource) refreshable() bool { return s.static == "" }

// current returns the token in use, for redaction.
func (s *tokenSource) current() string {
	if s.static != "" {
		return s.static
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok
}

// token returns a token that is not due for refresh, fetching one if needed.
// The shared fetch is detached from any single caller's cancellation; each
// caller stops waiting when its own ctx ends.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	if s.static != "" {
		return s.static, nil
	}
	if tok, fresh, _ := s.cached(); fresh {
		return tok, nil
	}
	ch := s.group.DoChan("token", func() (any, error) {
		return s.refresh(context.WithoutCancel(ctx))
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// cached returns the cached token, whether it is fresh (before refreshAt)
// and whether it is still usable (before expiresAt).
func (s *tokenSource) cached() (tok string, fresh, usable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == "" {
		return "", false, false
	}
	now := s.c.opts.Now()
	return s.tok, now.Before(s.refreshAt), now.Before(s.expiresAt)
}

// refresh runs inside the single flight. It re-checks the cache (a flight
// that just ended may have filled it) and, if the token endpoint fails while
// the old token has not expired yet, keeps using the old one.
func (s *tokenSource) refresh(ctx context.Context) (string, error) {
	old, fresh, usable := s.cached()
	if fresh {
		return old, nil
	}
	tok, err := s.fetch(ctx)
	if err != nil && usable {
		s.c.log.WarnContext(ctx, "oss token refresh failed; using the current token until it expires", "op", OpToken, "err", err)
		s.postpone(old)
		return old, nil
	}
	return tok, err
}

// postpone moves the next refresh of tok halfway to its expiry, so a failing
// token endpoint is not asked again on every call.
func (s *tokenSource) postpone(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == tok {
		now := s.c.opts.Now()
		s.refreshAt = now.Add(s.expiresAt.Sub(now) / 2)
	}
}

// invalidate forgets tok after a 401, unless a newer token replaced it.
func (s *tokenSource) invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == tok {
		s.tok = ""
	}
}

// fetch asks the token endpoint for a 2-legged token, with retries.
// Credentials travel only in the Basic header.
func (s *tokenSource) fetch(ctx context.Context) (string, error) {
	c := s.c
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Join(c.opts.Scopes, " ")}}
	r := &request{
		op: OpToken, method: http.MethodPost, path: "/authentication/v2/token",
		body: []byte(form.Encode()), ctype: "application/x-www-form-urlencoded",
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.opts.ClientID+":"+c.opts.ClientSecret))
	issued := c.opts.Now()
	var res *response
	err := c.withRetry(ctx, OpToken, "", func(ctx context.Context, _ int) error {
		var err error
		res, err = c.send(ctx, r, basic)
		return err
	})
	if err != nil {
		return "", err
	}
	var w wireToken
	if err := decodeJSON(OpToken, res.body, &w); err != nil {
		return "", err
	}
	if w.AccessToken == "" {
		return "", errors.New("oss: token: answer has no access_token")
	}
	s.store(w.AccessToken, issued, expiresIn(w.ExpiresIn))
	c.log.DebugContext(ctx, "oss token issued", "op", OpToken, "expires_in", expiresIn(w.ExpiresIn))
	return w.AccessToken, nil
}

// store caches tok. It is refreshed RefreshMargin before expiry, but never
// before half its lifetime (short-lived emulator tokens stay useful).
func (s *tokenSource) store(tok string, issued time.Time, lifetime time.Duration) {
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	margin := min(s.c.opts.RefreshMargin, lifetime/2)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = tok
	s.refreshAt = issued.Add(lifetime - margin)
	s.expiresAt = issued.Add(lifetime)
}
