package transfer

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
)

// clockJumper advances the shared fake clock by step before chosen requests
// (each once: parts 8, 16, 24 and 32 up, every 64 MiB down), so the transfer
// crosses URL expiry (2 minutes) and token expiry (an hour) without sleeping,
// at points that do not depend on goroutine scheduling.
type clockJumper struct {
	*oss.Client
	clock *emulator.FakeClock
	step  time.Duration

	mu     sync.Mutex
	jumped map[string]bool // guarded by mu
}

func (j *clockJumper) jumpOnce(id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.jumped[id] {
		j.jumped[id] = true
		j.clock.Advance(j.step)
	}
}

func (j *clockJumper) UploadPartMD5(ctx context.Context, signedURL string, part io.ReaderAt, size int64, md5 []byte) (string, error) {
	if u, err := url.Parse(signedURL); err == nil {
		if pn := u.Query().Get("partNumber"); pn == "8" || pn == "16" || pn == "24" || pn == "32" {
			j.jumpOnce("up" + pn)
		}
	}
	return j.Client.UploadPartMD5(ctx, signedURL, part, size, md5)
}

func (j *clockJumper) Download(ctx context.Context, signedURL string, off, n int64) (*oss.DownloadResponse, error) {
	if off > 0 && off%(64<<20) == 0 {
		j.jumpOnce(fmt.Sprint("down", off))
	}
	return j.Client.Download(ctx, signedURL, off, n)
}

// TestFaults256MiB moves 256 MiB up and back through every fault the issue
// names: 429 bursts with Retry-After, 5xx, resets, truncated bodies, early URL
// expiry, and time jumps that expire URLs and the token mid-transfer. The bytes
// must come back with the same sha1 and the calls stay within stated bounds.
func TestFaults256MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB under faults; skipped with -short")
	}
	v := newEnv(t, func(o *Options) { o.RangeSize, o.PartSize = 8*mib, 8*mib })
	v.emu.SetFaults([]emulator.FaultRule{
		{Endpoint: emulator.EndpointSignedUploadGet, Every: 3, Times: 2, Status: 429, RetryAfter: 1},
		{Endpoint: emulator.EndpointSignedDownload, Every: 1, Times: 1, Status: 429, RetryAfter: 1},
		{Endpoint: "s3", Probability: 0.05, Status: 503},
		{Endpoint: "s3", Probability: 0.03, Reset: true},
		{Endpoint: emulator.EndpointS3Download, Probability: 0.05, Truncate: 3 << 20},
		{Endpoint: "s3", Probability: 0.03, ExpireURL: true},
		{Endpoint: "oss", Probability: 0.05, Status: 500},
	})
	jumper := &clockJumper{Client: v.c, clock: v.clock, step: 20 * time.Minute, jumped: map[string]bool{}}
	e, err := New(jumper, v.e.opts)
	if err != nil {
		t.Fatal(err)
	}
	const size = 256 * mib
	p := testbytes.Pattern{Seed: 256}
	want := p.SHA1(size)
	obj, err := e.UploadFrom(ctx(t), bucket, "big/256MiB", io.NewSectionReader(p, 0, size), size, UploadOptions{})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if obj.SHA1 != want {
		t.Fatalf("uploaded sha1 %s, want %s", obj.SHA1, want)
	}
	h := sha1.New()
	id, err := e.DownloadTo(ctx(t), bucket, "big/256MiB", h)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want || id.Size != size {
		t.Fatalf("downloaded sha1 %s size %d, want %s", got, id.Size, want)
	}

	const parts, ranges = 32, 32
	calls := v.c.Calls()
	t.Logf("calls: %v; clock moved %v", calls, v.clock.Now().Sub(time.Now()).Round(time.Minute))
	bounds := map[string]int64{
		oss.OpS3Upload:               2 * parts,
		oss.OpS3Download:             3 * ranges,
		oss.OpSignedS3UploadGet:      parts, // one per URL lifetime crossed, plus refusals
		oss.OpSignedS3Download:       ranges,
		oss.OpSignedS3UploadComplete: 3,
		oss.OpToken:                  4,
	}
	for ep, bound := range bounds {
		if calls[ep] > bound {
			t.Errorf("%s: %d calls, bound %d", ep, calls[ep], bound)
		}
	}
	if calls[oss.OpToken] < 2 {
		t.Errorf("token calls = %d: the run never crossed token expiry", calls[oss.OpToken])
	}
	if calls[oss.OpS3Upload] <= parts || calls[oss.OpS3Download] <= ranges {
		t.Errorf("no signed-URL request failed: %v", calls)
	}
}
