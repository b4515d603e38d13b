package oss

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const signedQuery = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20210120&X-Amz-Date=20210120T152914Z&X-Amz-Expires=120&X-Amz-Signature=5ec7e75e1f0f5a1ee1c1d4d8e1e1d1"

const expiredXML = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message><X-Amz-Expires>120</X-Amz-Expires><RequestId>REQ123</RequestId></Error>`

// s3Server is a test S3 endpoint that fails when it sees Authorization.
func s3Server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("Authorization sent to a signed URL")
		}
		if !strings.Contains(r.URL.RawQuery, "X-Amz-Signature=") {
			t.Errorf("signed query lost: %q", r.URL.RawQuery)
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var objectBytes = []byte("0123456789abcdefghijklmnopqrstuvwxyz")

// serveRange answers a Range request on objectBytes like S3.
func serveRange(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("ETag", `"etag-1"`)
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(objectBytes))
}

func TestDownloadRange(t *testing.T) {
	var mu sync.Mutex
	var ranges []string
	s3 := s3Server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		serveRange(w, r)
	})
	c := newTestClient(t, "http://unused.invalid", nil)
	cases := []struct {
		off, n                int64
		wantRange, wantBody   string
		wantLength, wantTotal int64
	}{
		{10, 5, "bytes=10-14", "abcde", 5, 36},
		{30, -1, "bytes=30-", "uvwxyz", 6, 36},
		{0, -1, "", string(objectBytes), 36, 36},
		{0, 4, "bytes=0-3", "0123", 4, 36},
	}
	for i, tc := range cases {
		dr, err := c.Download(bg(), s3.URL+"/obj"+signedQuery, tc.off, tc.n)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		body, err := io.ReadAll(dr.Body)
		dr.Body.Close()
		if err != nil || string(body) != tc.wantBody || dr.Length != tc.wantLength || dr.Total != tc.wantTotal || dr.Offset != tc.off {
			t.Errorf("case %d: body %q err %v length %d total %d", i, body, err, dr.Length, dr.Total)
		}
		if dr.ETag != "etag-1" {
			t.Errorf("case %d: ETag %q, want unquoted", i, dr.ETag)
		}
		mu.Lock()
		if got := ranges[len(ranges)-1]; got != tc.wantRange {
			t.Errorf("case %d: Range %q, want %q", i, got, tc.wantRange)
		}
		mu.Unlock()
	}
	if calls := c.Calls(); calls[OpS3Download] != int64(len(cases)) || calls[OpToken] != 0 {
		t.Errorf("calls %v", calls)
	}
}

func TestDownloadRejectsMismatchedRanges(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"wrong start": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-4/36")
			w.WriteHeader(206)
			w.Write(objectBytes[:5])
		},
		"too long": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 10-20/36")
			w.WriteHeader(206)
			w.Write(objectBytes[10:21])
		},
		"200 to a range at an offset": func(w http.ResponseWriter, r *http.Request) {
			w.Write(objectBytes)
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := newTestClient(t, "http://unused.invalid", nil)
			if dr, err := c.Download(bg(), s3Server(t, h).URL+"/o"+signedQuery, 10, 5); err == nil {
				dr.Body.Close()
				t.Fatal("mismatched answer accepted")
			}
			if n := c.Calls()[OpS3Download]; n != 1 {
				t.Fatalf("attempts %d, want 1 (not retryable)", n)
			}
		})
	}
}

func TestDownload403IsURLExpired(t *testing.T) {
	s3 := s3Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(403)
		io.WriteString(w, expiredXML)
	})
	c := newTestClient(t, "http://unused.invalid", nil)
	_, err := c.Download(bg(), s3.URL+"/o"+signedQuery, 0, -1)
	var ae *APIError
	if !errors.Is(err, ErrURLExpired) || errors.Is(err, ErrAccessDenied) || !errors.As(err, &ae) {
		t.Fatalf("err %v, want ErrURLExpired only", err)
	}
	if ae.Code != "AccessDenied" || ae.Reason != "AccessDenied: Request has expired" || ae.RequestID != "REQ123" || ae.Op != OpS3Download {
		t.Fatalf("APIError %+v", ae)
	}
	if n := c.Calls()[OpS3Download]; n != 1 {
		t.Fatalf("attempts %d, want 1", n)
	}
}

func TestDownloadRetriesUntilHeaders(t *testing.T) {
	slowDown := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		io.WriteString(w, `<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>`)
	}
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	s := seq(slowDown, hang, serveRange)
	s3 := s3Server(t, s.ServeHTTP)
	c := newTestClient(t, "http://unused.invalid", func(o *Options) { o.Retry.AttemptTimeout = 100 * time.Millisecond })
	dr, err := c.Download(bg(), s3.URL+"/o"+signedQuery, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer dr.Body.Close()
	if body, _ := io.ReadAll(dr.Body); string(body) != "234" {
		t.Fatalf("body %q", body)
	}
	if n := c.Calls()[OpS3Download]; n != 3 {
		t.Fatalf("attempts %d, want 3", n)
	}
}

func TestDownloadBodyOutlivesAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	s3 := s3Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "6")
		w.WriteHeader(200)
		w.Write([]byte("abc"))
		w.(http.Flusher).Flush()
		<-release
		w.Write([]byte("def"))
	})
	c := newTestClient(t, "http://unused.invalid", func(o *Options) { o.Retry.AttemptTimeout = 50 * time.Millisecond })
	dr, err := c.Download(bg(), s3.URL+"/o"+signedQuery, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer dr.Body.Close()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(dr.Body, buf); err != nil {
		t.Fatal(err)
	}
	// Wait past the attempt timeout on a timer that the test owns, then let
	// the server finish: the body must still be readable.
	<-time.After(150 * time.Millisecond)
	close(release)
	rest, err := io.ReadAll(dr.Body)
	if err != nil || string(rest) != "def" {
		t.Fatalf("rest %q err %v", rest, err)
	}
}

func TestDownloadIsNotRateLimited(t *testing.T) {
	srv := newAPSServer(t, status(200, objectJSON))
	s3 := s3Server(t, serveRange)
	c := newTestClient(t, srv.URL, func(o *Options) { o.CallsPerMinute = 1 })
	if _, err := c.ObjectDetails(bg(), "bkt", "a", DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg(), 5*time.Second)
	defer cancel()
	for range 3 {
		dr, err := c.Download(ctx, s3.URL+"/o"+signedQuery, 0, 1)
		if err != nil {
			t.Fatalf("download after the OSS budget is spent: %v", err)
		}
		dr.Body.Close()
	}
	if _, err := c.ObjectDetails(ctx, "bkt", "a", DetailsOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second OSS call: err %v, want the limiter to refuse within the deadline", err)
	}
}

func TestUploadPartRereadsBodyOnRetry(t *testing.T) {
	part := bytes.Repeat([]byte("part-data-"), 1000)
	var mu sync.Mutex
	var bodies [][]byte
	var lengths []string
	attempt := 0
	s3 := s3Server(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, body)
		lengths = append(lengths, r.Header.Get("Content-Length"))
		if len(r.TransferEncoding) > 0 {
			t.Errorf("Transfer-Encoding %v", r.TransferEncoding)
		}
		attempt++
		if attempt == 1 {
			w.WriteHeader(500)
			io.WriteString(w, `<Error><Code>InternalError</Code></Error>`)
			return
		}
		w.Header().Set("ETag", `"9aec28c3d07e2978e6502f6427c515da"`)
	})
	c := newTestClient(t, "http://unused.invalid", nil)
	eTag, err := c.UploadPart(bg(), s3.URL+"/up?uploadId=u&partNumber=1&"+signedQuery[1:], bytes.NewReader(part), int64(len(part)))
	if err != nil {
		t.Fatal(err)
	}
	if eTag != "9aec28c3d07e2978e6502f6427c515da" {
		t.Fatalf("ETag %q, want unquoted", eTag)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d attempts, want 2", len(bodies))
	}
	for i, b := range bodies {
		if !bytes.Equal(b, part) || lengths[i] != strconv.Itoa(len(part)) {
			t.Errorf("attempt %d: %d bytes, Content-Length %q", i, len(b), lengths[i])
		}
	}
	if n := c.Calls()[OpS3Upload]; n != 2 {
		t.Fatalf("calls %d", n)
	}
}

func TestUploadPartEmptyAndExpired(t *testing.T) {
	var mu sync.Mutex
	var lengths []string
	s3 := s3Server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lengths = append(lengths, r.Header.Get("Content-Length"))
		n := len(lengths)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
			return
		}
		w.WriteHeader(403)
		io.WriteString(w, expiredXML)
	})
	c := newTestClient(t, "http://unused.invalid", nil)
	if _, err := c.UploadPart(bg(), s3.URL+"/up"+signedQuery, bytes.NewReader(nil), 0); err != nil {
		t.Fatal(err)
	}
	_, err := c.UploadPart(bg(), s3.URL+"/up"+signedQuery, bytes.NewReader([]byte("x")), 1)
	if !errors.Is(err, ErrURLExpired) {
		t.Fatalf("err %v, want ErrURLExpired", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if lengths[0] != "0" || len(lengths) != 2 {
		t.Fatalf("Content-Length headers %q (an empty part must still send 0; a 403 is not retried)", lengths)
	}
}

func TestUploadPartStallIsRetried(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a closed connection only once the body is read
		<-r.Context().Done()
	}
	ok := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("ETag", `"e"`)
	}
	s3 := s3Server(t, seq(hang, ok).ServeHTTP)
	c := newTestClient(t, "http://unused.invalid", func(o *Options) { o.Retry.AttemptTimeout = 100 * time.Millisecond })
	eTag, err := c.UploadPart(bg(), s3.URL+"/up"+signedQuery, strings.NewReader("abc"), 3)
	if err != nil || eTag != "e" {
		t.Fatalf("eTag %q err %v", eTag, err)
	}
	if n := c.Calls()[OpS3Upload]; n != 2 {
		t.Fatalf("attempts %d, want 2", n)
	}
}
