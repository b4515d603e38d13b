package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// The limit of a transfer is what plain curl achieves on the same signed URLs
// of the same emulator in the same run: the bytes cannot move faster than a
// client that does nothing but move them.

// urlMinutes is the lifetime of the URLs the limits use: long enough that no
// URL expires during a measurement (ossfs asks for 2 minutes and refreshes).
const urlMinutes = 60

// partSize is the part size ossfs cp uses for an object of size bytes.
func partSize(size int64) int64 {
	return transfer.PartSizeFor(size, transfer.DefaultOptions().PartSize)
}

// curl returns a curl proc with the flags every limit uses: no ~/.curlrc, no
// proxy, no URL globbing, fail on HTTP errors.
func curl(args ...string) proc {
	return proc{name: "curl", args: append([]string{"-q", "-sS", "-g", "--noproxy", "*", "--fail"}, args...)}
}

// byteRange is a slice of the object: n bytes from off.
type byteRange struct{ off, n int64 }

// splitRanges cuts size bytes into at most streams contiguous ranges.
func splitRanges(size int64, streams int) []byteRange {
	step := (size + int64(streams) - 1) / int64(streams)
	var rs []byteRange
	for off := int64(0); off < size; off += step {
		rs = append(rs, byteRange{off, min(step, size-off)})
	}
	return rs
}

// limitCalls fills in the calls of a limit measurement: the OSS calls the
// in-process client made, and the signed-URL requests the emulator received.
func (e *env) limitCalls(ctx context.Context, m *measurement, s3Endpoint string) error {
	m.calls = e.emu.client.Calls()
	var err error
	m.emulatorCalls, err = e.emu.stats(ctx)
	m.s3Requests = m.emulatorCalls[s3Endpoint]
	return err
}

// cpuOf sums the CPU time of finished processes.
func cpuOf(results []procResult) float64 {
	var s float64
	for _, r := range results {
		s += r.cpu
	}
	return s
}

// curlDownload times streams curls of the object's signed URL: with one
// stream a plain GET, else contiguous ranges (-r), each into its own file in
// the scratch folder. The URL is fetched before the clock starts.
func (e *env) curlDownload(ctx context.Context, key string, streams int) (measurement, error) {
	return e.curlGet(ctx, key, e.data.size, streams, false)
}

// curlGet is curlDownload of an object of size bytes; with sink, every curl
// writes to /dev/null (the limit of a read through the mount into /dev/null)
// and only the status and byte counts are checked.
func (e *env) curlGet(ctx context.Context, key string, size int64, streams int, sink bool) (measurement, error) {
	c := e.emu.client
	if err := e.resetCounts(ctx); err != nil {
		return measurement{}, err
	}
	d, err := c.SignedDownloadURL(ctx, benchBucket, key, oss.DownloadURLOptions{Minutes: urlMinutes})
	if err != nil {
		return measurement{}, err
	}
	ranges := splitRanges(size, streams)
	procs := make([]proc, len(ranges))
	outs := make([]string, len(ranges))
	for i, r := range ranges {
		outs[i] = filepath.Join(e.dir, fmt.Sprintf("curl-download-%03d", i))
		if sink {
			outs[i] = os.DevNull
		}
		args := []string{"-o", outs[i], "-w", "%{http_code} %{size_download}\n"}
		if streams > 1 {
			args = append(args, "-r", fmt.Sprintf("%d-%d", r.off, r.off+r.n-1))
		}
		procs[i] = curl(append(args, d.URL)...)
	}
	if !sink {
		defer removeAll(outs)
	}
	t := e.startTiming()
	results, err := runAll(ctx, e.cfg.timeout, procs)
	if err != nil {
		return measurement{}, err
	}
	var m measurement
	t.stop(&m, cpuOf(results))
	for i, res := range results {
		want := fmt.Sprintf("200 %d", ranges[i].n)
		if streams > 1 {
			want = fmt.Sprintf("206 %d", ranges[i].n)
		}
		if got := strings.TrimSpace(res.stdout); got != want {
			return measurement{}, fmt.Errorf("curl download %d: status and size %q, want %q", i, got, want)
		}
	}
	if !sink {
		if err := e.checkFiles(outs); err != nil {
			return measurement{}, err
		}
	}
	return m, e.limitCalls(ctx, &m, opS3Download)
}

