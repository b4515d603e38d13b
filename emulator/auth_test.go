package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func tokenRequest(e *env, form url.Values, contentType string, basic []string) resp {
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/authentication/v2/token", strings.NewReader(form.Encode()))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if basic != nil {
		req.SetBasicAuth(basic[0], basic[1])
	}
	return e.send(req)
}

func TestTokenSuccess(t *testing.T) {
	e := newEnv(t, nil)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"data:read bucket:read"}}
	r := tokenRequest(e, form, "application/x-www-form-urlencoded", []string{ownerID, ownerSecret}).want(t, http.StatusOK)
	body := r.json(t)
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(3599) || body["access_token"] == "" {
		t.Fatalf("token body %v", body)
	}
	// Credentials in the body work too.
	form.Set("client_id", otherID)
	form.Set("client_secret", otherSecret)
	tokenRequest(e, form, "application/x-www-form-urlencoded; charset=utf-8", nil).want(t, http.StatusOK)
}

func TestTokenFailures(t *testing.T) {
	e := newEnv(t, nil)
	good := url.Values{"grant_type": {"client_credentials"}, "scope": {"data:read"}}
	withBody := url.Values{"grant_type": {"client_credentials"}, "client_id": {ownerID}, "client_secret": {ownerSecret}}
	tests := []struct {
		name   string
		form   url.Values
		ctype  string
		basic  []string
		status int
		code   string
	}{
		{"wrong content type", good, "application/json", []string{ownerID, ownerSecret}, 415, "AUTH-007"},
		{"both header and body", withBody, "application/x-www-form-urlencoded", []string{ownerID, ownerSecret}, 400, ""},
		{"no credentials", good, "application/x-www-form-urlencoded", nil, 400, "AUTH-008"},
		{"bad secret", good, "application/x-www-form-urlencoded", []string{ownerID, "nope"}, 401, "AUTH-001"},
		{"unknown client", good, "application/x-www-form-urlencoded", []string{"who", "nope"}, 401, "AUTH-001"},
		{"no grant type", url.Values{"scope": {"data:read"}}, "application/x-www-form-urlencoded", []string{ownerID, ownerSecret}, 400, ""},
		{"unknown scope", url.Values{"grant_type": {"client_credentials"}, "scope": {"data:fly"}},
			"application/x-www-form-urlencoded", []string{ownerID, ownerSecret}, 400, ""},
		{"scope not allowed", url.Values{"grant_type": {"client_credentials"}, "scope": {"data:write"}},
			"application/x-www-form-urlencoded", []string{"limited", "limited-secret"}, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tokenRequest(e, tt.form, tt.ctype, tt.basic).want(t, tt.status)
			body := r.json(t)
			if body["developerMessage"] == "" {
				t.Errorf("no developerMessage in %v", body)
			}
			if tt.code != "" && body["errorCode"] != tt.code {
				t.Errorf("errorCode %v, want %s", body["errorCode"], tt.code)
			}
		})
	}
}

func TestBasicSchemeMustBeCapitalised(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/authentication/v2/token",
		strings.NewReader("grant_type=client_credentials&scope=data:read"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ownerID, ownerSecret)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "Basic", "basic", 1))
	e.send(req).want(t, http.StatusUnauthorized)
}

func TestTokenExpiryAndMissingBearer(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.TokenLifetime = 10 * time.Minute })
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	e.clock.Advance(10*time.Minute - time.Second)
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	e.clock.Advance(time.Second)
	r := e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusUnauthorized)
	if !strings.Contains(r.json(t)["developerMessage"].(string), "Access token provided is invalid or expired.") {
		t.Errorf("401 body %s", r.body)
	}
	e.do(http.MethodGet, e.http.URL+"/oss/v2/buckets", "", nil, nil).want(t, http.StatusUnauthorized)
	e.do(http.MethodGet, e.http.URL+"/oss/v2/buckets", "made-up", nil, nil).want(t, http.StatusUnauthorized)
}

func TestScopeForbidden(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("scoped")
	readOnly := e.getToken(ownerID, ownerSecret, "data:read bucket:read")
	r := e.do(http.MethodGet, e.http.URL+"/oss/v2"+objectPath("scoped", "a", "signeds3upload"), readOnly, nil, nil).
		want(t, http.StatusForbidden)
	if r.json(t)["errorCode"] != "AUTH-010" {
		t.Errorf("403 body %s", r.body)
	}
	e.do(http.MethodPost, e.http.URL+"/oss/v2/buckets", readOnly,
		map[string]any{"bucketKey": "nope", "policyKey": "transient"}, nil).want(t, http.StatusForbidden)
	e.do(http.MethodGet, e.http.URL+"/oss/v2/buckets/scoped/objects", readOnly, nil, nil).want(t, http.StatusOK)
}

func TestOverwriteNeedsDataWrite(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("ovr")
	createOnly := e.getToken(ownerID, ownerSecret, "data:create data:read")
	// Creating a new object with data:create alone works ...
	r := e.do(http.MethodGet, e.http.URL+"/oss/v2"+objectPath("ovr", "new", "signeds3upload"), createOnly, nil, nil).
		want(t, http.StatusOK)
	ans := r.json(t)
	etag := e.putPart(ans["urls"].([]any)[0].(string), []byte("x"))
	e.do(http.MethodPost, e.http.URL+"/oss/v2"+objectPath("ovr", "new", "signeds3upload"), createOnly,
		map[string]any{"uploadKey": ans["uploadKey"], "eTags": []string{etag}}, nil).want(t, http.StatusOK)
	// ... overwriting it does not.
	e.do(http.MethodGet, e.http.URL+"/oss/v2"+objectPath("ovr", "new", "signeds3upload"), createOnly, nil, nil).
		want(t, http.StatusForbidden)
	e.do(http.MethodPut, e.http.URL+"/oss/v2"+objectPath("ovr", "new", "copyto/new"), createOnly, nil, nil).
		want(t, http.StatusForbidden)
	e.do(http.MethodPut, e.http.URL+"/oss/v2"+objectPath("ovr", "new", "copyto/other"), createOnly, nil, nil).
		want(t, http.StatusOK)
}
