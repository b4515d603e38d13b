package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1GiB": 1 << 30, "256MiB": 256 << 20, "50MB": 50e6, "50MB/s": 50e6, "1.5GB": 1.5e9, "4096": 4096, "8 KiB": 8192,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1MB", "1XB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 30: "1GiB", 256 << 20: "256MiB", 50e6: "50MB", 1000: "1000", 0: "0"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
		if n > 0 {
			if back, err := parseSize(formatSize(n)); err != nil || back != n {
				t.Errorf("parseSize(formatSize(%d)) = %d, %v", n, back, err)
			}
		}
	}
}

func TestSplitRanges(t *testing.T) {
	for _, c := range []struct {
		size    int64
		streams int
	}{{1 << 30, 8}, {10, 3}, {3, 8}, {1, 1}} {
		rs := splitRanges(c.size, c.streams)
		if len(rs) > c.streams {
			t.Errorf("%d/%d: %d ranges", c.size, c.streams, len(rs))
		}
		var next int64
		for _, r := range rs {
			if r.off != next || r.n <= 0 {
				t.Fatalf("%d/%d: ranges %v are not contiguous", c.size, c.streams, rs)
			}
			next += r.n
		}
		if next != c.size {
			t.Errorf("%d/%d: ranges cover %d bytes", c.size, c.streams, next)
		}
	}
}

func TestCallStats(t *testing.T) {
	stderr := "ossfs cp: something\n" + `{"calls":{"objects.details":1,"s3.download":128,"signeds3download":1,"token":1}}` + "\n"
	calls := parseCallStats(stderr)
	oss, s3 := splitCalls(calls)
	if oss != 2 || s3 != 128 {
		t.Errorf("splitCalls(%v) = %d, %d; want 2, 128", calls, oss, s3)
	}
	if parseCallStats("no stats here\n") != nil {
		t.Error("found calls where there were none")
	}
}

func TestMedian(t *testing.T) {
	ms := []measurement{{seconds: 3}, {seconds: 1}, {seconds: 2}, {seconds: 9}}
	if got := median(ms).seconds; got != 2 {
		t.Errorf("median of 4 = %v, want 2 (the faster middle one)", got)
	}
	if got := median(ms[:3]).seconds; got != 2 {
		t.Errorf("median of 3 = %v, want 2", got)
	}
}

func TestSelectJobs(t *testing.T) {
	names := func(jobs []job) []string {
		var s []string
		for _, j := range jobs {
			s = append(s, j.name)
		}
		return s
	}
	all, _ := selectJobs(nil, false)
	if got := names(all); !slices.Contains(got, "cp-upload") || slices.ContainsFunc(got, func(n string) bool { return strings.HasSuffix(n, "-wan") }) {
		t.Errorf("no names, no --wan: %v", got)
	}
	wan, _ := selectJobs(nil, true)
	variants := 0
	for _, w := range workloads() {
		if w.wanVariant {
			variants++
		}
	}
	if len(wan) != len(all)+variants || !slices.Contains(names(wan), "mount-read-cold-wan") {
		t.Errorf("--wan: %v", names(wan))
	}
	one, err := selectJobs([]string{"cp-download-wan", "cp-download-wan"}, false)
	if err != nil || len(one) != 1 || !one[0].wan {
		t.Errorf("a -wan name: %v, %v", names(one), err)
	}
	if _, err := selectJobs([]string{"nope"}, false); err == nil {
		t.Error("an unknown name was accepted")
	}
}

func TestUploadETags(t *testing.T) {
	parts := []string{"p1", "p2", "p3"}
	_, order := uploadProcs(parts, []string{"u1", "u2", "u3"}, 2)
	results := []procResult{{stdout: "200 \"a\"\n200 \"c\"\n"}, {stdout: "200 \"b\"\n"}}
	got, err := uploadETags(results, order, len(parts))
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("uploadETags = %v, %v", got, err)
	}
	results[1].stdout = "403 \n"
	if _, err := uploadETags(results, order, len(parts)); err == nil {
		t.Error("a failed part was accepted")
	}
}