// curlUpload times streams curls PUTting the part files to their signed
// URLs (part i goes to stream i mod streams; each curl sends its parts one
// after the other on one connection), then the completion. The URLs are
// fetched before the clock starts; the completion is timed, since ossfs cp
// waits for it too.
func (e *env) curlUpload(ctx context.Context, parts []string, streams int) (measurement, error) {
	c := e.emu.client
	if err := e.resetCounts(ctx); err != nil {
		return measurement{}, err
	}
	key := e.objectKey(fmt.Sprintf("curl-%d-%d", streams, e.nextSeq()))
	uploadKey, urls, err := partURLs(ctx, c, key, len(parts))
	if err != nil {
		return measurement{}, err
	}
	procs, order := uploadProcs(parts, urls, streams)
	t := e.startTiming()
	results, err := runAll(ctx, e.cfg.timeout, procs)
	if err != nil {
		return measurement{}, err
	}
	putSeconds := time.Since(t.start).Seconds()
	eTags, err := uploadETags(results, order, len(parts))
	if err != nil {
		return measurement{}, err
	}
	completeStart := time.Now()
	o, err := c.CompleteUpload(ctx, benchBucket, key, oss.CompleteRequest{UploadKey: uploadKey, Size: e.data.size, ETags: eTags})
	if err != nil {
		return measurement{}, err
	}
	m := measurement{phases: map[string]float64{"put": putSeconds, "complete": time.Since(completeStart).Seconds()}}
	t.stop(&m, cpuOf(results))
	if o.SHA1 != "" && o.SHA1 != e.data.sha1 {
		return m, fmt.Errorf("curl upload: object sha1 %s, want %s", o.SHA1, e.data.sha1)
	}
	if err := e.limitCalls(ctx, &m, opS3Upload); err != nil {
		return m, err
	}
	return m, e.checkObject(ctx, key)
}

// partURLs starts an upload and fetches the URLs of all n parts, 25 per call.
func partURLs(ctx context.Context, c *oss.Client, key string, n int) (string, []string, error) {
	var uploadKey string
	var urls []string
	for first := 1; first <= n; first += 25 {
		up, err := c.SignedUploadURLs(ctx, benchBucket, key, oss.UploadURLOptions{
			Parts: min(25, n-first+1), FirstPart: first, UploadKey: uploadKey, Minutes: urlMinutes})
		if err != nil {
			return "", nil, err
		}
		uploadKey = up.UploadKey
		urls = append(urls, up.URLs...)
	}
	return uploadKey, urls, nil
}

// uploadProcs deals the parts round-robin to streams curls. order[s] lists
// the part indexes curl s sends, in the order it reports them.
func uploadProcs(parts, urls []string, streams int) ([]proc, [][]int) {
	streams = min(streams, len(parts))
	procs := make([]proc, streams)
	order := make([][]int, streams)
	for s := range streams {
		// No "Expect: 100-continue" (curl adds it to large PUTs; ossfs does not
		// send it), and one status and ETag line per part.
		args := []string{"-H", "Expect:", "-w", "%{http_code} %header{etag}\n"}
		for i := s; i < len(parts); i += streams {
			args = append(args, "-T", parts[i], "-o", os.DevNull, urls[i])
			order[s] = append(order[s], i)
		}
		procs[s] = curl(args...)
	}
	return procs, order
}

// uploadETags reads the ETags the curls printed, in part order.
func uploadETags(results []procResult, order [][]int, n int) ([]string, error) {
	eTags := make([]string, n)
	for s, res := range results {
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		if len(lines) != len(order[s]) {
			return nil, fmt.Errorf("curl upload %d: %d answers for %d parts: %q", s, len(lines), len(order[s]), res.stdout)
		}
		for j, line := range lines {
			status, eTag, _ := strings.Cut(strings.TrimSpace(line), " ")
			if status != "200" || eTag == "" {
				return nil, fmt.Errorf("curl upload of part %d: answer %q", order[s][j]+1, line)
			}
			eTags[order[s][j]] = strings.Trim(eTag, `"`)
		}
	}
	return eTags, nil
}

// checkFiles fails unless the files, concatenated, hold the data's bytes.
func (e *env) checkFiles(paths []string) error {
	h := sha1.New()
	var size int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		size += n
	}
	if sum := hex.EncodeToString(h.Sum(nil)); size != e.data.size || sum != e.data.sha1 {
		return fmt.Errorf("curl download: %d bytes with sha1 %s, want %d with %s", size, sum, e.data.size, e.data.sha1)
	}
	return nil
}

func removeAll(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}

// curlVersion is the first line of curl --version (for the report).
func curlVersion(ctx context.Context) string {
	out, err := output(ctx, 10*time.Second, "curl", "--version")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(out)
	if len(f) < 2 {
		return "unknown"
	}
	return f[0] + " " + f[1]
}
