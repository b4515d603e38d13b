package transfer

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
)

const bucket = "transfer-test"

// env is an Engine over a real client talking to an emulator through httptest,
// all on one fake clock.
type env struct {
	e     *Engine
	c     *oss.Client
	emu   *emulator.Server
	clock *emulator.FakeClock
}

func newEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	clock := emulator.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	eo := emulator.DefaultOptions()
	eo.Apps = []emulator.App{{ClientID: "id", ClientSecret: "secret"}}
	eo.Clock, eo.Quota, eo.FaultSeed = clock, -1, 1
	srv, err := emulator.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	if err := srv.CreateBucket(bucket, "persistent", "US", "id"); err != nil {
		t.Fatal(err)
	}
	co := oss.DefaultOptions()
	co.Endpoint, co.ClientID, co.ClientSecret, co.Now = ts.URL, "id", "secret", clock.Now
	co.Retry.BaseDelay, co.Retry.MaxDelay = time.Millisecond, 10*time.Millisecond
	c, err := oss.New(co)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Now, o.RangeSize, o.Concurrency = clock.Now, mib, 4
	if mod != nil {
		mod(&o)
	}
	e, err := New(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{e: e, c: c, emu: srv, clock: clock}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func (v *env) putDirect(t *testing.T, key string, data []byte) {
	t.Helper()
	if err := v.emu.PutObject(bucket, key, data, ""); err != nil {
		t.Fatal(err)
	}
}

func TestReaderRanges(t *testing.T) {
	v := newEnv(t, nil)
	p := testbytes.Pattern{Seed: 1}
	const size = 5*mib + 123
	v.putDirect(t, "r", p.Bytes(0, size))
	r, err := v.e.Open(ctx(t), bucket, "r")
	if err != nil {
		t.Fatal(err)
	}
	if id := r.Identity(); id.Size != size || id.SHA1 != p.SHA1(size) {
		t.Fatalf("identity %+v", id)
	}
	for _, rg := range []struct {
		off   int64
		n     int
		wantN int
	}{
		{0, 1, 1}, {100, 4096, 4096}, {mib - 10, 20, 20}, {0, size, size}, {3 * mib, 3 * mib, size - 3*mib}, {size - 1, 10, 1},
	} {
		buf := make([]byte, rg.n)
		n, err := r.ReadAt(ctx(t), buf, rg.off)
		if n != rg.wantN || (n < rg.n) != errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, io.EOF)) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", rg.off, rg.n, n, err)
		}
		if !bytes.Equal(buf[:n], p.Bytes(rg.off, int64(n))) {
			t.Fatalf("ReadAt(%d, %d): wrong bytes", rg.off, rg.n)
		}
	}
	if _, err := r.ReadAt(ctx(t), make([]byte, 1), size); !errors.Is(err, io.EOF) {
		t.Fatalf("read at the end: %v", err)
	}
	calls := v.c.Calls()
	if calls[oss.OpSignedS3Download] != 1 {
		t.Fatalf("signeds3download calls = %d, want 1 for the URL's lifetime", calls[oss.OpSignedS3Download])
	}
	// The whole-object read of 5 MiB + 123 with 1 MiB ranges is 6 GETs; the rest 7.
	if calls[oss.OpS3Download] != 13 {
		t.Fatalf("s3.download calls = %d, want 13", calls[oss.OpS3Download])
	}
}

func TestReaderRefreshesURLAheadOfExpiry(t *testing.T) {
	v := newEnv(t, nil)
	v.putDirect(t, "r", []byte("0123456789"))
	r, err := v.e.Open(ctx(t), bucket, "r")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	for i := range 4 {
		if _, err := r.ReadAt(ctx(t), buf, 2); err != nil || string(buf) != "2345" {
			t.Fatalf("read %d: %q, %v", i, buf, err)
		}
		v.clock.Advance(50 * time.Second) // a 2-minute URL is refreshed within its last 30 s
	}
	if n := v.c.Calls()[oss.OpSignedS3Download]; n != 2 {
		t.Fatalf("signeds3download calls = %d over 150 s of 2-minute URLs, want 2", n)
	}
}

