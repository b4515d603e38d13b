package integration

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
)

// faultFile is one file a fault case writes through the mount.
type faultFile struct {
	key  string
	pat  testbytes.Pattern
	size int64
	sum  string // the sha1 of its bytes
}

func newFaultFile(key string, seed uint64, size int64) faultFile {
	p := testbytes.Pattern{Seed: seed}
	return faultFile{key: key, pat: p, size: size, sum: p.SHA1(size)}
}

func (f faultFile) sha1() string { return f.sum }

// faultFiles are the files of one fault case: an empty one (one empty part),
// one-part files below the 5 MiB part minimum and multi-part ones (8 MiB
// parts), named after the case.
func faultFiles(name string, seed uint64) []faultFile {
	sizes := []int64{0, 1<<10 + 7, 1<<20 + 3, 4<<20 + 5, 20<<20 + 11, 33<<20 - 9}
	files := make([]faultFile, len(sizes))
	for i, size := range sizes {
		files[i] = newFaultFile(fmt.Sprintf("%s-%d", name, i), seed*100+uint64(i), size)
	}
	return files
}

// closeResult is what writing one file through the mount came to.
type closeResult struct {
	f        faultFile
	writeErr error // a write(2) failed: never expected, writes are local
	closeErr error // close(2)'s answer
	// pendingAtClose: when close failed, a sidecar named the key right after.
	pendingAtClose bool
}

// writeThrough creates the file in the mount, writes its bytes sequentially
// and closes it. When close fails it looks for the pending upload at once,
// while the faults still hold.
func writeThrough(m *mountProc, spillDir string, f faultFile) closeResult {
	r := closeResult{f: f}
	fh, err := os.Create(m.path(f.key))
	if err != nil {
		r.writeErr = err
		return r
	}
	if _, err := io.CopyBuffer(fh, f.pat.Reader(f.size), make([]byte, 1<<20)); err != nil {
		r.writeErr = err
	}
	r.closeErr = fh.Close()
	if r.closeErr != nil {
		keys, _ := pendingKeys(spillDir)
		r.pendingAtClose = keys[f.key]
	}
	return r
}

// writeAllThrough writes files concurrently and returns their results, in
// order. A close that never returns fails the test after a deadline.
func writeAllThrough(t *testing.T, m *mountProc, spillDir string, files []faultFile) []closeResult {
	t.Helper()
	done := make(chan closeResult, len(files))
	for _, f := range files {
		go func() { done <- writeThrough(m, spillDir, f) }()
	}
	byKey := map[string]closeResult{}
	deadline := time.After(3 * time.Minute)
	for range files {
		select {
		case r := <-done:
			byKey[r.f.key] = r
		case <-deadline:
			t.Fatalf("writes still not closed after 3 minutes: %d of %d returned", len(byKey), len(files))
		}
	}
	out := make([]closeResult, len(files))
	for i, f := range files {
		out[i] = byKey[f.key]
	}
	return out
}

// pendingKeys reads the keys of the pending uploads kept in spillDir (one
// sidecar each).
func pendingKeys(spillDir string) (map[string]bool, error) {
	sidecars, err := filepath.Glob(filepath.Join(spillDir, "spill-*.json"))
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, p := range sidecars {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed since the glob
		}
		if err != nil {
			return nil, err
		}
		var sc struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(b, &sc); err != nil {
			return nil, fmt.Errorf("sidecar %s: %w", p, err)
		}
		keys[sc.Key] = true
	}
	return keys, nil
}

