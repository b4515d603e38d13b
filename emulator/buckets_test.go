package emulator

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestBucketCreateAndDetails(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(http.MethodPost, e.http.URL+"/oss/v2/buckets", e.token,
		map[string]any{"bucketKey": "my-bucket.1", "policyKey": "persistent",
			"allow": []map[string]string{{"authId": otherID, "access": "read"}}},
		map[string]string{"region": "EMEA", "x-ads-region": "US"}).want(t, http.StatusOK)
	body := r.json(t)
	perms := body["permissions"].([]any)
	if body["bucketOwner"] != ownerID || body["policyKey"] != "persistent" || len(perms) != 2 ||
		perms[0].(map[string]any)["authId"] != ownerID || body["createdDate"] != float64(epoch.UnixMilli()) {
		t.Fatalf("create body %v", body)
	}
	details := e.oss(http.MethodGet, "/buckets/my-bucket.1/details", nil).want(t, http.StatusOK).json(t)
	if details["bucketKey"] != "my-bucket.1" {
		t.Errorf("details %v", details)
	}
	// region header won: the bucket is listed in EMEA only.
	if items := e.oss(http.MethodGet, "/buckets?region=EMEA", nil).json(t)["items"].([]any); len(items) != 1 {
		t.Errorf("EMEA listing %v", items)
	}
	if items := e.oss(http.MethodGet, "/buckets", nil).json(t)["items"].([]any); len(items) != 0 {
		t.Errorf("US listing %v", items)
	}
	e.oss(http.MethodGet, "/buckets/nope-nope/details", nil).want(t, http.StatusNotFound)
}

func TestBucketValidation(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("taken")
	tests := []struct {
		body   map[string]any
		status int
		reason string
	}{
		{map[string]any{"bucketKey": "UPPER", "policyKey": "transient"}, 400, reasonBadBucketKey},
		{map[string]any{"bucketKey": "ab", "policyKey": "transient"}, 400, reasonBadBucketKey},
		{map[string]any{"bucketKey": strings.Repeat("a", 129), "policyKey": "transient"}, 400, reasonBadBucketKey},
		{map[string]any{"bucketKey": "has space", "policyKey": "transient"}, 400, reasonBadBucketKey},
		{map[string]any{"bucketKey": "okay", "policyKey": "forever"}, 400, reasonBadPolicyKey},
		{map[string]any{"bucketKey": "okay"}, 400, reasonBadPolicyKey},
		{map[string]any{"bucketKey": "taken", "policyKey": "transient"}, 409, "Bucket already exists"},
	}
	for _, tt := range tests {
		r := e.oss(http.MethodPost, "/buckets", tt.body).want(t, tt.status)
		if got := r.json(t)["reason"]; got != tt.reason {
			t.Errorf("%v: reason %q, want %q", tt.body, got, tt.reason)
		}
	}
	// A name taken by another app is also a conflict.
	other := e.getToken(otherID, otherSecret, "bucket:create")
	e.do(http.MethodPost, e.http.URL+"/oss/v2/buckets", other,
		map[string]any{"bucketKey": "taken", "policyKey": "transient"}, nil).want(t, http.StatusConflict)
	if err := e.srv.CreateBucket("taken", "transient", "", ownerID); !errors.Is(err, ErrBucketExists) {
		t.Errorf("direct CreateBucket: %v, want ErrBucketExists", err)
	}
	if err := e.srv.CreateBucket("Bad!", "transient", "", ownerID); err == nil {
		t.Error("direct CreateBucket accepted a bad key")
	}
}

func TestBucketOwnership(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("mine")
	other := e.getToken(otherID, otherSecret, allScopes)
	for _, p := range []string{"/buckets/mine/details", "/buckets/mine/objects"} {
		r := e.do(http.MethodGet, e.http.URL+"/oss/v2"+p, other, nil, nil).want(t, http.StatusForbidden)
		if r.json(t)["reason"] == "" {
			t.Errorf("%s: 403 without reason: %s", p, r.body)
		}
	}
	e.do(http.MethodDelete, e.http.URL+"/oss/v2/buckets/mine", other, nil, nil).want(t, http.StatusForbidden)
}

func TestBucketListPagingAndDelete(t *testing.T) {
	e := newEnv(t, nil)
	for _, k := range []string{"b-one", "b-two", "b-three"} {
		e.createBucket(k)
	}
	e.oss(http.MethodGet, "/buckets?limit=0", nil).want(t, http.StatusBadRequest)
	r := e.oss(http.MethodGet, "/buckets?limit=101", nil).want(t, http.StatusBadRequest)
	if r.json(t)["reason"] != "Invalid limit" {
		t.Errorf("reason %s", r.body)
	}
	seen := map[string]bool{}
	next := e.http.URL + "/oss/v2/buckets?limit=2"
	for pages := 0; next != ""; pages++ {
		if pages > 2 {
			t.Fatal("too many pages")
		}
		body := e.do(http.MethodGet, next, e.token, nil, nil).want(t, http.StatusOK).json(t)
		for _, it := range body["items"].([]any) {
			seen[it.(map[string]any)["bucketKey"].(string)] = true
		}
		next, _ = body["next"].(string)
	}
	if len(seen) != 3 {
		t.Errorf("listed %v", seen)
	}
	r = e.oss(http.MethodDelete, "/buckets/b-two", nil).want(t, http.StatusOK)
	if len(r.body) != 0 {
		t.Errorf("delete body %q", r.body)
	}
	e.oss(http.MethodGet, "/buckets/b-two/details", nil).want(t, http.StatusNotFound)
	e.createBucket("b-two") // reusable at once in the emulator
}

func TestDoubleSlashRouting(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("slashes")
	r := e.do(http.MethodGet, e.http.URL+"//oss/v2/buckets/slashes/details", e.token, nil, nil).want(t, http.StatusOK)
	if r.json(t)["bucketKey"] != "slashes" {
		t.Errorf("body %s", r.body)
	}
	e.do(http.MethodGet, e.http.URL+"/oss/v2/nothing", e.token, nil, nil).want(t, http.StatusNotFound)
	e.do(http.MethodPatch, e.http.URL+"/oss/v2/buckets", e.token, nil, nil).want(t, http.StatusMethodNotAllowed)
	e.do(http.MethodGet, e.http.URL+"/oss/v2/buckets/slashes/objects//details", e.token, nil, nil).
		want(t, http.StatusBadRequest)
}
