package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	good := `[{"endpoint":"s3.download","truncate":10},
		{"endpoint":"oss","probability":0.25,"status":503,"retryAfter":2},
		{"endpoint":"*","delay":"150ms"},
		{"endpoint":"s3","every":2,"after":1,"times":3,"expireURL":true},
		{"endpoint":"objects.list","omitSHA1":true,"keyPrefix":"a/"},
		{"endpoint":"token","reset":true,"delay":"1ms"}]`
	rules, err := ParseFaults([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 6 || time.Duration(rules[2].Delay) != 150*time.Millisecond || rules[1].RetryAfter != 2 {
		t.Errorf("parsed %+v", rules)
	}
	out, _ := json.Marshal(rules[2])
	if !strings.Contains(string(out), `"delay":"150ms"`) {
		t.Errorf("marshalled %s", out)
	}
	bad := []string{
		`[{"endpoint":"nope","status":500}]`,
		`[{"endpoint":"oss"}]`,
		`[{"endpoint":"oss","status":500,"reset":true}]`,
		`[{"endpoint":"oss","status":200}]`,
		`[{"endpoint":"oss","probability":0.5,"every":2,"status":500}]`,
		`[{"endpoint":"oss","probability":1.5,"status":500}]`,
		`[{"endpoint":"oss","retryAfter":3,"reset":true}]`,
		`[{"endpoint":"objects.list","truncate":5}]`,
		`[{"endpoint":"oss","expireURL":true}]`,
		`[{"endpoint":"s3.upload","omitSHA1":true}]`,
		`[{"endpoint":"oss","delay":150}]`,
		`[{"endpoint":"oss","status":500,"stauts":1}]`,
		`{"endpoint":"oss","status":500}`,
	}
	for _, b := range bad {
		if _, err := ParseFaults([]byte(b)); err == nil {
			t.Errorf("accepted %s", b)
		}
	}
	path := filepath.Join(t.TempDir(), "faults.json")
	must(t, os.WriteFile(path, []byte(good), 0o644))
	if rules, err := LoadFaults(path); err != nil || len(rules) != 6 {
		t.Errorf("LoadFaults: %d rules, %v", len(rules), err)
	}
	if _, err := New(Options{Faults: []FaultRule{{Endpoint: "oss"}}}); err == nil {
		t.Error("New accepted an invalid rule")
	}
}

func TestFaultStatusBodies(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("fst")
	e.srv.PutObject("fst", "k", []byte("data"), "")
	u := e.downloadURL("fst", "k", "")
	e.srv.SetFaults([]FaultRule{
		{Endpoint: EndpointObjectsDetails, Status: 503, RetryAfter: 7, Times: 1},
		{Endpoint: EndpointBucketsList, Status: 429, RetryAfter: 3, Times: 1},
		{Endpoint: EndpointS3Download, Status: 503, Times: 1},
		{Endpoint: EndpointS3Download, Status: 500, Times: 1},
	})
	r := e.oss(http.MethodGet, objectPath("fst", "k", "details"), nil).want(t, http.StatusServiceUnavailable)
	if r.Header.Get("Retry-After") != "7" || r.json(t)["reason"] == nil {
		t.Errorf("503: %v %s", r.Header, r.body)
	}
	e.oss(http.MethodGet, objectPath("fst", "k", "details"), nil).want(t, http.StatusOK) // times: 1
	r = e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") != "3" || r.json(t)["developerMessage"] != "Quota limit exceeded." {
		t.Errorf("429: %s", r.body)
	}
	r = e.get(u, "").want(t, http.StatusServiceUnavailable)
	if !strings.Contains(string(r.body), "<Code>SlowDown</Code>") || r.Header.Get("Content-Type") != "application/xml" {
		t.Errorf("S3 503: %s", r.body)
	}
	r = e.get(u, "").want(t, http.StatusInternalServerError)
	if !strings.Contains(string(r.body), "<Code>InternalError</Code>") {
		t.Errorf("S3 500: %s", r.body)
	}
	e.get(u, "").want(t, http.StatusOK)
	if calls := e.srv.Stats().Calls[EndpointS3Download]; calls != 3 {
		t.Errorf("s3.download counted %d, want 3 (faulted calls count)", calls)
	}
}

func TestFaultDelayResetTruncate(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("fdr")
	data := pattern(1000, 1)
	e.srv.PutObject("fdr", "k", data, "")
	u := e.downloadURL("fdr", "k", "")
	e.srv.SetFaults([]FaultRule{
		{Endpoint: EndpointBucketsList, Delay: Duration(30 * time.Millisecond), Times: 1},
		{Endpoint: EndpointBucketsDetails, Reset: true, Times: 1},
		{Endpoint: EndpointS3Download, Truncate: 100, Times: 1},
	})
	start := time.Now()
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("delayed call took %v", d)
	}
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/oss/v2/buckets/fdr/details", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	// A fresh connection: Go retries idempotent requests that fail on a reused one.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if res, err := fresh.Do(req); err == nil {
		res.Body.Close()
		t.Errorf("reset: got status %d, want a transport error", res.StatusCode)
	}
	e.oss(http.MethodGet, "/buckets/fdr/details", nil).want(t, http.StatusOK)

	res, err := http.Get(u)
	must(t, err)
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ContentLength != 1000 || len(got) != 100 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncate: length %d, read %d bytes, err %v", res.ContentLength, len(got), err)
	}
	if string(got) != string(data[:100]) {
		t.Error("truncated bytes differ")
	}
	e.get(u, "").want(t, http.StatusOK)
}