func TestReaderURLRefusedMidRead(t *testing.T) {
	v := newEnv(t, nil)
	p := testbytes.Pattern{Seed: 2}
	v.putDirect(t, "r", p.Bytes(0, 3*mib))
	r, err := v.e.Open(ctx(t), bucket, "r")
	if err != nil {
		t.Fatal(err)
	}
	v.emu.SetFaults([]emulator.FaultRule{{Endpoint: emulator.EndpointS3Download, Every: 1, Times: 2, ExpireURL: true}})
	buf := make([]byte, 3*mib)
	if _, err := r.ReadAt(ctx(t), buf, 0); err != nil || !bytes.Equal(buf, p.Bytes(0, 3*mib)) {
		t.Fatalf("read across refused URLs: %v", err)
	}
}

func TestReaderResumesBrokenBodies(t *testing.T) {
	v := newEnv(t, nil)
	p := testbytes.Pattern{Seed: 3}
	v.putDirect(t, "r", p.Bytes(0, 4*mib))
	v.emu.SetFaults([]emulator.FaultRule{
		{Endpoint: emulator.EndpointS3Download, Every: 2, Truncate: 100000},
		{Endpoint: emulator.EndpointS3Download, Every: 5, Reset: true},
	})
	var out bytes.Buffer
	id, err := v.e.DownloadTo(ctx(t), bucket, "r", &out)
	if err != nil {
		t.Fatal(err)
	}
	if sha1Hex(out.Bytes()) != p.SHA1(4*mib) || id.SHA1 != p.SHA1(4*mib) {
		t.Fatal("downloaded bytes differ")
	}
	if n := v.c.Calls()[oss.OpS3Download]; n <= 4 {
		t.Fatalf("s3.download calls = %d: no body broke", n)
	}
}

func TestReaderDetectsReplacement(t *testing.T) {
	for _, tc := range []struct {
		name string
		next []byte
	}{
		{"same size", bytes.Repeat([]byte("b"), 2*mib)},
		{"other size", bytes.Repeat([]byte("b"), 2*mib+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, nil)
			v.putDirect(t, "r", bytes.Repeat([]byte("a"), 2*mib))
			r, err := v.e.Open(ctx(t), bucket, "r")
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 10)
			if _, err := r.ReadAt(ctx(t), buf, 0); err != nil || string(buf) != "aaaaaaaaaa" {
				t.Fatalf("first read: %q %v", buf, err)
			}
			v.putDirect(t, "r", tc.next)
			if _, err := r.ReadAt(ctx(t), buf, mib); !errors.Is(err, ErrStale) {
				t.Fatalf("read after replacement: %v, want ErrStale", err)
			}
			v.clock.Advance(5 * time.Minute) // and after a URL refresh too
			if _, err := r.ReadAt(ctx(t), buf, mib); !errors.Is(err, ErrStale) {
				t.Fatalf("read after replacement and URL refresh: %v, want ErrStale", err)
			}
			r2, err := v.e.Open(ctx(t), bucket, "r")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r2.ReadAt(ctx(t), buf, 0); err != nil || string(buf) != "bbbbbbbbbb" {
				t.Fatalf("a new reader reads the new version: %q %v", buf, err)
			}
		})
	}
}

// lyingClient reports a wrong sha1 for every object.
type lyingClient struct{ *oss.Client }

func (l lyingClient) SignedDownloadURL(ctx context.Context, b, k string, o oss.DownloadURLOptions) (*oss.SignedDownload, error) {
	sd, err := l.Client.SignedDownloadURL(ctx, b, k, o)
	if sd != nil {
		sd.SHA1 = sha1Hex([]byte("something else"))
	}
	return sd, err
}

func TestDownloadToChecksSHA1(t *testing.T) {
	v := newEnv(t, nil)
	v.putDirect(t, "r", []byte("payload"))
	e, err := New(lyingClient{v.c}, v.e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.DownloadTo(ctx(t), bucket, "r", io.Discard); !errors.Is(err, ErrChecksum) {
		t.Fatalf("download with a wrong sha1: %v, want ErrChecksum", err)
	}
}

func TestUploadFromSizes(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.PartSize = MinPartSize })
	p := testbytes.Pattern{Seed: 4}
	for _, size := range []int64{0, 1, MinPartSize - 1, MinPartSize, MinPartSize + 1, 3*MinPartSize + 7} {
		key := "u/" + time.Duration(size).String()
		obj, err := v.e.UploadFrom(ctx(t), bucket, key, io.NewSectionReader(p, 0, size), size, UploadOptions{ContentType: "application/x-test"})
		if err != nil {
			t.Fatalf("upload of %d bytes: %v", size, err)
		}
		if obj.Size != size || obj.SHA1 != p.SHA1(size) {
			t.Fatalf("upload of %d bytes: %+v", size, obj)
		}
		var out bytes.Buffer
		if _, err := v.e.DownloadTo(ctx(t), bucket, key, &out); err != nil || sha1Hex(out.Bytes()) != p.SHA1(size) {
			t.Fatalf("download of %d bytes: %v", size, err)
		}
	}
}

