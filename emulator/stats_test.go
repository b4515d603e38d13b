package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("stats")
	e.upload("stats", "k", []byte("12345"))
	u := e.downloadURL("stats", "k", "")
	e.get(u, "bytes=1-3").want(t, http.StatusPartialContent)
	e.get(u, "").want(t, http.StatusOK)

	var st Stats
	must(t, json.Unmarshal(e.do(http.MethodGet, e.http.URL+"/emulator/stats", "", nil, nil).want(t, http.StatusOK).body, &st))
	want := map[string]int64{EndpointToken: 1, EndpointBucketsCreate: 1, EndpointSignedUploadGet: 1, EndpointS3Upload: 1,
		EndpointSignedUploadComplete: 1, EndpointSignedDownload: 1, EndpointS3Download: 2}
	for k, v := range want {
		if st.Calls[k] != v {
			t.Errorf("calls[%s] = %d, want %d (all: %v)", k, st.Calls[k], v, st.Calls)
		}
	}
	if len(st.Calls) != len(want) || st.BytesIn != 5 || st.BytesOut != 8 {
		t.Errorf("stats %+v", st)
	}
	e.do(http.MethodPost, e.http.URL+"/emulator/stats/reset", "", nil, nil).want(t, http.StatusNoContent)
	if st := e.srv.Stats(); len(st.Calls) != 0 || st.BytesIn != 0 || st.BytesOut != 0 {
		t.Errorf("after reset %+v", st)
	}
	e.oss(http.MethodGet, "/buckets", nil)
	e.srv.ResetStats()
	if len(e.srv.Stats().Calls) != 0 {
		t.Error("ResetStats")
	}
	if got := Endpoints(); len(got) != 17 || got[0] != EndpointToken {
		t.Errorf("Endpoints() = %v", got)
	}
}

func TestWANProfile(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Latency = 20 * time.Millisecond
		o.Bandwidth = 100_000
	})
	e.createBucket("wan")
	data := pattern(52_768, 1) // 32 KiB burst + 20,000 bytes at 100 kB/s = 200 ms
	must(t, e.srv.PutObject("wan", "k", data, ""))
	u := e.downloadURL("wan", "k", "")
	start := time.Now()
	r := e.get(u, "").want(t, http.StatusOK)
	if d := time.Since(start); d < 170*time.Millisecond || len(r.body) != len(data) {
		t.Errorf("paced download of %d bytes took %v", len(r.body), d)
	}
	if e.srv.ConnContext(context.Background(), nil).Value(paceKey{}) == nil {
		t.Error("ConnContext gives the connection no bandwidth budget")
	}
	start = time.Now()
	e.oss(http.MethodGet, "/buckets", nil).want(t, http.StatusOK)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
}

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(epoch)
	c.Advance(time.Hour)
	if !c.Now().Equal(epoch.Add(time.Hour)) {
		t.Error("Advance")
	}
	c.Set(epoch)
	if !c.Now().Equal(epoch) {
		t.Error("Set")
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []Options{
		{Apps: []App{{ClientID: "a"}}},
		{Apps: []App{{ClientID: "a", ClientSecret: "s"}, {ClientID: "a", ClientSecret: "t"}}},
		{Apps: []App{{ClientID: "a", ClientSecret: "s", Scopes: []string{"data:fly"}}}},
		{QuotaWindow: -1},
		{Bandwidth: -1},
		{PublicURL: "ftp://x"},
		{PublicURL: "http://host/path"},
	}
	for i, o := range bad {
		if o.Validate() == nil {
			t.Errorf("options %d accepted", i)
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Error(err)
	}
}

func TestPublicURL(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.PublicURL = "https://emu.example:8443/" })
	e.createBucket("pub")
	must(t, e.srv.PutObject("pub", "k", nil, ""))
	d := e.oss(http.MethodGet, objectPath("pub", "k", "details"), nil).json(t)
	if d["location"] != "https://emu.example:8443/oss/v2/buckets/pub/objects/k" {
		t.Errorf("location %v", d["location"])
	}
}