func TestRepeatedReader(t *testing.T) {
	data := []byte("0123456789")
	rr := repeatedReader{bytes.NewReader(data), int64(len(data)), 25}
	got, err := io.ReadAll(io.NewSectionReader(rr, 0, 100))
	if err != nil || string(got) != "0123456789012345678901234" {
		t.Errorf("read %q, %v", got, err)
	}
	p := make([]byte, 4)
	if n, err := rr.ReadAt(p, 8); n != 4 || string(p) != "8901" || err != nil {
		t.Errorf("ReadAt(8) = %d %q %v", n, p, err)
	}
	if n, err := rr.ReadAt(p, 23); n != 2 || err != io.EOF {
		t.Errorf("ReadAt(23) = %d, %v; want 2, EOF", n, err)
	}
	if n, err := rr.ReadAt(p, 25); n != 0 || err != io.EOF {
		t.Errorf("ReadAt(25) = %d, %v; want 0, EOF", n, err)
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{`/tmp/a\040b`: "/tmp/a b", "/plain": "/plain", `/x\134y`: `/x\y`} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckDD(t *testing.T) {
	ok := procResult{stderr: "1024+0 records in\n1024+0 records out\n1073741824 bytes (1.1 GB, 1.0 GiB) copied, 3.1 s, 340 MB/s\n"}
	if err := checkDD(ok, 1<<30); err != nil {
		t.Error(err)
	}
	if err := checkDD(ok, 1<<20); err == nil {
		t.Error("a short read was accepted")
	}
}

func TestMountRowMedian(t *testing.T) {
	e := &env{name: "w"}
	runs := []measurement{{value: 3, seconds: 1}, {value: 1, seconds: 3}, {value: 2, seconds: 2}, {value: 9, seconds: 0.5}}
	if got := e.mountRow(rowSpec{unit: "MB/s"}, runs).Value; got != 3 {
		t.Errorf("higher is better: median %v, want 3 (the better middle one)", got)
	}
	if got := e.mountRow(rowSpec{unit: "ms", lowerBetter: true}, runs).Value; got != 2 {
		t.Errorf("lower is better: median %v, want 2", got)
	}
	ties := []measurement{{value: 3, seconds: 19}, {value: 3, seconds: 8}, {value: 3, seconds: 9}}
	if got := e.mountRow(rowSpec{unit: "calls/file", lowerBetter: true}, ties).Seconds; got != 9 {
		t.Errorf("equal figures: the run of %vs, want the median time, 9s", got)
	}
}

func TestEndpointCalls(t *testing.T) {
	got := endpointCalls(map[string]int64{"token": 1, "s3.download": 9, "objects.list": 100, "objects.details": 1, "signeds3download": 0})
	if got != "objects.details 1, objects.list 100" {
		t.Errorf("endpointCalls = %q", got)
	}
	if endpointCalls(nil) != "none" {
		t.Error("no calls should read none")
	}
}

func TestGCTrace(t *testing.T) {
	log := "gc 8 @2.383s 0%: 0.038+1.5+0.005 ms clock, 0.077+0.029/0.43/0.26+0.011 ms cpu, 584->584->398 MB, 588 MB goal, 0 MB stacks, 0 MB globals, 2 P\n" +
		`{"calls":{"objects.list":2}}` + "\n" +
		"gc 9 @3.323s 0%: 0.090+3.9+0.006 ms clock, 0.18+0.075/1.0/0+0.013 ms cpu, 793->795->438 MB, 797 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if live, heap, n := gcTrace(path); live != 438 || heap != 793 || n != 2 {
		t.Errorf("gcTrace = %v, %v, %v; want 438, 793, 2", live, heap, n)
	}
}

func TestFigure(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{{3.005, "calls/file", "3.005 calls/file"}, {0.051, "calls/file", "0.051 calls/file"}, {425.3, "MB/s", "425 MB/s"}, {6.31, "parts", "6.31 parts"}, {0, "s", ""}} {
		if got := figure(c.v, c.unit); got != c.want {
			t.Errorf("figure(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}
