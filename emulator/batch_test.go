package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func requests(n int, item func(i int) map[string]any) map[string]any {
	reqs := make([]map[string]any, n)
	for i := range reqs {
		reqs[i] = item(i)
	}
	return map[string]any{"requests": reqs}
}

func TestBatchSignedDownload(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("bdl")
	e.srv.PutObject("bdl", "a", []byte("aaa"), "")
	e.srv.PutObject("bdl", "b/c", []byte("bc"), "")
	sha := e.oss(http.MethodGet, objectPath("bdl", "a", "details"), nil).json(t)["sha1"]
	body := map[string]any{"requests": []map[string]any{
		{"objectKey": "a", "If-None-Match": sha},
		{"objectKey": "b/c", "response-content-type": "text/plain"},
		{"objectKey": "missing"},
		{"objectKey": "b/c", "response-content-type": "text/html", "response-content-disposition": "inline"},
	}}
	r := e.oss(http.MethodPost, "/buckets/bdl/objects/batchsigneds3download?minutesExpiration=10", body).want(t, http.StatusOK)
	results := r.json(t)["results"].(map[string]any)
	if a := results["a"].(map[string]any); a["status"] != "skipped" {
		t.Errorf("a: %v", a)
	}
	if m := results["missing"].(map[string]any); m["status"] != "error" || m["reason"] == "" {
		t.Errorf("missing: %v", m)
	}
	// The last request for "b/c" wins in the results map: inline HTML is refused.
	if bc := results["b/c"].(map[string]any); bc["status"] != "error" || !strings.Contains(bc["reason"].(string), "Inline") {
		t.Errorf("b/c: %v", bc)
	}
	body["requests"] = body["requests"].([]map[string]any)[1:2]
	r = e.oss(http.MethodPost, "/buckets/bdl/objects/batchsigneds3download", body).want(t, http.StatusOK)
	bc := r.json(t)["results"].(map[string]any)["b/c"].(map[string]any)
	if bc["status"] != "complete" || bc["size"] != float64(2) {
		t.Fatalf("b/c: %v", bc)
	}
	got := e.get(bc["url"].(string), "").want(t, http.StatusOK)
	if string(got.body) != "bc" || got.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("GET %q %v", got.body, got.Header)
	}
	tooMany := requests(26, func(i int) map[string]any { return map[string]any{"objectKey": fmt.Sprint(i)} })
	e.oss(http.MethodPost, "/buckets/bdl/objects/batchsigneds3download", tooMany).want(t, http.StatusBadRequest)
	e.oss(http.MethodPost, "/buckets/bdl/objects/batchsigneds3download", map[string]any{}).want(t, http.StatusBadRequest)
}

func TestBatchUploadAndComplete(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("bup")
	// 25 URLs in total is fine, 26 is not.
	over := map[string]any{"requests": []map[string]any{{"objectKey": "x", "parts": 20}, {"objectKey": "y", "parts": 6}}}
	e.oss(http.MethodPost, "/buckets/bup/objects/batchsigneds3upload", over).want(t, http.StatusBadRequest)
	body := requests(3, func(i int) map[string]any { return map[string]any{"objectKey": fmt.Sprintf("f%d", i)} })
	body["requests"] = append(body["requests"].([]map[string]any), map[string]any{"objectKey": "bad", "uploadKey": "nope"})
	r := e.oss(http.MethodPost, "/buckets/bup/objects/batchsigneds3upload?minutesExpiration=5", body).want(t, http.StatusOK)
	results := r.json(t)["results"].(map[string]any)
	if bad := results["bad"].(map[string]any); bad["status"] != "error" || bad["reason"] != "InvalidUploadKey" {
		t.Errorf("bad: %v", bad)
	}
	var completes []map[string]any
	for i := range 3 {
		key := fmt.Sprintf("f%d", i)
		item := results[key].(map[string]any)
		etag := e.putPart(item["urls"].([]any)[0].(string), []byte(key))
		completes = append(completes, map[string]any{"objectKey": key, "uploadKey": item["uploadKey"],
			"size": len(key), "eTags": []string{etag}, "x-ads-meta-Content-Type": "text/plain",
			"x-ads-meta-Cache-Control": "no-store", "x-ads-user-defined-metadata": `{"i":` + fmt.Sprint(i) + `}`})
	}
	completes[2]["size"] = 99
	completes = append(completes, map[string]any{"objectKey": "ghost", "uploadKey": "nope"})
	r = e.oss(http.MethodPost, "/buckets/bup/objects/batchcompleteupload", map[string]any{"requests": completes}).
		want(t, http.StatusOK)
	results = r.json(t)["results"].(map[string]any)
	f0 := results["f0"].(map[string]any)
	if f0["size"] != float64(2) || f0["contentType"] != "text/plain" || f0["cacheControl"] != "no-store" || f0["objectKey"] != "f0" {
		t.Errorf("f0: %v", f0)
	}
	if f2 := results["f2"].(map[string]any); f2["status"] != "error" || f2["reason"] != "MissingOrInvalidParts" {
		t.Errorf("f2: %v", f2)
	}
	if g := results["ghost"].(map[string]any); g["status"] != "error" || g["reason"] != "InvalidUploadKey" {
		t.Errorf("ghost: %v", g)
	}
	d := e.oss(http.MethodGet, objectPath("bup", "f1", "details?with=userDefinedMetadata"), nil).json(t)
	if d["userDefinedMetadata"] != `{"i":1}` {
		t.Errorf("f1 details %v", d)
	}
	e.oss(http.MethodGet, objectPath("bup", "f2", "details"), nil).want(t, http.StatusNotFound)
	tooMany := requests(26, func(i int) map[string]any { return map[string]any{"objectKey": fmt.Sprint(i), "uploadKey": "k"} })
	e.oss(http.MethodPost, "/buckets/bup/objects/batchcompleteupload", tooMany).want(t, http.StatusBadRequest)
}