func TestUploadAsksForURLsLazilyIn25s(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.PartSize = MinPartSize })
	const size = 27 * MinPartSize
	p := testbytes.Pattern{Seed: 5}
	if _, err := v.e.UploadFrom(ctx(t), bucket, "many-parts", io.NewSectionReader(p, 0, size), size, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	calls := v.c.Calls()
	if calls[oss.OpSignedS3UploadGet] != 2 || calls[oss.OpS3Upload] != 27 || calls[oss.OpSignedS3UploadComplete] != 1 || calls[oss.OpObjectsDetails] != 1 {
		t.Fatalf("calls for a 27-part upload = %v, want 2 URL requests, 27 PUTs, 1 completion, 1 details", calls)
	}
}

// A one-part upload under MinPartSize is checked by S3 against the part's
// Content-MD5 instead of by a details call: 2 OSS calls for a small file.
func TestSmallUploadCheckedByMD5(t *testing.T) {
	v := newEnv(t, nil)
	p := testbytes.Pattern{Seed: 8}
	for _, size := range []int64{0, 1, 32 << 10, MinPartSize - 1} {
		v.c.ResetCalls()
		key := fmt.Sprintf("small/%d", size)
		obj, err := v.e.UploadFrom(ctx(t), bucket, key, io.NewSectionReader(p, 0, size), size, UploadOptions{})
		if err != nil || obj.SHA1 != p.SHA1(size) || obj.Size != size {
			t.Fatalf("upload of %d bytes: %+v %v", size, obj, err)
		}
		calls := v.c.Calls()
		if calls[oss.OpSignedS3UploadGet] != 1 || calls[oss.OpS3Upload] != 1 || calls[oss.OpSignedS3UploadComplete] != 1 || calls[oss.OpObjectsDetails] != 0 {
			t.Fatalf("calls for a %d-byte upload = %v, want 1 URL request, 1 PUT, 1 completion, no details", size, calls)
		}
		got, err := v.c.ObjectDetails(ctx(t), bucket, key, oss.DetailsOptions{})
		if err != nil || got.SHA1 != p.SHA1(size) {
			t.Fatalf("APS holds %+v (%v), want sha1 %s", got, err, p.SHA1(size))
		}
	}
}

func TestUploadURLRefusedMidUpload(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.PartSize = MinPartSize })
	v.emu.SetFaults([]emulator.FaultRule{{Endpoint: emulator.EndpointS3Upload, After: 1, Every: 1, Times: 1, ExpireURL: true}})
	p := testbytes.Pattern{Seed: 6}
	obj, err := v.e.UploadFrom(ctx(t), bucket, "x", io.NewSectionReader(p, 0, 2*MinPartSize), 2*MinPartSize, UploadOptions{})
	if err != nil || obj.SHA1 != p.SHA1(2*MinPartSize) {
		t.Fatalf("upload across a refused URL: %+v %v", obj, err)
	}
	if n := v.c.Calls()[oss.OpSignedS3UploadGet]; n != 2 {
		t.Fatalf("signeds3upload calls = %d, want 2", n)
	}
}

// gatedURLs holds each URL request until the test lets it go, and answers
// it with what the test says.
type gatedURLs struct {
	*oss.Client
	entered chan struct{}                    // a request arrived
	answer  chan func(context.Context) error // how to answer it: nil error = the real request
}

func newGatedURLs(c *oss.Client) *gatedURLs {
	return &gatedURLs{Client: c, entered: make(chan struct{}, 16), answer: make(chan func(context.Context) error, 16)}
}

func (g *gatedURLs) SignedUploadURLs(ctx context.Context, bucketKey, objectKey string, opts oss.UploadURLOptions) (*oss.SignedUpload, error) {
	g.entered <- struct{}{}
	if err := (<-g.answer)(ctx); err != nil {
		return nil, err
	}
	return g.Client.SignedUploadURLs(ctx, bucketKey, objectKey, opts)
}

