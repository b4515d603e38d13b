package oss

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const signature = "5ec7e75e1f0f5a1ee1c1d4d8e1e1d1"

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func assertClean(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s leaks %q:\n%s", what, s, text)
		}
	}
}

func TestSignedURLFailuresAreRedacted(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hangUpSrv := s3Server(t, hangUp)
	echo := s3Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		io.WriteString(w, `<Error><Code>SignatureDoesNotMatch</Code><Message>bad X-Amz-Signature=`+signature+
			` in X-Amz-Credential=AKIAEXAMPLE</Message><StringToSign>`+signature+`</StringToSign></Error>`)
	})
	c := newTestClient(t, "http://unused.invalid", func(o *Options) { o.Logger = logger })
	secrets := []string{signature, "AKIAEXAMPLE", "X-Amz-Date="}

	_, err := c.Download(bg(), hangUpSrv.URL+"/obj"+signedQuery, 0, -1)
	if err == nil || !strings.Contains(err.Error(), "/obj") {
		t.Fatalf("err %v, want a network error naming the path", err)
	}
	assertClean(t, "network error", err.Error(), secrets...)
	_, err = c.UploadPart(bg(), hangUpSrv.URL+"/up"+signedQuery, strings.NewReader("x"), 1)
	if err == nil {
		t.Fatal("upload to a hanging-up server succeeded")
	}
	assertClean(t, "upload error", err.Error(), secrets...)
	_, err = c.Download(bg(), echo.URL+"/obj"+signedQuery, 0, -1)
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("err %v", err)
	}
	assertClean(t, "S3 error", err.Error(), secrets...)
	_, err = c.Download(bg(), "https://h/%zz"+signedQuery, 0, -1)
	if err == nil {
		t.Fatal("unparseable URL accepted")
	}
	assertClean(t, "parse error", err.Error(), secrets...)
	assertClean(t, "logs", logs.String(), secrets...)
	if !strings.Contains(logs.String(), "op=s3.download") {
		t.Fatalf("no per-call debug lines logged:\n%s", logs.String())
	}
}

func TestTokenFailureIsRedacted(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testClientID + ":" + testSecret))
	token := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, `{"developerMessage":"bad client secret `+testSecret+` in Basic `+basic+`","errorCode":"AUTH-001"}`)
	}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newAPSServerWithToken(t, token, func(w http.ResponseWriter, r *http.Request) {})
	c := newTestClient(t, srv.URL, func(o *Options) { o.Logger = logger })
	_, err := c.ObjectDetails(bg(), "bkt", "a", DetailsOptions{})
	if err == nil || !strings.Contains(err.Error(), "AUTH-001") {
		t.Fatalf("err %v", err)
	}
	assertClean(t, "token error", err.Error(), testSecret, basic)
	assertClean(t, "logs", logs.String(), testSecret, basic)
}

func TestBearerTokenNeverLogged(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, `{"developerMessage":"token `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+` is expired"}`)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.Logger = logger })
	_, err := c.ObjectDetails(bg(), "bkt", "a", DetailsOptions{})
	if err == nil {
		t.Fatal("want 401")
	}
	assertClean(t, "error", err.Error(), "tok-2")
	assertClean(t, "logs", logs.String(), "tok-1", "tok-2", testSecret)
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"https://user:pw@h.example/p/a%2Fb?X-Amz-Signature=x#frag": "https://h.example/p/a%2Fb",
		"https://h/%zz?X-Amz-Signature=x":                          "https://h/%zz",
		"/relative?q=1":                                            "/relative",
	}
	for in, want := range tests {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
