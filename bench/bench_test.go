package main

import (
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
	if len(wan) != 2*len(all) {
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