// waitForURLWaiters polls, with a deadline, until n goroutines wait for the
// URL request another one makes (blocked on Upload.fetchMu in partURL).
func waitForURLWaiters(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		waiting := 0
		for _, g := range strings.Split(string(buf), "\n\n") {
			lock := strings.Index(g, "\nsync.(*Mutex).Lock(")
			if lock >= 0 && strings.HasPrefix(strings.SplitN(g[lock+1:], "\n", 4)[2], "github.com/ossfs/ossfs/transfer.(*Upload).partURL(") {
				waiting++
			}
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines wait for URLs, want %d", waiting, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Parts waiting for URLs while the request for them fails take that failure:
// the request went through every retry already (regression: each waiting
// part made the failing request again with every retry, so a sequential
// writer's close waited one whole retry budget per part handed out).
func TestUploadPartsShareAFailedURLRequest(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.PartSize = MinPartSize })
	g := newGatedURLs(v.c)
	e, err := New(g, v.e.opts)
	if err != nil {
		t.Fatal(err)
	}
	p := testbytes.Pattern{Seed: 8}
	u := e.NewUpload(bucket, "urls-down", UploadOptions{})
	const parts = 4
	errs := make(chan error, parts)
	put := func(n int) {
		errs <- u.PutPart(ctx(t), n, io.NewSectionReader(p, int64(n-1)*MinPartSize, MinPartSize), MinPartSize)
	}
	go put(1)
	<-g.entered
	for n := 2; n <= parts; n++ {
		go put(n)
	}
	waitForURLWaiters(t, parts-1)
	failure := &oss.APIError{Op: oss.OpSignedS3UploadGet, Status: 500}
	fail := func(context.Context) error { return failure }
	g.answer <- fail
	more := 0
	for done := 0; done < parts; {
		select {
		case err := <-errs:
			done++
			if !errors.Is(err, failure) {
				t.Errorf("a part put while its URL request failed: %v, want that request's failure", err)
			}
		case <-g.entered: // a waiting part asks again
			more++
			g.answer <- fail
		}
	}
	if more != 0 {
		t.Errorf("%d more URL requests made by the parts that waited, want none", more)
	}
	// A later part makes its own request.
	g.answer <- func(context.Context) error { return nil }
	if err := u.PutPart(ctx(t), 1, io.NewSectionReader(p, 0, MinPartSize), MinPartSize); err != nil {
		t.Fatalf("a part put after the failure: %v", err)
	}
}

// A request that failed because its caller gave up is not the service's
// failure: a part waiting behind it makes its own.
func TestUploadPartsDoNotShareACallersCancellation(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.PartSize = MinPartSize })
	g := newGatedURLs(v.c)
	e, err := New(g, v.e.opts)
	if err != nil {
		t.Fatal(err)
	}
	p := testbytes.Pattern{Seed: 9}
	u := e.NewUpload(bucket, "cancelled", UploadOptions{})
	first, cancel := context.WithCancel(ctx(t))
	firstErr, secondErr := make(chan error, 1), make(chan error, 1)
	go func() { firstErr <- u.PutPart(first, 1, io.NewSectionReader(p, 0, MinPartSize), MinPartSize) }()
	<-g.entered
	go func() {
		secondErr <- u.PutPart(ctx(t), 2, io.NewSectionReader(p, MinPartSize, MinPartSize), MinPartSize)
	}()
	waitForURLWaiters(t, 1)
	cancel()
	g.answer <- func(ctx context.Context) error { return ctx.Err() }
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled part: %v", err)
	}
	g.answer <- func(context.Context) error { return nil }
	if err := <-secondErr; err != nil {
		t.Fatalf("a part waiting behind a cancelled request: %v", err)
	}
}