func TestFaultExpireURLAndOmitSHA1(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Faults = []FaultRule{
			{Endpoint: EndpointGroupS3, ExpireURL: true, Times: 1},
			{Endpoint: EndpointGroupOSS, OmitSHA1: true, KeyPrefix: "nosha/"},
		}
	})
	e.createBucket("fex")
	e.srv.PutObject("fex", "k", []byte("data"), "")
	e.srv.PutObject("fex", "nosha/k", []byte("data"), "")
	u := e.downloadURL("fex", "k", "minutesExpiration=60")
	r := e.get(u, "").want(t, http.StatusForbidden)
	if !strings.Contains(string(r.body), "Request has expired") {
		t.Errorf("expireURL: %s", r.body)
	}
	e.get(u, "").want(t, http.StatusOK)
	if d := e.oss(http.MethodGet, objectPath("fex", "nosha/k", "details"), nil).json(t); d["sha1"] != nil {
		t.Errorf("sha1 present: %v", d)
	}
	if d := e.oss(http.MethodGet, objectPath("fex", "k", "details"), nil).json(t); d["sha1"] == nil {
		t.Errorf("sha1 missing outside the prefix: %v", d)
	}
	if d := e.oss(http.MethodGet, objectPath("fex", "nosha/k", "signeds3download"), nil).json(t); d["sha1"] != nil {
		t.Errorf("signeds3download sha1 present: %v", d)
	}
}

func statuses(e *env, n int, path string) string {
	var out []string
	for range n {
		r := e.oss(http.MethodGet, path, nil)
		if r.StatusCode == http.StatusOK {
			out = append(out, ".")
		} else {
			out = append(out, "X")
		}
	}
	return strings.Join(out, "")
}

func TestFaultSelection(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetFaults([]FaultRule{{Endpoint: EndpointBucketsList, Every: 3, After: 1, Times: 2, Status: 500}})
	if got := statuses(e, 12, "/buckets"); got != "...X..X....." {
		t.Errorf("every 3 after 1 times 2: %s", got)
	}
	// Only matching requests count.
	e.srv.SetFaults([]FaultRule{{Endpoint: EndpointBucketsDetails, Every: 2, Status: 500}})
	e.createBucket("sel")
	if got := statuses(e, 4, "/buckets"); got != "...." {
		t.Errorf("other endpoint faulted: %s", got)
	}
	if got := statuses(e, 4, "/buckets/sel/details"); got != ".X.X" {
		t.Errorf("every 2: %s", got)
	}
}

func TestFaultProbabilityIsSeeded(t *testing.T) {
	run := func() string {
		e := newEnv(t, func(o *Options) {
			o.FaultSeed = 42
			o.Faults = []FaultRule{{Endpoint: EndpointGroupOSS, Probability: 0.5, Status: 503}}
		})
		return statuses(e, 40, "/buckets")
	}
	a, b := run(), run()
	if a != b {
		t.Errorf("same seed, different patterns:\n%s\n%s", a, b)
	}
	if n := strings.Count(a, "X"); n < 5 || n > 35 {
		t.Errorf("probability 0.5 fired %d of 40 times: %s", n, a)
	}
}

func TestFaultKeyPrefixOnUploads(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("fku")
	tmpURL := e.startUpload("fku", "tmp/a", "")["urls"].([]any)[0].(string)
	keepURL := e.startUpload("fku", "keep/a", "")["urls"].([]any)[0].(string)
	e.srv.SetFaults([]FaultRule{{Endpoint: EndpointS3Upload, KeyPrefix: "tmp/", Status: 503}})
	e.do(http.MethodPut, tmpURL, "", []byte("x"), nil).want(t, http.StatusServiceUnavailable)
	e.do(http.MethodPut, keepURL, "", []byte("x"), nil).want(t, http.StatusOK)
}

func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	admin := func(method, path, body string) resp {
		return e.do(method, e.http.URL+"/emulator/"+path, "", body, nil)
	}
	if admin(http.MethodGet, "health", "").want(t, http.StatusOK).json(t)["status"] != "ok" {
		t.Error("health")
	}
	admin(http.MethodPost, "faults", `[{"endpoint":"nope"}]`).want(t, http.StatusBadRequest)
	admin(http.MethodPost, "faults", `[{"endpoint":"*","status":500}]`).want(t, http.StatusOK)
	var rules []FaultRule
	must(t, json.Unmarshal(admin(http.MethodGet, "faults", "").want(t, http.StatusOK).body, &rules))
	if len(rules) != 1 || rules[0].Status != 500 {
		t.Errorf("rules %+v", rules)
	}
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusInternalServerError)
	admin(http.MethodGet, "health", "").want(t, http.StatusOK) // "*" never covers /emulator/
	admin(http.MethodDelete, "faults", "").want(t, http.StatusNoContent)
	if len(e.srv.Faults()) != 0 {
		t.Error("faults not cleared")
	}
	if got := strings.TrimSpace(string(admin(http.MethodGet, "faults", "").body)); got != "[]" {
		t.Errorf("empty rules as %s", got)
	}
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	admin(http.MethodGet, "nothing", "").want(t, http.StatusNotFound)
	admin(http.MethodPut, "health", "").want(t, http.StatusMethodNotAllowed)
}