func mustPendingKeys(t *testing.T, spillDir string) map[string]bool {
	t.Helper()
	keys, err := pendingKeys(spillDir)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// objectSHA1 is the sha1 APS reports for what it holds at key (computed by
// APS from the stored bytes), "" when it holds nothing. checkSettled reads
// the bytes themselves back through the mount.
func (w *world) objectSHA1(t *testing.T, bucket, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := w.c.ObjectDetails(ctx, bucket, key, oss.DetailsOptions{})
	if errors.Is(err, oss.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatalf("details of %q: %v", key, err)
	}
	return o.SHA1
}

// mountSHA1 reads a file through the mount and returns its sha1.
func mountSHA1(m *mountProc, key string) (string, error) {
	f, err := os.Open(m.path(key))
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha1.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkClosed asserts the contract for each result while the faults still
// hold: a close that returned 0 committed exactly the bytes written; a close
// that failed answered an errno and left a pending upload (or one the
// background retry committed already). It returns the failed ones.
func checkClosed(t *testing.T, w *world, bucket, spillDir string, results []closeResult) []closeResult {
	t.Helper()
	var failed []closeResult
	for _, r := range results {
		if r.writeErr != nil {
			t.Errorf("%s: write: %v (writes go to the spill file and must not fail)", r.f.key, r.writeErr)
			continue
		}
		if r.closeErr == nil {
			if got := w.objectSHA1(t, bucket, r.f.key); got != r.f.sha1() {
				t.Errorf("%s: close returned 0 but APS holds sha1 %q, want %s", r.f.key, got, r.f.sha1())
			}
			continue
		}
		failed = append(failed, r)
		var errno syscall.Errno
		if !errors.As(r.closeErr, &errno) {
			t.Errorf("%s: close failed with %v, not an errno", r.f.key, r.closeErr)
		}
		if r.pendingAtClose {
			t.Logf("%s: close failed (%v); kept as a pending upload", r.f.key, r.closeErr)
			continue
		}
		// No sidecar right after close: only right if the background retry
		// committed it already (the sidecar goes once the object is there).
		if got := w.objectSHA1(t, bucket, r.f.key); got != r.f.sha1() {
			t.Errorf("%s: close failed (%v) but no pending upload was kept (APS holds sha1 %q)", r.f.key, r.closeErr, got)
		} else {
			t.Logf("%s: close failed (%v); committed by the background retry already", r.f.key, r.closeErr)
		}
	}
	return failed
}

// checkSettled runs once the faults are cleared: every pending upload
// commits with the right bytes, no sidecar is left, the mount reads every file
// back, and a fresh write and read work.
func checkSettled(t *testing.T, w *world, m *mountProc, bucket, spillDir string, results []closeResult) {
	t.Helper()
	for _, r := range results {
		if r.closeErr != nil {
			waitObjectSHA1(t, w, bucket, r.f.key, r.f.sha1())
		}
	}
	deadline := time.Now().Add(time.Minute)
	for keys := mustPendingKeys(t, spillDir); len(keys) > 0; keys = mustPendingKeys(t, spillDir) {
		if time.Now().After(deadline) {
			t.Fatalf("pending uploads left after every object was committed: %v", sortedKeys(keys))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, r := range results {
		if got, err := mountSHA1(m, r.f.key); err != nil || got != r.f.sha1() {
			t.Errorf("%s read back through the mount: sha1 %q, %v; want %s", r.f.key, got, err, r.f.sha1())
		}
	}
	fresh := newFaultFile(results[0].f.key+".after", results[0].f.pat.Seed+50, 3<<20+1)
	if r := writeThrough(m, spillDir, fresh); r.writeErr != nil || r.closeErr != nil {
		t.Fatalf("a fresh write after the faults: write %v, close %v", r.writeErr, r.closeErr)
	}
	if got := w.objectSHA1(t, bucket, fresh.key); got != fresh.sha1() {
		t.Errorf("a fresh write after the faults: APS holds sha1 %q, want %s", got, fresh.sha1())
	}
	if got, err := mountSHA1(m, fresh.key); err != nil || got != fresh.sha1() {
		t.Errorf("a fresh write after the faults reads back sha1 %q, %v; want %s", got, err, fresh.sha1())
	}
	// Every file is committed and closed: no spill file is left (the kernel
	// releases handles after close returns, hence the polling).
	for left := spillFiles(t, spillDir); len(left) > 0; left = spillFiles(t, spillDir) {
		if time.Now().After(deadline) {
			t.Fatalf("spill files left after every file was committed and closed: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func spillFiles(t *testing.T, spillDir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(spillDir, "spill-*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// waitObjectSHA1 polls APS, with a deadline, until it holds bytes of sha1 at key.
func waitObjectSHA1(t *testing.T, w *world, bucket, key, want string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := w.objectSHA1(t, bucket, key)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q was not committed in the background (APS holds sha1 %q, want %s)", key, got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cleanCalls is what writing files makes of the upload calls without faults:
// one URL request and one completion per file, one PUT per 8 MiB part.
func cleanCalls(files []faultFile) map[string]int64 {
	calls := map[string]int64{}
	for _, f := range files {
		calls["signeds3upload.get"]++
		calls["signeds3upload.complete"]++
		calls["s3.upload"] += max(1, (f.size+8<<20-1)/(8<<20))
	}
	return calls
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestWriteUnderFaults is a fault matrix for the mount's write path. For
// each kind of failure, several files (one part and multi-part) are written
// concurrently through the mount while the emulator fails some of the
// calls; close must either return 0 with the object committed, or fail and
// keep the file as a pending upload that commits once the faults are gone.
func TestWriteUnderFaults(t *testing.T) {
	const bucket = "wfaults"
	w := newWorld(t, bucket)
	spillDir := filepath.Join(t.TempDir(), "spill")
	m := mount(t, w.env, bucket, "--spill-dir", spillDir)

	// Each case names the endpoint its rules fail, so that the test can tell
	// the faults did fire: more calls than a clean run makes.
	cases := []struct {
		name, faulted, rules string
		allClose             bool // the rules are bounded: every close must return 0
	}{
		{name: "s3-part-5xx", faulted: "s3.upload", rules: `[{"endpoint":"s3.upload","every":4,"status":500},
			{"endpoint":"s3.upload","probability":0.2,"status":503}]`},
		{name: "url-request-5xx", faulted: "signeds3upload.get", rules: `[{"endpoint":"signeds3upload.get","every":2,"status":500}]`},
		{name: "complete-5xx", faulted: "signeds3upload.complete", rules: `[{"endpoint":"signeds3upload.complete","every":2,"status":502}]`},
		{name: "throttled-429", faulted: "signeds3upload.get", rules: `[{"endpoint":"signeds3upload.get","every":2,"status":429,"retryAfter":1},
			{"endpoint":"signeds3upload.complete","probability":0.3,"status":429,"retryAfter":1}]`},
		{name: "s3-part-reset", faulted: "s3.upload", rules: `[{"endpoint":"s3.upload","every":3,"reset":true}]`},
		{name: "complete-reset", faulted: "signeds3upload.complete", rules: `[{"endpoint":"signeds3upload.complete","every":2,"reset":true}]`},
		// After a few parts, PUTs find their URL expired (three of them, so
		// no part meets more than the client's three URL refreshes): the
		// client must fetch fresh URLs for the same uploadKey, and succeed.
		{name: "url-expiry", faulted: "signeds3upload.get", allClose: true,
			rules: `[{"endpoint":"s3.upload","after":3,"every":2,"times":3,"expireURL":true}]`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := faultFiles(c.name, uint64(i+1))
			w.faults(t, c.rules)
			w.resetStats(t)
			results := writeAllThrough(t, m, spillDir, files)
			failed := checkClosed(t, w, bucket, spillDir, results)
			calls := w.stats(t)
			w.faults(t, "")
			t.Logf("%d of %d closes failed; calls %v", len(failed), len(files), calls)
			if clean := cleanCalls(files)[c.faulted]; calls[c.faulted] <= clean {
				t.Errorf("%d %s calls, no more than a clean run's %d: the faults never fired", calls[c.faulted], c.faulted, clean)
			}
			if c.allClose && len(failed) > 0 {
				t.Errorf("%d closes failed under faults the client must ride out", len(failed))
			}
			checkSettled(t, w, m, bucket, spillDir, results)
		})
	}

	// Every completion fails for a while: every close must fail, every file
	// must be kept as a pending upload (and shown by the mount meanwhile),
	// and all of them commit once completions work again.
	t.Run("completions-down", func(t *testing.T) {
		files := faultFiles("completions-down", 20)
		w.faults(t, `[{"endpoint":"signeds3upload.complete","every":1,"status":503}]`)
		results := writeAllThrough(t, m, spillDir, files)
		pending := mustPendingKeys(t, spillDir)
		for _, r := range results {
			if r.writeErr != nil {
				t.Fatalf("%s: write: %v", r.f.key, r.writeErr)
			}
			if !errors.Is(r.closeErr, syscall.EIO) {
				t.Errorf("%s: close with every completion failing: %v, want EIO", r.f.key, r.closeErr)
			}
			if !r.pendingAtClose || !pending[r.f.key] {
				t.Errorf("%s: not kept as a pending upload (sidecar at close %t, now %t)", r.f.key, r.pendingAtClose, pending[r.f.key])
			}
			if w.objectSHA1(t, bucket, r.f.key) != "" {
				t.Errorf("%s: a failed commit left an object", r.f.key)
			}
			if got, err := mountSHA1(m, r.f.key); err != nil || got != r.f.sha1() {
				t.Errorf("%s: the pending file reads back sha1 %q, %v; want %s", r.f.key, got, err, r.f.sha1())
			}
		}
		w.faults(t, "")
		checkSettled(t, w, m, bucket, spillDir, results)
	})

	// The URL requests fail while a file's finished parts wait for their
	// first URLs in the background: they share the one failing request
	// instead of each making its own with every retry (regression: close
	// waited for one whole retry budget per part handed out).
	t.Run("url-requests-down", func(t *testing.T) {
		urlRequestsDown(t, w, m, bucket, spillDir)
	})

	// S3 stops taking parts in the middle of a file, while its finished parts
	// go up in the background. One file sees the outage end before close
	// (its commit puts again just the parts that failed); another closes
	// during the outage (close fails, the file is kept and committed later).
	t.Run("s3-outage-mid-file", func(t *testing.T) {
		outageMidFile(t, w, m, bucket, spillDir)
	})
}

func outageMidFile(t *testing.T, w *world, m *mountProc, bucket, spillDir string) {
	const partSize = 8 << 20
	lifted := newFaultFile("outage-lifted", 30, 4*partSize+4<<20+5)
	kept := newFaultFile("outage-kept", 31, 4*partSize+4<<20+5)
	open := func(f faultFile) *os.File {
		fh, err := os.Create(m.path(f.key))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fh.Close() })
		return fh
	}
	write := func(fh *os.File, f faultFile, from, to int64) {
		if _, err := io.CopyBuffer(fh, io.NewSectionReader(f.pat, from, to-from), make([]byte, 1<<20)); err != nil {
			t.Fatalf("%s: write: %v", f.key, err)
		}
	}
	waitCalls := func(endpoint string, n int64) {
		deadline := time.Now().Add(time.Minute)
		for w.stats(t)[endpoint] < n {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %d %s calls: %v", n, endpoint, w.stats(t))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	lf, kf := open(lifted), open(kept)
	// Parts 1 and 2 of both files go up in the background while S3 works.
	w.resetStats(t)
	write(lf, lifted, 0, 2*partSize)
	write(kf, kept, 0, 2*partSize)
	waitCalls("s3.upload", 4)
	// The outage: parts 3 and 4 of both are handed out and fail every
	// attempt (6 each: the client's retry policy).
	w.faults(t, `[{"endpoint":"s3.upload","every":1,"status":500}]`)
	w.resetStats(t)
	write(lf, lifted, 2*partSize, 4*partSize)
	write(kf, kept, 2*partSize, 4*partSize)
	waitCalls("s3.upload", 4*6)

	// The outage ends before the first file's close: the commit puts the two
	// parts that failed and the last one, and nothing it holds already.
	w.faults(t, `[{"endpoint":"s3.upload","keyPrefix":"outage-kept","every":1,"status":500}]`)
	w.resetStats(t)
	write(lf, lifted, 4*partSize, lifted.size)
	if err := lf.Close(); err != nil {
		t.Fatalf("close after the outage ended: %v", err)
	}
	if got := w.objectSHA1(t, bucket, lifted.key); got != lifted.sha1() {
		t.Errorf("%s: APS holds sha1 %q, want %s", lifted.key, got, lifted.sha1())
	}
	if calls := w.stats(t); calls["s3.upload"] != 3 || calls["signeds3upload.complete"] != 1 {
		t.Errorf("the commit after the outage made %v; want parts 3, 4 and 5 put once each and one completion", calls)
	}

	// The second file closes during the outage.
	write(kf, kept, 4*partSize, kept.size)
	err := kf.Close()
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("close during an S3 outage: %v, want EIO", err)
	}
	if !mustPendingKeys(t, spillDir)[kept.key] {
		t.Errorf("%s: not kept as a pending upload", kept.key)
	}
	if w.objectSHA1(t, bucket, kept.key) != "" {
		t.Errorf("%s: a failed commit left an object", kept.key)
	}
	w.faults(t, "")
	checkSettled(t, w, m, bucket, spillDir, []closeResult{{f: lifted}, {f: kept, closeErr: err}})
}

func urlRequestsDown(t *testing.T, w *world, m *mountProc, bucket, spillDir string) {
	const partSize = 8 << 20
	f := newFaultFile("urls-down", 40, 4*partSize+2<<20+1)
	// The outage lasts two requests' worth of attempts (6 each, the client's
	// retry policy): the one request the four background parts share, and
	// the commit's own. So close must fail; had the background parts spent
	// more between them, the commit would have outlasted the outage.
	w.faults(t, `[{"endpoint":"signeds3upload.get","every":1,"times":12,"status":500}]`)
	r := writeThrough(m, spillDir, f)
	if r.writeErr != nil {
		t.Fatalf("write: %v", r.writeErr)
	}
	if !errors.Is(r.closeErr, syscall.EIO) || !r.pendingAtClose {
		t.Errorf("close while every URL request fails: %v (pending %t), want EIO and a pending upload", r.closeErr, r.pendingAtClose)
	}
	w.faults(t, "")
	checkSettled(t, w, m, bucket, spillDir, []closeResult{r})
}
