package emulator

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	ownerID     = "client-a"
	ownerSecret = "secret-a"
	otherID     = "client-b"
	otherSecret = "secret-b"
	allScopes   = "bucket:create bucket:read bucket:delete data:read data:write data:create"
)

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// env is a running emulator with a fake clock.
type env struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	clock *FakeClock
	token string // owner token with allScopes
}

// newEnv starts an emulator; edit adjusts the options first.
func newEnv(t *testing.T, edit func(*Options)) *env {
	t.Helper()
	clock := NewFakeClock(epoch)
	opts := DefaultOptions()
	opts.Clock = clock
	opts.Quota = -1
	opts.Apps = []App{
		{ClientID: ownerID, ClientSecret: ownerSecret},
		{ClientID: otherID, ClientSecret: otherSecret},
		{ClientID: "limited", ClientSecret: "limited-secret", Scopes: []string{"data:read", "bucket:read"}},
	}
	if edit != nil {
		edit(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	e := &env{t: t, srv: srv, http: ts, clock: clock}
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	e.token = e.getToken(ownerID, ownerSecret, allScopes)
	return e
}

// resp is a finished response.
type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d: body %q is not a JSON object: %v", r.StatusCode, r.body, err)
	}
	return m
}

func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}

// do sends a request; body may be nil, []byte, string or any JSON value.
func (e *env) do(method, rawURL, token string, body any, header map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if _, isJSON := body.(map[string]any); isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp{Response: res, body: data}
}

// oss calls an OSS endpoint with the owner token; path is below /oss/v2.
func (e *env) oss(method, path string, body any) resp {
	e.t.Helper()
	return e.do(method, e.http.URL+"/oss/v2"+path, e.token, body, nil)
}

func (e *env) getToken(id, secret, scope string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/authentication/v2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	r := e.send(req).want(e.t, http.StatusOK)
	return r.json(e.t)["access_token"].(string)
}

func (e *env) createBucket(key string) {
	e.t.Helper()
	e.oss(http.MethodPost, "/buckets", map[string]any{"bucketKey": key, "policyKey": "transient"}).want(e.t, http.StatusOK)
}

// objectPath is the OSS path of an object endpoint.
func objectPath(bucketKey, objectKey, suffix string) string {
	p := "/buckets/" + bucketKey + "/objects/" + escapeKey(objectKey)
	if suffix != "" {
		p += "/" + suffix
	}
	return p
}

// startUpload asks for part URLs and returns the answer.
func (e *env) startUpload(bucketKey, objectKey string, query string) map[string]any {
	e.t.Helper()
	p := objectPath(bucketKey, objectKey, "signeds3upload")
	if query != "" {
		p += "?" + query
	}
	return e.oss(http.MethodGet, p, nil).want(e.t, http.StatusOK).json(e.t)
}

// putPart PUTs data to a signed URL and returns the unquoted ETag.
func (e *env) putPart(signedURL string, data []byte) string {
	e.t.Helper()
	r := e.do(http.MethodPut, signedURL, "", data, nil).want(e.t, http.StatusOK)
	return strings.Trim(r.Header.Get("ETag"), `"`)
}

// complete posts the completion of an upload.
func (e *env) complete(bucketKey, objectKey string, body map[string]any, header map[string]string) resp {
	e.t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	return e.do(http.MethodPost, e.http.URL+"/oss/v2"+objectPath(bucketKey, objectKey, "signeds3upload"), e.token, body, h)
}

// upload stores data as one or more parts through HTTP and completes it.
func (e *env) upload(bucketKey, objectKey string, parts ...[]byte) map[string]any {
	e.t.Helper()
	ans := e.startUpload(bucketKey, objectKey, "parts="+strconv.Itoa(len(parts)))
	urls := ans["urls"].([]any)
	var etags []any
	for i, p := range parts {
		etags = append(etags, e.putPart(urls[i].(string), p))
	}
	return e.complete(bucketKey, objectKey, map[string]any{"uploadKey": ans["uploadKey"], "eTags": etags}, nil).
		want(e.t, http.StatusOK).json(e.t)
}

// downloadURL signs a download URL for an object.
func (e *env) downloadURL(bucketKey, objectKey, query string) string {
	e.t.Helper()
	p := objectPath(bucketKey, objectKey, "signeds3download")
	if query != "" {
		p += "?" + query
	}
	return e.oss(http.MethodGet, p, nil).want(e.t, http.StatusOK).json(e.t)["url"].(string)
}

// get downloads a signed URL, optionally with a Range.
func (e *env) get(signedURL, rangeHeader string) resp {
	e.t.Helper()
	var h map[string]string
	if rangeHeader != "" {
		h = map[string]string{"Range": rangeHeader}
	}
	return e.do(http.MethodGet, signedURL, "", nil, h)
}

// pattern returns n computable bytes: byte i depends on i mod 251 (a prime,
// so parts of 5 MiB differ from each other) and on seed.
func pattern(n int, seed byte) []byte {
	block := make([]byte, 251)
	for i := range block {
		block[i] = byte(i*7) ^ seed
	}
	return bytes.Repeat(block, n/251+1)[:n]
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}
