package emulator

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignedDownloadAnswer(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("dl1")
	data := pattern(1234, 5)
	e.srv.PutObject("dl1", "a/b.txt", data, "text/plain")
	r := e.oss(http.MethodGet, objectPath("dl1", "a/b.txt", "signeds3download?minutesExpiration=3&response-cache-control=no-cache"), nil).
		want(t, http.StatusOK)
	body := r.json(t)
	params := body["params"].(map[string]any)
	if body["status"] != "complete" || body["size"] != float64(1234) || len(body["sha1"].(string)) != 40 ||
		params["content-type"] != "text/plain" || params["content-disposition"] != `attachment; filename="a/b.txt"` {
		t.Errorf("answer %v", body)
	}
	u, _ := url.Parse(body["url"].(string))
	q := u.Query()
	if !strings.HasPrefix(u.Path, "/s3/download/") || q.Get("X-Amz-Expires") != "180" ||
		q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-Date") != "20250102T030405Z" ||
		q.Get("X-Amz-Credential") != "EMULATOR/20250102/us-east-1/s3/aws4_request" || len(q.Get("X-Amz-Signature")) != 64 {
		t.Errorf("url %s", u)
	}
	got := e.get(u.String(), "").want(t, http.StatusOK)
	if !bytes.Equal(got.body, data) || got.Header.Get("Cache-Control") != "no-cache" ||
		got.Header.Get("Content-Disposition") != `attachment; filename="a/b.txt"` || got.Header.Get("ETag") != `"`+md5hex(data)+`"` {
		t.Errorf("GET headers %v", got.Header)
	}
	// If-None-Match against sha1.
	e.do(http.MethodGet, e.http.URL+"/oss/v2"+objectPath("dl1", "a/b.txt", "signeds3download"), e.token, nil,
		map[string]string{"If-None-Match": body["sha1"].(string)}).want(t, http.StatusNotModified)
	for _, q := range []string{"minutesExpiration=0", "minutesExpiration=61", "useCdn=perhaps"} {
		e.oss(http.MethodGet, objectPath("dl1", "a/b.txt", "signeds3download?"+q), nil).want(t, http.StatusBadRequest)
	}
	e.oss(http.MethodGet, objectPath("dl1", "missing", "signeds3download"), nil).want(t, http.StatusNotFound)
}

func TestRanges(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("rng")
	data := pattern(1000, 7)
	e.srv.PutObject("rng", "r", data, "")
	e.srv.PutObject("rng", "empty", nil, "")
	u := e.downloadURL("rng", "r", "")
	tests := []struct {
		header       string
		status       int
		start, end   int // inclusive, for 206/200
		contentRange string
	}{
		{"bytes=0-9", 206, 0, 9, "bytes 0-9/1000"},
		{"bytes=990-2000", 206, 990, 999, "bytes 990-999/1000"},
		{"bytes=500-", 206, 500, 999, "bytes 500-999/1000"},
		{"bytes=-100", 206, 900, 999, "bytes 900-999/1000"},
		{"bytes=-5000", 206, 0, 999, "bytes 0-999/1000"},
		{"bytes=1000-", 416, 0, 0, "bytes */1000"},
		{"bytes=-0", 416, 0, 0, "bytes */1000"},
		{"bytes=5-2", 200, 0, 999, ""},
		{"bytes=0-1,5-6", 200, 0, 999, ""},
		{"items=0-1", 200, 0, 999, ""},
	}
	for _, tt := range tests {
		r := e.get(u, tt.header).want(t, tt.status)
		if got := r.Header.Get("Content-Range"); got != tt.contentRange {
			t.Errorf("%s: Content-Range %q, want %q", tt.header, got, tt.contentRange)
		}
		if tt.status == 416 {
			if !strings.Contains(string(r.body), "<Code>InvalidRange</Code>") {
				t.Errorf("%s: body %s", tt.header, r.body)
			}
			continue
		}
		if !bytes.Equal(r.body, data[tt.start:tt.end+1]) || r.ContentLength != int64(tt.end-tt.start+1) {
			t.Errorf("%s: got %d bytes", tt.header, len(r.body))
		}
	}
	ue := e.downloadURL("rng", "empty", "")
	e.get(ue, "bytes=0-").want(t, http.StatusRequestedRangeNotSatisfiable)
	if r := e.get(ue, "").want(t, http.StatusOK); len(r.body) != 0 {
		t.Error("empty object has bytes")
	}
}

func TestSignedURLExpiryAndTamper(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("exp")
	e.srv.PutObject("exp", "x", []byte("hello"), "")
	u := e.downloadURL("exp", "x", "minutesExpiration=1")
	e.get(u, "").want(t, http.StatusOK)
	for _, tampered := range []string{
		strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=6000", 1),
		strings.Replace(u, "response-content-type=", "response-content-type=text%2Fhtml", 1),
		u + "&extra=1",
		strings.Replace(u, "/s3/download/", "/s3/download/A", 1),
	} {
		r := e.get(tampered, "").want(t, http.StatusForbidden)
		if !strings.Contains(string(r.body), "<Code>SignatureDoesNotMatch</Code>") {
			t.Errorf("tampered body %s", r.body)
		}
	}
	e.do(http.MethodPut, u, "", []byte("x"), nil).want(t, http.StatusForbidden)
	e.clock.Advance(time.Minute)
	e.get(u, "").want(t, http.StatusOK) // still valid at exactly X-Amz-Date + X-Amz-Expires
	e.clock.Advance(time.Second)
	r := e.get(u, "").want(t, http.StatusForbidden)
	for _, want := range []string{"<Code>AccessDenied</Code>", "<Message>Request has expired</Message>",
		"<X-Amz-Expires>60</X-Amz-Expires>", "<Expires>2025-01-02T03:05:05Z</Expires>",
		"<ServerTime>2025-01-02T03:05:06Z</ServerTime>", "<RequestId>", "<HostId>"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("expired body lacks %s: %s", want, r.body)
		}
	}
}

