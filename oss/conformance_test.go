package oss_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
)

// oddKeys are object keys that break naive encoders: separators, reserved and
// non-ASCII characters.
var oddKeys = []string{
	"plain.txt",
	"dir/sub/file.bin",
	"with space.txt",
	"plus+sign",
	"percent%41literal",
	"hash#fragment",
	"question?x=1&y=2",
	"ünïcødé/日本語.txt",
	"tilde~and-dash_.dot",
	"semi;colon,comma=equals@at$dollar",
	"quote'\"backslash\\",
	"a/b/c/d/e/f/g/deep",
}

func TestAuthBadCredentials(t *testing.T) {
	s := newSuite(t)
	o := oss.DefaultOptions()
	o.Endpoint = s.url
	o.ClientID, o.ClientSecret = testClientID, "wrong-secret"
	if onRealAPS() {
		o.ClientID = "not-a-client-id"
	}
	_, err := newClient(t, o).BucketDetails(ctx(t), s.bucket)
	wantErr(t, "bad secret", err, oss.ErrUnauthorized)
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("error leaks the secret: %v", err)
	}
}

func TestAuthStaticToken(t *testing.T) {
	s := newSuite(t)
	s.needEmulator(t) // needs the emulator's credentials to mint a token by hand
	token := fetchToken(t, s.url, testClientID, testClientSecret, "bucket:read data:read")
	o := oss.DefaultOptions()
	o.Endpoint, o.AccessToken, o.Now = s.url, token, s.clock.Now
	c := newClient(t, o)
	if _, err := c.BucketDetails(ctx(t), s.bucket); err != nil {
		t.Fatalf("details with a static token: %v", err)
	}
	if n := c.Calls()[oss.OpToken]; n != 0 {
		t.Fatalf("static token client made %d token calls", n)
	}
	s.clock.Advance(2 * time.Hour)
	_, err := c.BucketDetails(ctx(t), s.bucket)
	wantErr(t, "expired static token", err, oss.ErrUnauthorized)
}

func TestAuthMissingScope(t *testing.T) {
	s := newSuite(t)
	o := oss.DefaultOptions()
	o.Endpoint, o.ClientID, o.ClientSecret = s.url, testClientID, testClientSecret
	if onRealAPS() {
		o.ClientID, o.ClientSecret = s.opts.ClientID, s.opts.ClientSecret
	}
	o.Scopes = []string{"data:read"}
	_, err := newClient(t, o).CreateBucket(ctx(t), oss.CreateBucketRequest{Key: "conformance-noscope-" + randomHex(3), Policy: "transient"})
	if !errors.Is(err, oss.ErrAccessDenied) && !(onRealAPS() && errors.Is(err, oss.ErrUnauthorized)) {
		t.Fatalf("create bucket without bucket:create: got %v, want access denied", err)
	}
}

