package oss_test

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/oss"
)

// The conformance suite runs the real client against the emulator through
// httptest. When APS_CLIENT_ID is set and OSSFS_ENDPOINT is not loopback it runs
// against real APS instead (in a new transient bucket it deletes afterwards), and
// the tests that need the emulator's clock, faults or stats skip.

const (
	testClientID     = "conformance-app"
	testClientSecret = "conformance-secret"
	mib              = 1 << 20
)

// suite is one client talking to one target with a fresh bucket.
type suite struct {
	c      *oss.Client
	opts   oss.Options         // the options c was made with
	emu    *emulator.Server    // nil against real APS
	clock  *emulator.FakeClock // nil against real APS
	url    string              // the endpoint
	bucket string
}

// config adjusts a suite before it starts.
type config struct {
	emu    func(*emulator.Options)
	client func(*oss.Options)
}

func withEmulator(f func(*emulator.Options)) func(*config) {
	return func(c *config) { c.emu = f }
}

func withClient(f func(*oss.Options)) func(*config) {
	return func(c *config) { c.client = f }
}

// onRealAPS says whether the suite targets real APS.
func onRealAPS() bool {
	if os.Getenv("APS_CLIENT_ID") == "" {
		return false
	}
	ep := os.Getenv("OSSFS_ENDPOINT")
	if ep == "" {
		return true
	}
	u, err := url.Parse(ep)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback())
}

func newSuite(t *testing.T, mods ...func(*config)) *suite {
	t.Helper()
	var cfg config
	for _, m := range mods {
		m(&cfg)
	}
	if onRealAPS() {
		return newRealSuite(t, cfg)
	}
	clock := emulator.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	eo := emulator.DefaultOptions()
	eo.Apps = []emulator.App{{ClientID: testClientID, ClientSecret: testClientSecret}}
	eo.Clock = clock
	eo.Quota = -1
	eo.FaultSeed = 1
	if cfg.emu != nil {
		cfg.emu(&eo)
	}
	srv, err := emulator.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })

	co := oss.DefaultOptions()
	co.Endpoint = ts.URL
	co.ClientID, co.ClientSecret = testClientID, testClientSecret
	co.Now = clock.Now
	co.Retry.BaseDelay, co.Retry.MaxDelay = time.Millisecond, 20*time.Millisecond
	if cfg.client != nil {
		cfg.client(&co)
	}
	s := &suite{c: newClient(t, co), opts: co, emu: srv, clock: clock, url: ts.URL, bucket: "conformance-" + randomHex(4)}
	if _, err := s.c.CreateBucket(ctx(t), oss.CreateBucketRequest{Key: s.bucket, Policy: "transient"}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return s
}

func newRealSuite(t *testing.T, cfg config) *suite {
	co := oss.DefaultOptions()
	if ep := os.Getenv("OSSFS_ENDPOINT"); ep != "" {
		co.Endpoint = ep
	}
	co.ClientID, co.ClientSecret = os.Getenv("APS_CLIENT_ID"), os.Getenv("APS_CLIENT_SECRET")
	if cfg.client != nil {
		cfg.client(&co)
	}
	s := &suite{c: newClient(t, co), opts: co, url: co.Endpoint, bucket: "ossfs-conformance-" + randomHex(6)}
	if _, err := s.c.CreateBucket(ctx(t), oss.CreateBucketRequest{Key: s.bucket, Policy: "transient"}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	t.Cleanup(func() {
		c := context.Background()
		objs, _ := s.c.ListObjects(c, s.bucket, oss.ListOptions{})
		for _, o := range objs {
			_ = s.c.DeleteObject(c, s.bucket, o.Key)
		}
		_ = s.c.DeleteBucket(c, s.bucket)
	})
	return s
}

// needEmulator skips a test that needs the emulator's clock, faults or stats.
func (s *suite) needEmulator(t *testing.T) {
	t.Helper()
	if s.emu == nil {
		t.Skip("needs the emulator (clock, faults or stats); running against real APS")
	}
}

func newClient(t *testing.T, o oss.Options) *oss.Client {
	t.Helper()
	c, err := oss.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

func sha1Hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// wantErr fails unless err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// put uploads size bytes of ra under key in parts of partSize through the
// direct-to-S3 flow, fetching fresh URLs (same uploadKey) when one is refused as
// expired, and finalizes with size, eTags and the sha1 it computed.
func (s *suite) put(t *testing.T, key string, ra io.ReaderAt, size, partSize int64) *oss.Object {
	t.Helper()
	obj, err := putObject(ctx(t), s.c, s.bucket, key, ra, size, partSize, oss.CompleteRequest{})
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return obj
}

// get downloads the whole object under key.
func (s *suite) get(t *testing.T, key string) []byte {
	t.Helper()
	var buf writerAt
	if _, err := getObject(ctx(t), s.c, s.bucket, key, &buf, 8*mib); err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return buf.b
}

// writerAt is an in-memory io.WriterAt.
type writerAt struct{ b []byte }

func (w *writerAt) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(w.b)) {
		w.b = append(w.b, make([]byte, end-int64(len(w.b)))...)
	}
	copy(w.b[off:], p)
	return len(p), nil
}
