package oss

import (
	"errors"
	"net/http"
	"sync"
	"testing"
)

func TestEncodeKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain.txt", "plain.txt"},
		{"dir/file", "dir%2Ffile"},
		{"a+b", "a%2Bb"},
		{"a b", "a%20b"},
		{"100%", "100%25"},
		{"x#y?z", "x%23y%3Fz"},
		{"é€", "%C3%A9%E2%82%AC"},
		{"~keep-_.", "~keep-_."},
		{"a&b=c:d@e$f!", "a%26b%3Dc%3Ad%40e%24f%21"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := EncodeKey(tt.in); got != tt.want {
			t.Errorf("EncodeKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// requestURIRecorder answers objectJSON and remembers every RequestURI.
type requestURIRecorder struct {
	mu   sync.Mutex
	uris []string
}

func (rec *requestURIRecorder) handle(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.uris = append(rec.uris, r.RequestURI)
	rec.mu.Unlock()
	writeJSON(w, 200, objectJSON)
}

func (rec *requestURIRecorder) last() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.uris[len(rec.uris)-1]
}

func TestEscapedPathReachesTheWire(t *testing.T) {
	rec := &requestURIRecorder{}
	srv := newAPSServer(t, rec.handle)
	c := newTestClient(t, srv.URL, nil)
	if _, err := c.ObjectDetails(bg(), "bkt", "dir/a b+c%#?.txt", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "/oss/v2/buckets/bkt/objects/dir%2Fa%20b%2Bc%25%23%3F.txt/details"
	if got := rec.last(); got != want {
		t.Fatalf("request URI %q, want %q", got, want)
	}
	if _, err := c.CopyObject(bg(), "bkt", "a/x", "b y"); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.last(), "/oss/v2/buckets/bkt/objects/a%2Fx/copyto/b%20y"; got != want {
		t.Fatalf("copy URI %q, want %q", got, want)
	}
}

func TestEndpointPathPrefixIsKept(t *testing.T) {
	rec := &requestURIRecorder{}
	srv := newAPSServer(t, rec.handle)
	c := newTestClient(t, srv.URL+"/aps/", nil)
	if _, err := c.ObjectDetails(bg(), "bkt", "k/1", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.last(), "/aps/oss/v2/buckets/bkt/objects/k%2F1/details"; got != want {
		t.Fatalf("request URI %q, want %q", got, want)
	}
}

func TestInvalidKeysRejectedBeforeSending(t *testing.T) {
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected call %s", r.URL) })
	c := newTestClient(t, srv.URL, nil)
	for _, bucket := range []string{"UPPER", "ab", "../etc", "a/b"} {
		if _, err := c.ObjectDetails(bg(), bucket, "k", DetailsOptions{}); !errors.Is(err, ErrBadRequest) {
			t.Errorf("bucket %q: err %v, want ErrBadRequest", bucket, err)
		}
	}
	if _, err := c.ObjectDetails(bg(), "bkt", "", DetailsOptions{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("empty object key: err %v, want ErrBadRequest", err)
	}
	if n := len(c.Calls()); n != 0 {
		t.Fatalf("calls %v, want none", c.Calls())
	}
}