func TestAuthTokenExpiryMidRun(t *testing.T) {
	s := newSuite(t)
	s.needEmulator(t)
	s.put(t, "k", bytes.NewReader([]byte("v")), 1, mib)
	if n := s.c.Calls()[oss.OpToken]; n != 1 {
		t.Fatalf("token calls before expiry = %d, want 1", n)
	}
	// A client sharing the emulator's clock refreshes ahead of expiry.
	s.clock.Advance(59 * time.Minute)
	if _, err := s.c.ObjectDetails(ctx(t), s.bucket, "k", oss.DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := s.c.Calls()[oss.OpToken]; n != 2 {
		t.Fatalf("token calls after nearing expiry = %d, want 2 (refresh ahead)", n)
	}

	// A client whose clock disagrees learns of expiry from a 401: refresh once, retry.
	o := s.opts
	o.Now = nil
	c := newClient(t, o)
	if _, err := c.ObjectDetails(ctx(t), s.bucket, "k", oss.DetailsOptions{}); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(2 * time.Hour)
	if _, err := c.ObjectDetails(ctx(t), s.bucket, "k", oss.DetailsOptions{}); err != nil {
		t.Fatalf("details after server-side token expiry: %v", err)
	}
	calls := c.Calls()
	if calls[oss.OpToken] != 2 || calls[oss.OpObjectsDetails] != 3 {
		t.Fatalf("calls = %v, want 2 token and 3 details (one answered 401)", calls)
	}
}

func TestBuckets(t *testing.T) {
	s := newSuite(t)
	c := ctx(t)
	_, err := s.c.CreateBucket(c, oss.CreateBucketRequest{Key: s.bucket, Policy: "transient"})
	wantErr(t, "duplicate bucket", err, oss.ErrConflict)
	_, err = s.c.CreateBucket(c, oss.CreateBucketRequest{Key: "Bad_Key!", Policy: "transient"})
	wantErr(t, "invalid bucket key", err, oss.ErrBadRequest)
	_, err = s.c.CreateBucket(c, oss.CreateBucketRequest{Key: "conformance-nopolicy-" + randomHex(3)})
	if err == nil {
		t.Fatal("bucket without a policyKey was created")
	}

	b, err := s.c.BucketDetails(c, s.bucket)
	if err != nil {
		t.Fatal(err)
	}
	if b.Key != s.bucket || b.Policy != "transient" || b.Owner == "" || b.CreatedDate.IsZero() {
		t.Fatalf("details = %+v", b)
	}
	if !slices.ContainsFunc(b.Permissions, func(p oss.Permission) bool { return p.AuthID == b.Owner && p.Access == "full" }) {
		t.Fatalf("owner missing from permissions: %+v", b.Permissions)
	}

	extra := []string{}
	for i := range 3 {
		key := fmt.Sprintf("%s-x%d", s.bucket, i)
		if _, err := s.c.CreateBucket(c, oss.CreateBucketRequest{Key: key, Policy: "transient"}); err != nil {
			t.Fatal(err)
		}
		extra = append(extra, key)
	}
	emea := s.bucket + "-emea"
	if _, err := s.c.CreateBucket(c, oss.CreateBucketRequest{Key: emea, Policy: "transient", Region: "EMEA"}); err != nil {
		t.Fatal(err)
	}

	// Page through with limit 1: every bucket once, the EMEA one only in EMEA.
	seen := map[string]int{}
	pages := 0
	for cursor := ""; ; pages++ {
		items, next, err := s.c.ListBucketsPage(c, "US", 1, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 1 {
			t.Fatalf("page of %d buckets with limit 1", len(items))
		}
		for _, it := range items {
			seen[it.Key]++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, k := range append(extra, s.bucket) {
		if seen[k] != 1 {
			t.Fatalf("bucket %s listed %d times over %d pages", k, seen[k], pages)
		}
	}
	if seen[emea] != 0 {
		t.Fatal("EMEA bucket listed in US")
	}
	all, err := s.c.ListBuckets(c, "EMEA")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(b oss.Bucket) bool { return b.Key == emea }) {
		t.Fatal("EMEA bucket missing from the EMEA listing")
	}

	for _, k := range append(extra, emea) {
		if err := s.c.DeleteBucket(c, k); err != nil {
			t.Fatal(err)
		}
	}
	if s.emu != nil { // APS deletes buckets asynchronously
		_, err = s.c.BucketDetails(c, extra[0])
		wantErr(t, "details of a deleted bucket", err, oss.ErrNotFound)
	}
	_, err = s.c.BucketDetails(c, "conformance-never-created-"+randomHex(4))
	wantErr(t, "details of a missing bucket", err, oss.ErrNotFound)
}

func TestObjectKeysRoundTrip(t *testing.T) {
	s := newSuite(t)
	c := ctx(t)
	for _, key := range oddKeys {
		content := []byte("content of " + key)
		put := s.put(t, key, bytes.NewReader(content), int64(len(content)), mib)
		if put.Key != key || put.Size != int64(len(content)) {
			t.Fatalf("completion of %q answered %+v", key, put)
		}
		d, err := s.c.ObjectDetails(c, s.bucket, key, oss.DetailsOptions{})
		if err != nil {
			t.Fatalf("details of %q: %v", key, err)
		}
		if d.Key != key || d.Size != int64(len(content)) || d.SHA1 != sha1Hex(content) {
			t.Fatalf("details of %q = %+v", key, d)
		}
		if !strings.HasSuffix(d.ObjectID, s.bucket+"/"+key) {
			t.Fatalf("objectId of %q = %q", key, d.ObjectID)
		}
		if got := s.get(t, key); !bytes.Equal(got, content) {
			t.Fatalf("download of %q = %q", key, got)
		}
		list, err := s.c.ListObjects(c, s.bucket, oss.ListOptions{BeginsWith: key})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(list, func(o oss.Object) bool { return o.Key == key }) {
			t.Fatalf("listing with beginsWith %q misses it: %+v", key, list)
		}
		cp, err := s.c.CopyObject(c, s.bucket, key, key+" (copy)")
		if err != nil {
			t.Fatalf("copyto of %q: %v", key, err)
		}
		if cp.Key != key+" (copy)" || cp.SHA1 != d.SHA1 {
			t.Fatalf("copyto answered %+v", cp)
		}
		if got := s.get(t, key+" (copy)"); !bytes.Equal(got, content) {
			t.Fatalf("copy of %q holds %q", key, got)
		}
		if err := s.c.DeleteObject(c, s.bucket, key); err != nil {
			t.Fatalf("delete %q: %v", key, err)
		}
		_, err = s.c.ObjectDetails(c, s.bucket, key, oss.DetailsOptions{})
		wantErr(t, "details after delete", err, oss.ErrNotFound)
	}
	err := s.c.DeleteObject(c, s.bucket, "never-existed")
	wantErr(t, "delete of a missing object", err, oss.ErrNotFound)
	_, err = s.c.CopyObject(c, s.bucket, "never-existed", "x")
	wantErr(t, "copyto of a missing object", err, oss.ErrNotFound)
}

func TestListingUnorderedPaged(t *testing.T) {
	s := newSuite(t)
	c := ctx(t)
	want := map[string]bool{}
	n := 2000
	if s.emu == nil {
		n = 120 // each object costs three calls of a real app's quota
	}
	for i := range n {
		key := fmt.Sprintf("many/%05d-%s", i, oddKeys[i%len(oddKeys)])
		want[key] = true
		s.putSmall(t, key, []byte(key))
	}
	for i := range n / 5 {
		s.putSmall(t, fmt.Sprintf("manx/%d", i), nil) // shares the prefix "man"
		s.putSmall(t, fmt.Sprintf("other/%d", i), nil)
	}

	before := s.c.Calls()[oss.OpObjectsList]
	var order []string
	pages := 0
	for cursor := ""; ; pages++ {
		page, err := s.c.ListObjectsPage(c, s.bucket, oss.ListOptions{BeginsWith: "many/", Limit: 100}, cursor)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(page.Items) > 100 {
			t.Fatalf("page of %d items with limit 100", len(page.Items))
		}
		for _, it := range page.Items {
			order = append(order, it.Key)
			if it.SHA1 == "" || it.Size != int64(len(it.Key)) {
				t.Fatalf("listed item %+v", it)
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	pages++
	assertSameKeys(t, order, want)
	if calls := s.c.Calls()[oss.OpObjectsList] - before; calls != int64(pages) {
		t.Fatalf("%d list calls for %d pages", calls, pages)
	}
	if pages < n/100 {
		t.Fatalf("%d keys came in %d pages of at most 100", n, pages)
	}
	if s.emu != nil && slices.IsSorted(order) {
		t.Fatal("listing came in key order; APS listings are unordered")
	}

	all, err := s.c.ListObjects(c, s.bucket, oss.ListOptions{BeginsWith: "many/"})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(all))
	for i, o := range all {
		keys[i] = o.Key
	}
	assertSameKeys(t, keys, want)

	for _, bad := range []int{-1, 101} {
		if _, err := s.c.ListObjectsPage(c, s.bucket, oss.ListOptions{Limit: bad}, ""); err == nil {
			t.Fatalf("limit %d accepted", bad)
		}
	}
}

func assertSameKeys(t *testing.T, got []string, want map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, k := range got {
		if seen[k] {
			t.Fatalf("key %q listed twice", k)
		}
		if !want[k] {
			t.Fatalf("key %q listed but not expected", k)
		}
		seen[k] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("listed %d keys, want %d", len(seen), len(want))
	}
}

// putSmall stores a small object: through the emulator's back door when there is
// one (fast, no quota), else through the API.
func (s *suite) putSmall(t *testing.T, key string, data []byte) {
	t.Helper()
	if s.emu != nil {
		if err := s.emu.PutObject(s.bucket, key, data, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
		return
	}
	s.put(t, key, bytes.NewReader(data), int64(len(data)), mib)
}

func TestListingNextOnAnotherHost(t *testing.T) {
	// APS answers `next` as an absolute URL on its public host; the client must
	// follow it against the endpoint it was configured with.
	s := newSuite(t, withEmulator(func(o *emulator.Options) { o.PublicURL = "https://developer.api.autodesk.com" }))
	s.needEmulator(t)
	for i := range 250 {
		s.putSmall(t, fmt.Sprintf("p/%d", i), nil)
	}
	s.putSmall(t, "q/outside", nil)
	all, err := s.c.ListObjects(ctx(t), s.bucket, oss.ListOptions{BeginsWith: "p/", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 250 {
		t.Fatalf("listed %d objects, want 250", len(all))
	}
	if calls := s.c.Calls()[oss.OpObjectsList]; calls != 3 {
		t.Fatalf("%d list calls, want 3", calls)
	}
}

func TestObjectDetailsAndMetadata(t *testing.T) {
	s := newSuite(t)
	c := ctx(t)
	content := []byte("hello, metadata")
	req := oss.CompleteRequest{ContentType: "text/plain", ContentDisposition: "inline", CacheControl: "max-age=60", UserMetadata: `{"mtime":"1700000000"}`}
	if _, err := putObject(c, s.c, s.bucket, "m.txt", bytes.NewReader(content), int64(len(content)), mib, req); err != nil {
		t.Fatal(err)
	}
	plain, err := s.c.ObjectDetails(c, s.bucket, "m.txt", oss.DetailsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !plain.CreatedDate.IsZero() || plain.UserMetadata != "" || plain.ContentType != "text/plain" {
		t.Fatalf("details without with= = %+v", plain)
	}
	full, err := s.c.ObjectDetails(c, s.bucket, "m.txt", oss.DetailsOptions{With: []string{oss.WithCreatedDate, oss.WithLastModifiedDate, oss.WithLastAccessedDate, oss.WithUserMetadata}})
	if err != nil {
		t.Fatal(err)
	}
	if full.CreatedDate.IsZero() || full.LastModifiedDate.IsZero() || full.UserMetadata != req.UserMetadata {
		t.Fatalf("details with dates and metadata = %+v", full)
	}
	if d := time.Since(full.LastModifiedDate); s.emu == nil && (d < -time.Hour || d > time.Hour) {
		t.Fatalf("lastModifiedDate %v is not near now (ms vs s?)", full.LastModifiedDate)
	}
	if s.clock != nil && !full.LastModifiedDate.Equal(s.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("lastModifiedDate %v, emulator clock %v", full.LastModifiedDate, s.clock.Now())
	}
	_, err = s.c.ObjectDetails(c, s.bucket, "m.txt", oss.DetailsOptions{IfModifiedSince: full.LastModifiedDate.Add(time.Hour)})
	wantErr(t, "If-Modified-Since after the last change", err, oss.ErrNotModified)
	if _, err := s.c.ObjectDetails(c, s.bucket, "m.txt", oss.DetailsOptions{IfModifiedSince: full.LastModifiedDate.Add(-time.Hour)}); err != nil {
		t.Fatalf("If-Modified-Since before the last change: %v", err)
	}

	// The stored content type and disposition come back on download.
	sd, err := s.c.SignedDownloadURL(c, s.bucket, "m.txt", oss.DownloadURLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.c.Download(c, sd.URL, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentType != "text/plain" {
		t.Fatalf("downloaded content type %q", resp.ContentType)
	}

	// User-defined metadata is limited to under 100 bytes; the upload fails, nothing is created.
	long := `{"k":"` + strings.Repeat("x", 100) + `"}`
	_, err = putObject(c, s.c, s.bucket, "long-meta", bytes.NewReader(content), int64(len(content)), mib, oss.CompleteRequest{UserMetadata: long})
	if err == nil {
		t.Fatal("user metadata of 100+ bytes accepted")
	}
	_, err = s.c.ObjectDetails(c, s.bucket, "long-meta", oss.DetailsOptions{})
	wantErr(t, "object of a refused completion", err, oss.ErrNotFound)
}

func TestDownloadRanges(t *testing.T) {
	s := newSuite(t)
	c := ctx(t)
	p := testbytes.Pattern{Seed: 3}
	const size = 1000
	s.put(t, "r.bin", p, size, mib)
	sd, err := s.c.SignedDownloadURL(c, s.bucket, "r.bin", oss.DownloadURLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sd.Status != "complete" || sd.Size != size || sd.SHA1 != p.SHA1(size) || !sd.Expires.After(time.Now().Add(-time.Hour)) {
		t.Fatalf("signeds3download = %+v", sd)
	}
	for _, r := range []struct{ off, n, wantLen int64 }{
		{0, -1, size}, {0, 1, 1}, {10, 100, 100}, {990, 100, 10}, {999, -1, 1},
	} {
		resp, err := s.c.Download(c, sd.URL, r.off, r.n)
		if err != nil {
			t.Fatalf("range %d+%d: %v", r.off, r.n, err)
		}
		got := readAll(t, resp)
		if resp.Offset != r.off || resp.Length != r.wantLen || resp.Total != size || !bytes.Equal(got, p.Bytes(r.off, r.wantLen)) {
			t.Fatalf("range %d+%d: offset %d length %d total %d, %d bytes", r.off, r.n, resp.Offset, resp.Length, resp.Total, len(got))
		}
	}
	_, err = s.c.Download(c, sd.URL, size, 10)
	var apiErr *oss.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusRequestedRangeNotSatisfiable || apiErr.Code != "InvalidRange" {
		t.Fatalf("range past the end: %v", err)
	}

	_, err = s.c.SignedDownloadURL(c, s.bucket, "missing", oss.DownloadURLOptions{})
	wantErr(t, "signeds3download of a missing object", err, oss.ErrNotFound)
	_, err = s.c.SignedDownloadURL(c, s.bucket, "r.bin", oss.DownloadURLOptions{IfNoneMatch: sd.SHA1})
	wantErr(t, "If-None-Match with the current sha1", err, oss.ErrNotModified)

	s.put(t, "empty", bytes.NewReader(nil), 0, mib)
	if got := s.get(t, "empty"); len(got) != 0 {
		t.Fatalf("empty object downloaded as %d bytes", len(got))
	}
	d, err := s.c.ObjectDetails(c, s.bucket, "empty", oss.DetailsOptions{})
	if err != nil || d.Size != 0 || d.SHA1 != sha1Hex(nil) {
		t.Fatalf("details of the empty object = %+v, %v", d, err)
	}
}

func TestSignedURLExpiryAndTampering(t *testing.T) {
	s := newSuite(t)
	s.needEmulator(t)
	c := ctx(t)
	s.put(t, "e.bin", bytes.NewReader([]byte("expiring")), 8, mib)

	sd, err := s.c.SignedDownloadURL(c, s.bucket, "e.bin", oss.DownloadURLOptions{Minutes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := s.clock.Now().Add(time.Minute); !sd.Expires.Equal(want) {
		t.Fatalf("URL expires %v, want %v", sd.Expires, want)
	}
	s.clock.Advance(61 * time.Second)
	_, err = s.c.Download(c, sd.URL, 0, -1)
	wantErr(t, "expired download URL", err, oss.ErrURLExpired)
	if strings.Contains(err.Error(), "X-Amz-Signature") {
		t.Fatalf("error leaks the signed URL: %v", err)
	}

	sd, err = s.c.SignedDownloadURL(c, s.bucket, "e.bin", oss.DownloadURLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(sd.URL)
	q := u.Query()
	q.Set("X-Amz-Signature", strings.Repeat("0", 64))
	u.RawQuery = q.Encode()
	_, err = s.c.Download(c, u.String(), 0, -1)
	var apiErr *oss.APIError
	if !errors.Is(err, oss.ErrURLExpired) || !errors.As(err, &apiErr) || apiErr.Code != "SignatureDoesNotMatch" {
		t.Fatalf("tampered URL: %v", err)
	}

	// Upload URLs expire too; new ones come for the same uploadKey.
	su, err := s.c.SignedUploadURLs(c, s.bucket, "u.bin", oss.UploadURLOptions{Parts: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(3 * time.Minute)
	_, err = s.c.UploadPart(c, su.URLs[0], bytes.NewReader([]byte("x")), 1)
	wantErr(t, "expired upload URL", err, oss.ErrURLExpired)
	again, err := s.c.SignedUploadURLs(c, s.bucket, "u.bin", oss.UploadURLOptions{Parts: 1, UploadKey: su.UploadKey})
	if err != nil {
		t.Fatal(err)
	}
	if again.UploadKey != su.UploadKey {
		t.Fatal("re-request answered another uploadKey")
	}
	eTag, err := s.c.UploadPart(c, again.URLs[0], bytes.NewReader([]byte("x")), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.CompleteUpload(c, s.bucket, "u.bin", oss.CompleteRequest{UploadKey: su.UploadKey, Size: 1, ETags: []string{eTag}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.SignedDownloadURL(c, s.bucket, "e.bin", oss.DownloadURLOptions{Minutes: 61}); err == nil {
		t.Fatal("minutesExpiration 61 accepted")
	}
}

func TestUploadValidation(t *testing.T) {
	s := newSuite(t)
	c := ctx(t)
	_, err := s.c.SignedUploadURLs(c, s.bucket, "v", oss.UploadURLOptions{Parts: 26})
	if err == nil {
		t.Fatal("26 part URLs in one request accepted")
	}

	small := bytes.Repeat([]byte("s"), mib)
	full := testbytes.Pattern{Seed: 9}.Bytes(0, 5*mib)
	type upload struct {
		key   string
		eTags []string
	}
	start := func(key string, parts ...[]byte) upload {
		su, err := s.c.SignedUploadURLs(c, s.bucket, key, oss.UploadURLOptions{Parts: len(parts)})
		if err != nil {
			t.Fatal(err)
		}
		u := upload{key: su.UploadKey, eTags: make([]string, len(parts))}
		for i, p := range parts {
			if p == nil {
				continue // left Pending
			}
			if u.eTags[i], err = s.c.UploadPart(c, su.URLs[i], bytes.NewReader(p), int64(len(p))); err != nil {
				t.Fatal(err)
			}
		}
		return u
	}
	complete := func(key string, u upload, size int64) *oss.APIError {
		t.Helper()
		_, err := s.c.CompleteUpload(c, s.bucket, key, oss.CompleteRequest{UploadKey: u.key, Size: size, ETags: u.eTags})
		wantErr(t, "invalid completion of "+key, err, oss.ErrInvalidParts)
		var apiErr *oss.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("completion error %T is not an *APIError", err)
		}
		if _, err := s.c.ObjectDetails(c, s.bucket, key, oss.DetailsOptions{}); !errors.Is(err, oss.ErrNotFound) {
			t.Fatalf("refused completion of %s created an object: %v", key, err)
		}
		return apiErr
	}
	partStatus := func(e *oss.APIError, part int) string {
		for _, p := range e.Parts {
			if p.Part == part {
				return p.Status
			}
		}
		return "(absent)"
	}

	u := start("toosmall", small, small)
	if st := partStatus(complete("toosmall", u, 2*mib), 1); !strings.Contains(st, "TooSmall") {
		t.Fatalf("part 1 of 1 MiB + 1 MiB: status %q, want TooSmall", st)
	}
	u = start("pending", nil, small)
	u.eTags[0] = strings.Repeat("0", 32)
	if st := partStatus(complete("pending", u, 6*mib), 1); st != "Pending" {
		t.Fatalf("part never uploaded: status %q, want Pending", st)
	}
	u = start("unexpected", full, small)
	u.eTags[1] = strings.Repeat("f", 32)
	if st := partStatus(complete("unexpected", u, 6*mib), 2); !strings.Contains(st, "Unexpected") {
		t.Fatalf("wrong eTag: status %q, want Unexpected", st)
	}
	u = start("size", full, small)
	if e := complete("size", u, 6*mib+1); e.SizeExpected != 6*mib+1 || e.SizeDetected != 6*mib {
		t.Fatalf("size mismatch reported as expected %d detected %d", e.SizeExpected, e.SizeDetected)
	}

	_, err = s.c.CompleteUpload(c, s.bucket, "bogus", oss.CompleteRequest{UploadKey: "bogus-upload-key", Size: 1, ETags: []string{"x"}})
	if !errors.Is(err, oss.ErrInvalidUploadKey) && !errors.Is(err, oss.ErrBadRequest) {
		t.Fatalf("completion with a made-up uploadKey: %v", err)
	}

	// A good upload; afterwards its URLs answer NoSuchUpload and its key is spent.
	su, err := s.c.SignedUploadURLs(c, s.bucket, "good", oss.UploadURLOptions{Parts: 2})
	if err != nil {
		t.Fatal(err)
	}
	e1, err := s.c.UploadPart(c, su.URLs[0], bytes.NewReader(full), int64(len(full)))
	if err != nil {
		t.Fatal(err)
	}
	e2, err := s.c.UploadPart(c, su.URLs[1], bytes.NewReader(small), int64(len(small)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.CompleteUpload(c, s.bucket, "good", oss.CompleteRequest{UploadKey: su.UploadKey, Size: 6 * mib, ETags: []string{e1, e2}}); err != nil {
		t.Fatal(err)
	}
	if got := s.get(t, "good"); sha1Hex(got) != sha1Hex(append(append([]byte{}, full...), small...)) {
		t.Fatal("two-part object content differs")
	}
	if s.emu != nil {
		_, err = s.c.UploadPart(c, su.URLs[0], bytes.NewReader(small), int64(len(small)))
		wantErr(t, "part PUT after completion", err, oss.ErrNotFound)
	}

	// Overwrite replaces the object.
	s.put(t, "good", bytes.NewReader([]byte("replaced")), 8, mib)
	if got := s.get(t, "good"); string(got) != "replaced" {
		t.Fatalf("overwritten object holds %d bytes", len(got))
	}
}

func TestBatchEndpoints(t *testing.T) {
	s := newSuite(t)
	c := ctx(t)
	const n = 30
	var items []oss.BatchUploadItem
	for i := range n {
		items = append(items, oss.BatchUploadItem{ObjectKey: fmt.Sprintf("batch/%02d %s", i, oddKeys[i%len(oddKeys)])})
	}
	before := s.c.Calls()
	ups, err := s.c.BatchSignedUploadURLs(c, s.bucket, items, 0)
	if err != nil {
		t.Fatal(err)
	}
	var completes []oss.BatchCompleteItem
	for _, it := range items {
		r, ok := ups[it.ObjectKey]
		if !ok || r.Err != nil || len(r.URLs) != 1 {
			t.Fatalf("batch upload result for %q: %+v", it.ObjectKey, r)
		}
		body := []byte(it.ObjectKey)
		eTag, err := s.c.UploadPart(c, r.URLs[0], bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		completes = append(completes, oss.BatchCompleteItem{ObjectKey: it.ObjectKey, CompleteRequest: oss.CompleteRequest{UploadKey: r.UploadKey, Size: int64(len(body)), ETags: []string{eTag}, ContentType: "text/plain"}})
	}
	completes = append(completes, oss.BatchCompleteItem{ObjectKey: "batch/bogus", CompleteRequest: oss.CompleteRequest{UploadKey: "bogus", Size: 1, ETags: []string{"x"}}})
	done, err := s.c.BatchCompleteUpload(c, s.bucket, completes)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if r := done[it.ObjectKey]; r.Err != nil || r.Object == nil || r.Object.Size != int64(len(it.ObjectKey)) {
			t.Fatalf("batch completion of %q: %+v", it.ObjectKey, r)
		}
	}
	if r := done["batch/bogus"]; r.Err == nil {
		t.Fatal("batch completion with a made-up uploadKey succeeded")
	}

	dl := []oss.BatchDownloadItem{{ObjectKey: "batch/missing"}}
	for _, it := range items {
		dl = append(dl, oss.BatchDownloadItem{ObjectKey: it.ObjectKey})
	}
	got, err := s.c.BatchSignedDownloadURLs(c, s.bucket, dl, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "batch download of a missing object", got["batch/missing"].Err, oss.ErrNotFound)
	for _, it := range items {
		r := got[it.ObjectKey]
		if r.Err != nil {
			t.Fatalf("batch download of %q: %v", it.ObjectKey, r.Err)
		}
		resp, err := s.c.Download(c, r.URL, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); string(body) != it.ObjectKey || resp.ContentType != "text/plain" {
			t.Fatalf("batch-downloaded %q: %q (%s)", it.ObjectKey, body, resp.ContentType)
		}
	}
	calls := s.c.Calls()
	for ep, want := range map[string]int64{oss.OpBatchSignedS3Upload: 2, oss.OpBatchCompleteUpload: 2, oss.OpBatchSignedS3Download: 2} {
		if got := calls[ep] - before[ep]; got != want {
			t.Fatalf("%s calls = %d, want %d (batches of at most 25)", ep, got, want)
		}
	}
}

func TestQuotaThrottlingRecovers(t *testing.T) {
	// The emulator allows 5 calls per second here; the client's own limiter is
	// opened up so that it meets the server's 429s and must honour Retry-After.
	s := newSuite(t,
		withEmulator(func(o *emulator.Options) { o.Clock, o.Quota, o.QuotaWindow = nil, 5, time.Second }),
		withClient(func(o *oss.Options) { o.Now, o.CallsPerMinute = nil, 100000 }))
	s.needEmulator(t)
	s.emu.PutObject(s.bucket, "q", []byte("q"), "")
	for i := range 12 {
		if _, err := s.c.ObjectDetails(ctx(t), s.bucket, "q", oss.DetailsOptions{}); err != nil {
			t.Fatalf("details %d under the quota: %v", i, err)
		}
	}
	if calls := s.c.Calls()[oss.OpObjectsDetails]; calls <= 12 {
		t.Fatalf("%d details calls for 12 details: the quota never answered 429", calls)
	}
}

func TestClientLimiterAvoids429(t *testing.T) {
	// With the limiter set to the server's quota and a burst of a minute's worth,
	// a burst of calls never meets a 429.
	s := newSuite(t,
		withEmulator(func(o *emulator.Options) { o.Quota = 40 }),
		withClient(func(o *oss.Options) { o.CallsPerMinute = 40 }))
	s.needEmulator(t)
	s.emu.PutObject(s.bucket, "q", []byte("q"), "")
	for range 30 {
		if _, err := s.c.ObjectDetails(ctx(t), s.bucket, "q", oss.DetailsOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if calls := s.c.Calls()[oss.OpObjectsDetails]; calls != 30 {
		t.Fatalf("%d details calls for 30 details: some met a 429", calls)
	}
}

func readAll(t *testing.T, resp *oss.DownloadResponse) []byte {
	t.Helper()
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fetchToken mints a token by hand, the way the reference's curl session does.
func fetchToken(t *testing.T, endpoint, id, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/authentication/v2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// A part sent with its Content-MD5 is stored; one whose bytes do not match it
// is refused (S3 400 BadDigest) and leaves nothing to complete.
func TestUploadPartContentMD5(t *testing.T) {
	s := newSuite(t)
	body := []byte("bytes checked by S3")
	good := md5.Sum(body)
	bad := md5.Sum([]byte("other bytes"))
	su, err := s.c.SignedUploadURLs(ctx(t), s.bucket, "md5", oss.UploadURLOptions{Parts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.c.UploadPartMD5(ctx(t), su.URLs[0], bytes.NewReader(body), int64(len(body)), bad[:])
	wantErr(t, "a part whose bytes do not match its Content-MD5", err, oss.ErrBadRequest)
	_, err = s.c.CompleteUpload(ctx(t), s.bucket, "md5", oss.CompleteRequest{UploadKey: su.UploadKey, Size: int64(len(body))})
	if err == nil {
		t.Fatal("completion after the only part was refused succeeded")
	}
	eTag, err := s.c.UploadPartMD5(ctx(t), su.URLs[0], bytes.NewReader(body), int64(len(body)), good[:])
	if err != nil {
		t.Fatalf("a part with its right Content-MD5: %v", err)
	}
	if eTag != hex.EncodeToString(good[:]) {
		t.Errorf("eTag %q, want the part's MD5 %x", eTag, good)
	}
	obj, err := s.c.CompleteUpload(ctx(t), s.bucket, "md5", oss.CompleteRequest{UploadKey: su.UploadKey, Size: int64(len(body)), ETags: []string{eTag}})
	if err != nil || obj.Size != int64(len(body)) {
		t.Fatalf("completion: %+v %v", obj, err)
	}
	if got := s.get(t, "md5"); !bytes.Equal(got, body) {
		t.Fatalf("read back %q", got)
	}
}
