package emulator

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const mib = 1 << 20

func TestMultipartUploadThreeParts(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("mp1")
	parts := [][]byte{pattern(5*mib, 1), pattern(5*mib, 2), pattern(1000, 3)}
	ans := e.startUpload("mp1", "big.bin", "parts=3&minutesExpiration=5")
	key := ans["uploadKey"].(string)
	if len(key) < 200 || !strings.HasSuffix(key, "=") || strings.ContainsAny(key, "+/") {
		t.Errorf("uploadKey %q: want long URL-safe base64 with padding", key)
	}
	if ans["uploadExpiration"] != epoch.Add(24*time.Hour).Format(time.RFC3339) ||
		ans["urlExpiration"] != epoch.Add(5*time.Minute).Format(time.RFC3339) {
		t.Errorf("expirations %v %v", ans["uploadExpiration"], ans["urlExpiration"])
	}
	urls := ans["urls"].([]any)
	for i, u := range urls {
		pu, _ := url.Parse(u.(string))
		if pu.Query().Get("partNumber") != fmt.Sprint(i+1) || pu.Query().Get("X-Amz-Expires") != "300" ||
			len(pu.Query().Get("X-Amz-Signature")) != 64 || !strings.HasPrefix(pu.Path, "/s3/upload/signed-url-uploads/") {
			t.Errorf("url %d: %s", i, u)
		}
	}
	// Part 3 first, part 1 twice (the second replaces the first).
	e3 := e.putPart(urls[2].(string), parts[2])
	e.putPart(urls[0].(string), pattern(5*mib, 9))
	e1 := e.putPart(urls[0].(string), parts[0])
	e2 := e.putPart(urls[1].(string), parts[1])
	if e1 != md5hex(parts[0]) {
		t.Errorf("part ETag %s, want md5 %s", e1, md5hex(parts[0]))
	}
	// Not visible before completion.
	e.oss(http.MethodGet, objectPath("mp1", "big.bin", "details"), nil).want(t, http.StatusNotFound)
	whole := bytes.Join(parts, nil)
	r := e.complete("mp1", "big.bin", map[string]any{"uploadKey": key, "size": len(whole), "eTags": []string{e1, `"` + e2 + `"`, e3}},
		map[string]string{"x-ads-meta-Content-Type": "application/x-thing"}).want(t, http.StatusOK)
	body := r.json(t)
	if body["size"] != float64(len(whole)) || body["contentType"] != "application/x-thing" ||
		body["objectId"] != "urn:adsk.objects:os.object:mp1/big.bin" {
		t.Errorf("complete body %v", body)
	}
	if _, has := body["sha1"]; has {
		t.Error("complete body must not carry sha1")
	}
	sum := sha1.Sum(whole)
	details := e.oss(http.MethodGet, objectPath("mp1", "big.bin", "details"), nil).json(t)
	if details["sha1"] != hex.EncodeToString(sum[:]) {
		t.Errorf("sha1 %v", details["sha1"])
	}
	got := e.get(e.downloadURL("mp1", "big.bin", ""), "").want(t, http.StatusOK)
	if !bytes.Equal(got.body, whole) {
		t.Fatal("downloaded bytes differ")
	}
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	if want := fmt.Sprintf(`"%x-3"`, h.Sum(nil)); got.Header.Get("ETag") != want {
		t.Errorf("ETag %s, want %s", got.Header.Get("ETag"), want)
	}
	// The uploadKey is spent.
	e.complete("mp1", "big.bin", map[string]any{"uploadKey": key}, nil).want(t, http.StatusBadRequest)
	r = e.do(http.MethodPut, urls[0].(string), "", []byte("x"), nil).want(t, http.StatusNotFound)
	if !strings.Contains(string(r.body), "<Code>NoSuchUpload</Code>") {
		t.Errorf("part after completion: %s", r.body)
	}
	e.oss(http.MethodGet, objectPath("mp1", "big.bin", "signeds3upload?uploadKey="+url.QueryEscape(key)), nil).
		want(t, http.StatusBadRequest)
}

// failedComplete posts a completion expected to fail validation.
func failedComplete(t *testing.T, e *env, objectKey string, body map[string]any) map[string]any {
	t.Helper()
	r := e.complete("mpv", objectKey, body, nil).want(t, http.StatusBadRequest)
	m := r.json(t)
	if m["status"] != "error" || m["reason"] != "MissingOrInvalidParts" || m["uploadKey"] != body["uploadKey"] {
		t.Fatalf("failure body %s", r.body)
	}
	return m
}

func partStatuses(m map[string]any) string {
	var out []string
	for _, p := range m["parts"].([]any) {
		out = append(out, p.(map[string]any)["status"].(string))
	}
	return strings.Join(out, ",")
}