func TestUploadPartRewrittenLastWins(t *testing.T) {
	v := newEnv(t, nil)
	u := v.e.NewUpload(bucket, "rw", UploadOptions{})
	if err := u.PutPart(ctx(t), 1, bytes.NewReader([]byte("first")), 5); err != nil {
		t.Fatal(err)
	}
	if err := u.PutPart(ctx(t), 1, bytes.NewReader([]byte("again")), 5); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Complete(ctx(t), 5, sha1Hex([]byte("again"))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := v.e.DownloadTo(ctx(t), bucket, "rw", &out); err != nil || out.String() != "again" {
		t.Fatalf("object holds %q, %v", out.String(), err)
	}
}

func TestUploadResumedFromSavedState(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.PartSize = MinPartSize })
	p := testbytes.Pattern{Seed: 7}
	const size = 2*MinPartSize + 10
	u := v.e.NewUpload(bucket, "resumed", UploadOptions{ContentType: "text/x-resumed"})
	for n := 1; n <= 2; n++ {
		off := int64(n-1) * MinPartSize
		if err := u.PutPart(ctx(t), n, io.NewSectionReader(p, off, MinPartSize), MinPartSize); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := json.Marshal(u.State())
	if err != nil {
		t.Fatal(err)
	}

	// Another engine (a restarted process) finishes it.
	var st UploadState
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	e2, err := New(v.c, v.e.opts)
	if err != nil {
		t.Fatal(err)
	}
	u2 := e2.ResumeUpload(st)
	if err := u2.PutPart(ctx(t), 3, io.NewSectionReader(p, 2*MinPartSize, 10), 10); err != nil {
		t.Fatal(err)
	}
	obj, err := u2.Complete(ctx(t), size, p.SHA1(size))
	if err != nil || obj.SHA1 != p.SHA1(size) {
		t.Fatalf("resumed upload: %+v %v", obj, err)
	}
	if n := v.c.Calls()[oss.OpSignedS3UploadGet]; n != 2 {
		t.Fatalf("signeds3upload calls = %d, want 2 (one per process)", n)
	}
}

func TestUploadCompleteRefusesGaps(t *testing.T) {
	v := newEnv(t, nil)
	u := v.e.NewUpload(bucket, "gap", UploadOptions{})
	if err := u.PutPart(ctx(t), 2, bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Complete(ctx(t), 1, ""); !errors.Is(err, ErrUploadIncomplete) {
		t.Fatalf("completion without part 1: %v", err)
	}
}

// growing is a source that holds one byte more than the uploader was told.
type growing struct{ testbytes.Pattern }

func TestUploadFromSourceChangedSize(t *testing.T) {
	v := newEnv(t, nil)
	p := testbytes.Pattern{Seed: 8}
	_, err := v.e.UploadFrom(ctx(t), bucket, "grown", growing{p}, 100, UploadOptions{})
	if !errors.Is(err, ErrSourceChanged) {
		t.Fatalf("upload of a grown source: %v", err)
	}
	short := io.NewSectionReader(p, 0, 50)
	_, err = v.e.UploadFrom(ctx(t), bucket, "shrunk", short, 100, UploadOptions{})
	if !errors.Is(err, ErrSourceChanged) {
		t.Fatalf("upload of a shrunk source: %v", err)
	}
	for _, key := range []string{"grown", "shrunk"} {
		if _, err := v.c.ObjectDetails(ctx(t), bucket, key, oss.DetailsOptions{}); !errors.Is(err, oss.ErrNotFound) {
			t.Fatalf("%s exists after a refused upload: %v", key, err)
		}
	}
}

func TestPartSizeFor(t *testing.T) {
	for _, tc := range []struct{ size, base, want int64 }{
		{0, 8 * mib, 8 * mib},
		{10 * mib, 0, MinPartSize},
		{80000 * mib, 8 * mib, 8 * mib},
		{80000*mib + 1, 8 * mib, 9 * mib},
		{5 << 40, 8 * mib, 525 * mib},
	} {
		got := PartSizeFor(tc.size, tc.base)
		if got != tc.want {
			t.Errorf("PartSizeFor(%d, %d) = %d, want %d", tc.size, tc.base, got, tc.want)
		}
		if partCount(tc.size, got) > MaxParts {
			t.Errorf("PartSizeFor(%d) needs %d parts", tc.size, partCount(tc.size, got))
		}
	}
}

func TestDownloadToFileWritesRangesInParallel(t *testing.T) {
	v := newEnv(t, nil)
	p := testbytes.Pattern{Seed: 12}
	const size = 9*mib + 77
	v.putDirect(t, "f", p.Bytes(0, size))
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := v.e.DownloadToFile(ctx(t), bucket, "f", f)
	if err != nil || id.Size != size {
		t.Fatalf("DownloadToFile: %+v %v", id, err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || sha1Hex(got) != p.SHA1(size) {
		t.Fatalf("file holds %d bytes with another sha1 (%v)", len(got), err)
	}
	e, _ := New(lyingClient{v.c}, v.e.opts)
	if _, err := e.DownloadToFile(ctx(t), bucket, "f", f); !errors.Is(err, ErrChecksum) {
		t.Fatalf("DownloadToFile with a wrong sha1: %v", err)
	}
}
