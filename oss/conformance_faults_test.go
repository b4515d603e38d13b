package oss_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
)

// Each fault kind the emulator can inject, met by the client. Fault tests need the
// emulator; against real APS they skip.

func TestFaultStatusRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rule   emulator.FaultRule
		ep     string
		calls  int64
		target error // nil: the call succeeds
	}{
		{"503 once", emulator.FaultRule{Endpoint: emulator.EndpointObjectsDetails, Every: 1, Times: 1, Status: 503}, oss.OpObjectsDetails, 2, nil},
		{"500 twice", emulator.FaultRule{Endpoint: "oss", Every: 1, Times: 2, Status: 500}, oss.OpObjectsDetails, 3, nil},
		{"429 with Retry-After", emulator.FaultRule{Endpoint: emulator.EndpointObjectsDetails, Every: 1, Times: 1, Status: 429, RetryAfter: 1}, oss.OpObjectsDetails, 2, nil},
		{"reset", emulator.FaultRule{Endpoint: emulator.EndpointObjectsDetails, Every: 1, Times: 1, Reset: true}, oss.OpObjectsDetails, 2, nil},
		{"delay", emulator.FaultRule{Endpoint: emulator.EndpointObjectsDetails, Every: 1, Times: 1, Delay: emulator.Duration(20 * time.Millisecond)}, oss.OpObjectsDetails, 1, nil},
		{"403 not retried", emulator.FaultRule{Endpoint: emulator.EndpointObjectsDetails, Every: 1, Status: 403}, oss.OpObjectsDetails, 1, oss.ErrAccessDenied},
		{"404 not retried", emulator.FaultRule{Endpoint: emulator.EndpointObjectsDetails, Every: 1, Status: 404}, oss.OpObjectsDetails, 1, oss.ErrNotFound},
		{"503 forever gives up", emulator.FaultRule{Endpoint: emulator.EndpointObjectsDetails, Every: 1, Status: 503}, oss.OpObjectsDetails, 6, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSuite(t)
			s.needEmulator(t)
			s.emu.PutObject(s.bucket, "f", []byte("f"), "")
			s.emu.SetFaults([]emulator.FaultRule{tc.rule})
			_, err := s.c.ObjectDetails(ctx(t), s.bucket, "f", oss.DetailsOptions{})
			switch {
			case tc.target == nil && err != nil:
				t.Fatalf("details under %s: %v", tc.name, err)
			case tc.target == errAny && err == nil, tc.target != nil && tc.target != errAny && !errors.Is(err, tc.target):
				t.Fatalf("details under %s: got %v, want %v", tc.name, err, tc.target)
			}
			// A dropped connection may be retried by net/http itself (an idempotent
			// request on a reused connection), unseen by the client's counter: the
			// emulator's count is the one that tells.
			if got := s.emu.Stats().Calls[tc.ep]; got != tc.calls {
				t.Fatalf("%s requests = %d, want %d", tc.ep, got, tc.calls)
			}
			if got := s.c.Calls()[tc.ep]; got > tc.calls || (!tc.rule.Reset && got != tc.calls) {
				t.Fatalf("%s calls counted by the client = %d, want %d", tc.ep, got, tc.calls)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestFaultsOnSignedURLs(t *testing.T) {
	p := testbytes.Pattern{Seed: 11}
	const size = 12 * mib // three parts of 5, 5 and 2 MiB; two 8 MiB ranges
	for _, tc := range []struct {
		name  string
		rule  emulator.FaultRule
		check func(t *testing.T, calls map[string]int64) // requests the emulator received
	}{
		{"expired upload URL", emulator.FaultRule{Endpoint: emulator.EndpointS3Upload, Every: 1, Times: 1, ExpireURL: true}, func(t *testing.T, calls map[string]int64) {
			wantCalls(t, calls, oss.OpSignedS3UploadGet, 2)
			wantCalls(t, calls, oss.OpS3Upload, 4)
		}},
		{"reset upload", emulator.FaultRule{Endpoint: emulator.EndpointS3Upload, Every: 2, Times: 1, Reset: true}, func(t *testing.T, calls map[string]int64) {
			wantCalls(t, calls, oss.OpS3Upload, 4)
		}},
		{"503 SlowDown on upload", emulator.FaultRule{Endpoint: emulator.EndpointS3Upload, Every: 1, Times: 2, Status: 503}, func(t *testing.T, calls map[string]int64) {
			wantCalls(t, calls, oss.OpS3Upload, 5)
		}},
		{"truncated download", emulator.FaultRule{Endpoint: emulator.EndpointS3Download, Every: 1, Times: 1, Truncate: 1000}, func(t *testing.T, calls map[string]int64) {
			wantCalls(t, calls, oss.OpS3Download, 3)
		}},
		{"expired download URL", emulator.FaultRule{Endpoint: emulator.EndpointS3Download, Every: 1, Times: 1, ExpireURL: true}, func(t *testing.T, calls map[string]int64) {
			wantCalls(t, calls, oss.OpSignedS3Download, 2)
			wantCalls(t, calls, oss.OpS3Download, 3)
		}},
		{"reset download", emulator.FaultRule{Endpoint: emulator.EndpointS3Download, Every: 1, Times: 1, Reset: true}, func(t *testing.T, calls map[string]int64) {
			wantCalls(t, calls, oss.OpS3Download, 3)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSuite(t)
			s.needEmulator(t)
			s.emu.SetFaults([]emulator.FaultRule{tc.rule})
			s.put(t, "x", p, size, 5*mib)
			d, err := s.c.ObjectDetails(ctx(t), s.bucket, "x", oss.DetailsOptions{})
			if err != nil || d.SHA1 != p.SHA1(size) {
				t.Fatalf("uploaded object = %+v, %v", d, err)
			}
			if got := s.get(t, "x"); sha1Hex(got) != p.SHA1(size) {
				t.Fatal("downloaded bytes differ")
			}
			tc.check(t, s.emu.Stats().Calls)
		})
	}
}

func wantCalls(t *testing.T, calls map[string]int64, ep string, want int64) {
	t.Helper()
	if calls[ep] != want {
		t.Fatalf("%s calls = %d, want %d (all: %v)", ep, calls[ep], want, calls)
	}
}

func TestFaultOmitSHA1(t *testing.T) {
	s := newSuite(t)
	s.needEmulator(t)
	s.emu.PutObject(s.bucket, "n", []byte("n"), "")
	s.emu.SetFaults([]emulator.FaultRule{{Endpoint: "oss", Every: 1, OmitSHA1: true}})
	d, err := s.c.ObjectDetails(ctx(t), s.bucket, "n", oss.DetailsOptions{})
	if err != nil || d.SHA1 != "" || d.Size != 1 {
		t.Fatalf("details without sha1 = %+v, %v", d, err)
	}
	sd, err := s.c.SignedDownloadURL(ctx(t), s.bucket, "n", oss.DownloadURLOptions{})
	if err != nil || sd.SHA1 != "" {
		t.Fatalf("signeds3download without sha1 = %+v, %v", sd, err)
	}
}

func TestFaultRulesAtRuntimeOverHTTP(t *testing.T) {
	s := newSuite(t)
	s.needEmulator(t)
	s.emu.PutObject(s.bucket, "r", []byte("r"), "")
	rules := `[{"endpoint":"objects.details","every":1,"status":404}]`
	resp, err := http.Post(s.url+"/emulator/faults", "application/json", strings.NewReader(rules))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /emulator/faults: %v %v", resp, err)
	}
	resp.Body.Close()
	_, err = s.c.ObjectDetails(ctx(t), s.bucket, "r", oss.DetailsOptions{})
	wantErr(t, "details under a runtime 404 rule", err, oss.ErrNotFound)

	req, _ := http.NewRequest(http.MethodDelete, s.url+"/emulator/faults", nil)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := s.c.ObjectDetails(ctx(t), s.bucket, "r", oss.DetailsOptions{}); err != nil {
		t.Fatalf("details after clearing the rules: %v", err)
	}

	resp, err = http.Get(s.url + "/emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st emulator.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	client := s.c.Calls()
	for _, ep := range []string{oss.OpObjectsDetails, oss.OpBucketsCreate, oss.OpToken} {
		if st.Calls[ep] != client[ep] {
			t.Fatalf("%s: emulator counted %d calls, client %d", ep, st.Calls[ep], client[ep])
		}
	}
}

// TestRoundTrip64MiBUnderFaults is the acceptance flow: a 64 MiB object in
// 5 MiB parts up and back in 8 MiB ranges while about one signed-URL request in
// ten fails (5xx, reset, truncated body or early expiry).
func TestRoundTrip64MiBUnderFaults(t *testing.T) {
	s := newSuite(t)
	const size = 64 * mib
	p := testbytes.Pattern{Seed: 64}
	if s.emu != nil {
		s.emu.SetFaults([]emulator.FaultRule{
			{Endpoint: "s3", Probability: 0.04, Status: 503},
			{Endpoint: "s3", Probability: 0.02, Status: 500},
			{Endpoint: "s3", Probability: 0.02, Reset: true},
			{Endpoint: emulator.EndpointS3Download, Probability: 0.03, Truncate: 512 * 1024},
			{Endpoint: "s3", Probability: 0.02, ExpireURL: true},
		})
	}
	put := s.put(t, "big/64MiB.bin", p, size, 5*mib)
	if put.Size != size {
		t.Fatalf("completion size %d", put.Size)
	}
	d, err := s.c.ObjectDetails(ctx(t), s.bucket, "big/64MiB.bin", oss.DetailsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := p.SHA1(size)
	if d.SHA1 != want {
		t.Fatalf("stored sha1 %s, want %s", d.SHA1, want)
	}
	got := s.get(t, "big/64MiB.bin")
	if int64(len(got)) != size || sha1Hex(got) != want {
		t.Fatalf("downloaded %d bytes with sha1 %s, want %s", len(got), sha1Hex(got), want)
	}
	if s.emu == nil {
		return
	}
	calls := s.c.Calls()
	const parts, ranges = 13, 8
	if calls[oss.OpS3Upload]+calls[oss.OpS3Download] <= parts+ranges {
		t.Fatalf("no signed-URL request failed: %v", calls)
	}
	if calls[oss.OpS3Upload] > 2*parts || calls[oss.OpS3Download] > 3*ranges {
		t.Fatalf("faults cost more requests than a 10%% failure rate should: %v", calls)
	}
	if bytes.Contains([]byte(put.Location), []byte("X-Amz")) {
		t.Fatal("location carries a signature")
	}
}