func TestCompleteValidation(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("mpv")
	ans := e.startUpload("mpv", "v", "parts=3")
	key, urls := ans["uploadKey"], ans["urls"].([]any)
	small := pattern(1000, 1)
	eSmall := e.putPart(urls[0].(string), small)
	e3 := e.putPart(urls[2].(string), small)

	m := failedComplete(t, e, "v", map[string]any{"uploadKey": key})
	if got := partStatuses(m); got != "TooSmall,Pending,Ok" {
		t.Errorf("statuses %s", got)
	}
	if m["size"] != float64(2000) {
		t.Errorf("size %v, want detected 2000", m["size"])
	}
	e2 := e.putPart(urls[1].(string), pattern(5*mib, 2))
	m = failedComplete(t, e, "v", map[string]any{"uploadKey": key, "eTags": []string{eSmall, e2, md5hex([]byte("no"))}})
	if got := partStatuses(m); got != "TooSmall,Ok,Unexpected" {
		t.Errorf("statuses %s", got)
	}
	m = failedComplete(t, e, "v", map[string]any{"uploadKey": key, "eTags": []string{e2, e2, e3}})
	if got := partStatuses(m); got != "Unexpected+TooSmall,Ok,Ok" {
		t.Errorf("statuses %s", got)
	}
	big := e.putPart(urls[0].(string), pattern(5*mib, 1))
	m = failedComplete(t, e, "v", map[string]any{"uploadKey": key, "size": 1, "eTags": []string{big, e2, e3}})
	size := m["size"].(map[string]any)
	if size["expected"] != float64(1) || size["detected"] != float64(10*mib+1000) || partStatuses(m) != "Ok,Ok,Ok" {
		t.Errorf("size mismatch body %v", m)
	}
	// Unknown uploadKey.
	r := e.complete("mpv", "v", map[string]any{"uploadKey": "AAAA"}, nil).want(t, http.StatusBadRequest)
	if r.json(t)["reason"] != "InvalidUploadKey" {
		t.Errorf("body %s", r.body)
	}
	// Key of another object.
	e.complete("mpv", "other", map[string]any{"uploadKey": key}, nil).want(t, http.StatusBadRequest)
	// Wrong content type.
	e.do(http.MethodPost, e.http.URL+"/oss/v2"+objectPath("mpv", "v", "signeds3upload"), e.token,
		`{"uploadKey":"x"}`, map[string]string{"Content-Type": "text/plain"}).want(t, http.StatusBadRequest)
	// And finally it completes.
	e.complete("mpv", "v", map[string]any{"uploadKey": key, "size": 10*mib + 1000}, nil).want(t, http.StatusOK)
}

func TestUploadKeyReuseAndExpiry(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("reuse")
	ans := e.startUpload("reuse", "r", "")
	key := ans["uploadKey"].(string)
	more := e.startUpload("reuse", "r", "firstPart=2&parts=2&uploadKey="+url.QueryEscape(key))
	if more["uploadKey"] != key {
		t.Errorf("reused key not echoed")
	}
	u, _ := url.Parse(more["urls"].([]any)[1].(string))
	if u.Query().Get("partNumber") != "3" {
		t.Errorf("second URL is part %s, want 3", u.Query().Get("partNumber"))
	}
	e.putPart(ans["urls"].([]any)[0].(string), []byte("one"))
	e.clock.Advance(24 * time.Hour)
	e.token = e.getToken(ownerID, ownerSecret, allScopes)
	e.oss(http.MethodGet, objectPath("reuse", "r", "signeds3upload?uploadKey="+url.QueryEscape(key)), nil).
		want(t, http.StatusBadRequest)
	e.complete("reuse", "r", map[string]any{"uploadKey": key}, nil).want(t, http.StatusBadRequest)
	// Fresh URLs for the dead upload cannot store parts either (the URL is
	// signed now, but the upload is gone).
	e.startUpload("reuse", "r2", "") // sweeps expired uploads
	if _, err := e.srv.store.Upload(mustUploadID(t, key)); err == nil {
		t.Error("expired upload not swept")
	}
}

func mustUploadID(t *testing.T, key string) string {
	id, ok := uploadIDFromKey(key)
	if !ok {
		t.Fatalf("bad key %q", key)
	}
	return id
}

func TestUploadParamValidation(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("params")
	for _, q := range []string{"parts=26", "parts=0", "parts=x", "firstPart=0", "firstPart=10000&parts=2",
		"minutesExpiration=0", "minutesExpiration=61", "useAcceleration=maybe", "useAcceleration=1",
		"uploadKey=garbage"} {
		e.oss(http.MethodGet, objectPath("params", "p", "signeds3upload?"+q), nil).want(t, http.StatusBadRequest)
	}
	ans := e.startUpload("params", "p", "parts=25&useAcceleration=false")
	if n := len(ans["urls"].([]any)); n != 25 {
		t.Errorf("%d urls", n)
	}
	e.oss(http.MethodGet, objectPath("nobucket", "p", "signeds3upload"), nil).want(t, http.StatusNotFound)
}

