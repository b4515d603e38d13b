package emulator

import (
	"crypto/subtle"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// grant is what a token stands for.
type grant struct {
	clientID string
	scopes   []string
	expires  time.Time
}

func (g grant) has(scope string) bool { return slices.Contains(g.scopes, scope) }

func (g grant) hasAny(scopes []string) bool {
	return slices.ContainsFunc(scopes, g.has)
}

// tokenTable remembers issued tokens (in memory only: after a restart every
// token is unknown, and clients get 401 and fetch a new one).
type tokenTable struct {
	mu     sync.Mutex
	tokens map[string]grant // guarded by mu
}

func newTokenTable() *tokenTable {
	return &tokenTable{tokens: make(map[string]grant)}
}

// issue stores g under a new opaque token, forgetting expired ones.
func (t *tokenTable) issue(g grant, now time.Time) string {
	token := base64.RawURLEncoding.EncodeToString(randomBytes(48))
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, old := range t.tokens {
		if !now.Before(old.expires) {
			delete(t.tokens, k)
		}
	}
	t.tokens[token] = g
	return token
}

// lookup returns the grant of a token that has not expired at now.
func (t *tokenTable) lookup(token string, now time.Time) (grant, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.tokens[token]
	return g, ok && now.Before(g.expires)
}

// tokenResponse is the body of a successful token call.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// handleToken serves POST /authentication/v2/token (client credentials).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, _ *call) {
	form, ok := readTokenForm(w, r)
	if !ok {
		return
	}
	app, ok := s.authenticateApp(w, r, form)
	if !ok {
		return
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		writeGateway(w, http.StatusBadRequest, "", "Unsupported or missing grant_type: use client_credentials.")
		return
	}
	scopes, ok := grantScopes(w, app, form.Get("scope"))
	if !ok {
		return
	}
	now := s.clock.Now()
	token := s.tokens.issue(grant{clientID: app.ClientID, scopes: scopes, expires: now.Add(s.opts.TokenLifetime)}, now)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: token, TokenType: "Bearer",
		ExpiresIn: int(s.opts.TokenLifetime / time.Second)})
}

// readTokenForm checks the content type and parses the form body.
func readTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		writeGateway(w, http.StatusUnsupportedMediaType, "AUTH-007",
			"Content-Type header is missing or invalid; use application/x-www-form-urlencoded.")
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		writeGateway(w, http.StatusBadRequest, "", "The request body could not be read.")
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeGateway(w, http.StatusBadRequest, "", "The request body is not a valid form.")
		return nil, false
	}
	return form, true
}

// authenticateApp finds the calling app from Basic credentials or the form.
func (s *Server) authenticateApp(w http.ResponseWriter, r *http.Request, form url.Values) (App, bool) {
	header := r.Header.Get("Authorization")
	inBody := form.Has("client_id") || form.Has("client_secret")
	var id, secret string
	switch {
	case header != "" && inBody:
		writeGateway(w, http.StatusBadRequest, "",
			"Client credentials were sent both in the Authorization header and in the body; send them once.")
		return App{}, false
	case header != "":
		var ok bool
		if id, secret, ok = parseBasic(header); !ok {
			writeGateway(w, http.StatusUnauthorized, "", "The Authorization header must be 'Basic base64(client_id:client_secret)'.")
			return App{}, false
		}
	case form.Get("client_id") == "" || form.Get("client_secret") == "":
		writeGateway(w, http.StatusBadRequest, "AUTH-008", "The client_id and client_secret parameters are required.")
		return App{}, false
	default:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	return s.checkSecret(w, id, secret)
}

// parseBasic parses "Basic base64(id:secret)"; "Basic" must be capitalised.
func parseBasic(header string) (id, secret string, ok bool) {
	enc, found := strings.CutPrefix(header, "Basic ")
	if !found {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

func (s *Server) checkSecret(w http.ResponseWriter, id, secret string) (App, bool) {
	for _, app := range s.opts.Apps {
		if app.ClientID == id && subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(secret)) == 1 {
			return app, true
		}
	}
	writeGateway(w, http.StatusUnauthorized, "AUTH-001", "The client_id and client_secret combination is not valid.")
	return App{}, false
}

// grantScopes checks the requested scopes against the app's.
func grantScopes(w http.ResponseWriter, app App, requested string) ([]string, bool) {
	var scopes []string
	for _, scope := range strings.Fields(requested) {
		switch {
		case !isKnownScope(scope):
			writeGateway(w, http.StatusBadRequest, "", "The requested scope is invalid, unknown, or malformed: "+scope)
			return nil, false
		case len(app.Scopes) > 0 && !slices.Contains(app.Scopes, scope):
			writeGateway(w, http.StatusForbidden, "", "The client is not allowed the requested scope: "+scope)
			return nil, false
		case !slices.Contains(scopes, scope):
			scopes = append(scopes, scope)
		}
	}
	return scopes, true
}

// authorize checks an OSS call: bearer token (401), scope (403), quota
// (429), in that order. Calls refused here do not count against the quota.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, c *call) bool {
	token, ok := bearerToken(r)
	var g grant
	if ok {
		g, ok = s.tokens.lookup(token, s.clock.Now())
	}
	if !ok {
		writeGateway(w, http.StatusUnauthorized, "", msgInvalidToken)
		return false
	}
	if !g.hasAny(endpointScopes[c.endpoint]) {
		writeGateway(w, http.StatusForbidden, "AUTH-010", msgNoPrivileges)
		return false
	}
	if ok, wait := s.quota.admit(g.clientID); !ok {
		writeQuotaExceeded(w, retryAfterSeconds(wait))
		return false
	}
	c.grant = g
	return true
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// canOverwrite answers 403 (gateway AUTH-010) when the object exists and the
// token lacks data:write, and reports whether the caller may go on.
func (s *Server) canOverwrite(w http.ResponseWriter, c *call, bucketKey, objectKey string) bool {
	if s.mayWrite(c, bucketKey, objectKey) {
		return true
	}
	writeGateway(w, http.StatusForbidden, "AUTH-010", msgNoPrivileges)
	return false
}

// mayWrite reports whether the call may create or replace the object.
func (s *Server) mayWrite(c *call, bucketKey, objectKey string) bool {
	if c.grant.has("data:write") {
		return true
	}
	_, err := s.store.Object(bucketKey, objectKey)
	return err != nil
}