func TestDownloadURLFollowsObject(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("follow")
	e.srv.PutObject("follow", "f", []byte("version one"), "")
	u := e.downloadURL("follow", "f", "minutesExpiration=60")
	first := e.get(u, "").want(t, http.StatusOK)
	e.srv.PutObject("follow", "f", []byte("version two!"), "")
	second := e.get(u, "").want(t, http.StatusOK)
	if string(second.body) != "version two!" || second.Header.Get("ETag") == first.Header.Get("ETag") {
		t.Errorf("after replace: %q %s", second.body, second.Header.Get("ETag"))
	}
	// Conditional GETs on the S3 ETag.
	e.do(http.MethodGet, u, "", nil, map[string]string{"If-Match": first.Header.Get("ETag")}).want(t, http.StatusPreconditionFailed)
	e.do(http.MethodGet, u, "", nil, map[string]string{"If-None-Match": second.Header.Get("ETag")}).want(t, http.StatusNotModified)
	e.srv.DeleteObject("follow", "f")
	r := e.get(u, "").want(t, http.StatusNotFound)
	if !strings.Contains(string(r.body), "<Code>NoSuchKey</Code>") {
		t.Errorf("deleted body %s", r.body)
	}
}

func TestReaderKeepsOldVersion(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) Store{
		"mem":  func(*testing.T) Store { return NewMemStore() },
		"disk": func(t *testing.T) Store { s, err := NewDiskStore(t.TempDir()); must(t, err); return s },
	} {
		t.Run(name, func(t *testing.T) {
			st := mk(t)
			defer st.Close()
			must(t, st.CreateBucket(Bucket{Key: "bkt", Owner: ownerID}))
			_, err := st.PutObject(Object{BucketKey: "bkt", ObjectKey: "k"}, strings.NewReader("old bytes"))
			must(t, err)
			_, blob, err := st.OpenObject("bkt", "k")
			must(t, err)
			defer blob.Close()
			_, err = st.PutObject(Object{BucketKey: "bkt", ObjectKey: "k"}, strings.NewReader("NEW BYTES, longer"))
			must(t, err)
			must(t, st.DeleteObject("bkt", "k"))
			buf := make([]byte, blob.Size())
			if _, err := blob.ReadAt(buf, 0); err != nil || string(buf) != "old bytes" {
				t.Errorf("old reader sees %q, %v", buf, err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDetailsCopyDelete(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("cpd")
	e.srv.PutObject("cpd", "src", []byte("copy me"), "text/x")
	d := e.oss(http.MethodGet, objectPath("cpd", "src", "details?with=createdDate,lastModifiedDate&with=lastAccessedDate"), nil).
		want(t, http.StatusOK).json(t)
	if d["createdDate"] != float64(epoch.UnixMilli()) || d["lastAccessedDate"] == nil || d["size"] != float64(7) {
		t.Errorf("details %v", d)
	}
	e.do(http.MethodGet, e.http.URL+"/oss/v2"+objectPath("cpd", "src", "details"), e.token, nil,
		map[string]string{"If-Modified-Since": epoch.Format(http.TimeFormat)}).want(t, http.StatusNotModified)
	e.do(http.MethodGet, e.http.URL+"/oss/v2"+objectPath("cpd", "src", "details"), e.token, nil,
		map[string]string{"If-Modified-Since": epoch.Add(-time.Second).Format(http.TimeFormat)}).want(t, http.StatusOK)

	e.clock.Advance(30 * time.Minute)
	c := e.oss(http.MethodPut, objectPath("cpd", "src", "copyto/"+escapeKey("dir/dst")), nil).want(t, http.StatusOK).json(t)
	if c["objectKey"] != "dir/dst" || c["sha1"] != d["sha1"] || c["contentType"] != "text/x" || c["size"] != float64(7) {
		t.Errorf("copy body %v", c)
	}
	got := e.get(e.downloadURL("cpd", "dir/dst", ""), "").want(t, http.StatusOK)
	if string(got.body) != "copy me" {
		t.Errorf("copy bytes %q", got.body)
	}
	e.oss(http.MethodPut, objectPath("cpd", "nope", "copyto/x"), nil).want(t, http.StatusNotFound)

	r := e.oss(http.MethodDelete, objectPath("cpd", "src", ""), nil).want(t, http.StatusOK)
	if len(r.body) != 0 || r.Header.Get("Content-Length") != "0" {
		t.Errorf("delete answered %q", r.body)
	}
	e.oss(http.MethodDelete, objectPath("cpd", "src", ""), nil).want(t, http.StatusNotFound)
	e.oss(http.MethodGet, objectPath("cpd", "src", "details"), nil).want(t, http.StatusNotFound)
	// The copy is independent of the source.
	e.get(e.downloadURL("cpd", "dir/dst", ""), "").want(t, http.StatusOK)
}