func TestMetadataServedAndLimited(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("meta")
	ans := e.startUpload("meta", "m.txt", "")
	etag := e.putPart(ans["urls"].([]any)[0].(string), []byte("hello"))
	body := map[string]any{"uploadKey": ans["uploadKey"], "eTags": []string{etag}}
	long := `{"k":"` + strings.Repeat("v", 92) + `"}` // 100 bytes
	e.complete("meta", "m.txt", body, map[string]string{"x-ads-user-defined-metadata": long}).want(t, http.StatusBadRequest)
	e.complete("meta", "m.txt", body, map[string]string{"x-ads-user-defined-metadata": "[1]"}).want(t, http.StatusBadRequest)
	e.complete("meta", "m.txt", body, map[string]string{
		"x-ads-meta-Content-Type":        "text/plain",
		"x-ads-meta-Content-Disposition": "inline",
		"x-ads-meta-Content-Encoding":    "identity",
		"x-ads-meta-Cache-Control":       "max-age=60",
		"x-ads-user-defined-metadata":    `{"k":"v"}`,
	}).want(t, http.StatusOK)
	r := e.get(e.downloadURL("meta", "m.txt", ""), "").want(t, http.StatusOK)
	for h, want := range map[string]string{"Content-Type": "text/plain", "Content-Disposition": "inline",
		"Content-Encoding": "identity", "Cache-Control": "max-age=60", "Accept-Ranges": "bytes",
		"Last-Modified": epoch.Format(http.TimeFormat), "ETag": onePartETag([]byte("hello"))} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	d := e.oss(http.MethodGet, objectPath("meta", "m.txt", "details?with=userDefinedMetadata&with=createdDate"), nil).json(t)
	if d["userDefinedMetadata"] != `{"k":"v"}` || d["createdDate"] != float64(epoch.UnixMilli()) {
		t.Errorf("details %v", d)
	}
	if _, has := d["lastModifiedDate"]; has {
		t.Error("lastModifiedDate not requested but present")
	}
}

// onePartETag is the S3 ETag of a one-part multipart upload of data.
func onePartETag(data []byte) string {
	inner := md5.Sum(data)
	outer := md5.Sum(inner[:])
	return fmt.Sprintf(`"%x-1"`, outer)
}

func TestPartPutWithoutContentLength(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("parts")
	u, _ := url.Parse(e.startUpload("parts", "p", "")["urls"].([]any)[0].(string))
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", u.RequestURI(), u.Host)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusLengthRequired || !strings.Contains(string(data), "MissingContentLength") {
		t.Errorf("status %d body %s", res.StatusCode, data)
	}
}

func TestPartPutRules(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("parts")
	ans := e.startUpload("parts", "p", "parts=2")
	u := ans["urls"].([]any)[0].(string)
	// Chunked transfer encoding: 501.
	req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader("abc"))
	req.ContentLength = -1
	r := e.send(req).want(t, http.StatusNotImplemented)
	if !strings.Contains(string(r.body), "<Header>Transfer-Encoding</Header>") {
		t.Errorf("501 body %s", r.body)
	}
	// Content-MD5.
	data := []byte("payload")
	good := md5.Sum(data)
	bad := md5.Sum([]byte("other"))
	r = e.do(http.MethodPut, u, "", data, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(bad[:])}).
		want(t, http.StatusBadRequest)
	if !strings.Contains(string(r.body), "<Code>BadDigest</Code>") {
		t.Errorf("bad digest body %s", r.body)
	}
	e.do(http.MethodPut, u, "", data, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(good[:])}).
		want(t, http.StatusOK)
	// A tampered part number.
	e.do(http.MethodPut, strings.Replace(u, "partNumber=1", "partNumber=2", 1), "", data, nil).want(t, http.StatusForbidden)
	// GET on an upload URL is the wrong method.
	r = e.do(http.MethodGet, u, "", nil, nil).want(t, http.StatusForbidden)
	if !strings.Contains(string(r.body), "SignatureDoesNotMatch") {
		t.Errorf("wrong method body %s", r.body)
	}
	// Expired URL.
	e.clock.Advance(2*time.Minute + time.Second)
	r = e.do(http.MethodPut, u, "", data, nil).want(t, http.StatusForbidden)
	if !strings.Contains(string(r.body), "<Message>Request has expired</Message>") {
		t.Errorf("expired body %s", r.body)
	}
	if n := e.srv.Stats().BytesIn; n != int64(2*len(data)) {
		t.Errorf("BytesIn %d, want %d", n, 2*len(data))
	}
}
