// Command reader is the benchmark's file reader (and writer) for the mount
// workloads: it reads or writes one file the way a workload needs and prints
// what it measured as one JSON line on stdout. It runs as its own process so
// that its CPU time is counted apart from the mount's and the benchmark's.
//
//	reader seq [-sha1] FILE
//	    read FILE from start to end with 1 MiB reads; with -sha1 also hash it
//	reader random -size N -count N -duration D -seed N FILE
//	    pread N-byte blocks at uniformly random 4 KiB-aligned offsets (seeded,
//	    so every run reads the same offsets), after posix_fadvise(RANDOM) as
//	    fio does, until -count reads or -duration, whichever comes first
//	reader ttfb FILE
//	    open FILE and read its first 4 KiB: time to first byte
//	reader write [-bs N] [-pause] SRC DST
//	    copy SRC into DST (created or truncated) with N-byte writes (default
//	    1 MiB, as dd bs=1M), timing the writes and the close(2) apart; with
//	    -pause, print "wrote" once the last write has returned and wait for a
//	    line on stdin before closing (the benchmark reads its counters then)
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: reader seq|random|ttfb [flags] FILE, or reader write [flags] SRC DST")
		os.Exit(2)
	}
	var out any
	var err error
	switch os.Args[1] {
	case "seq":
		out, err = seq(os.Args[2:])
	case "random":
		out, err = random(os.Args[2:])
	case "ttfb":
		out, err = ttfb(os.Args[2:])
	case "write":
		out, err = write(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "reader: %v\n", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
}

// seqResult is what seq prints.
type seqResult struct {
	Bytes   int64   `json:"bytes"`
	SHA1    string  `json:"sha1,omitempty"`
	Seconds float64 `json:"seconds"`
}

func seq(args []string) (any, error) {
	fs := flag.NewFlagSet("seq", flag.ContinueOnError)
	withSHA1 := fs.Bool("sha1", false, "hash what is read")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return nil, errors.New("usage: reader seq [-sha1] FILE")
	}
	start := time.Now()
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var h hash.Hash
	if *withSHA1 {
		h = sha1.New()
	}
	buf := make([]byte, 1<<20)
	var res seqResult
	for {
		n, err := f.Read(buf)
		res.Bytes += int64(n)
		if h != nil {
			h.Write(buf[:n])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if h != nil {
		res.SHA1 = hex.EncodeToString(h.Sum(nil))
	}
	return res, nil
}

// randomResult is what random prints; the latencies are of single preads.
type randomResult struct {
	Reads       int     `json:"reads"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"` // of the reads, the open excluded
	OpenSeconds float64 `json:"openSeconds"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	MaxMs       float64 `json:"maxMs"`
}

func random(args []string) (any, error) {
	fs := flag.NewFlagSet("random", flag.ContinueOnError)
	size := fs.Int("size", 4096, "bytes per read")
	count := fs.Int("count", 2000, "reads")
	duration := fs.Duration("duration", 10*time.Second, "stop after this long even if -count reads are not done")
	seed := fs.Uint64("seed", 1, "RNG seed: the offsets depend on it only")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *size < 1 || *count < 1 {
		return nil, errors.New("usage: reader random -size N -count N -duration D -seed N FILE")
	}
	openStart := time.Now()
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// As fio does for random workloads: no kernel readahead for this file.
	if err := adviseRandom(f); err != nil {
		return nil, fmt.Errorf("posix_fadvise: %w", err)
	}
	res := randomResult{OpenSeconds: time.Since(openStart).Seconds()}
	slots := (fi.Size() - int64(*size)) / 4096
	if slots < 0 {
		return nil, fmt.Errorf("%s: %d bytes, shorter than one read", fs.Arg(0), fi.Size())
	}
	rng := rand.New(rand.NewPCG(*seed, 0x6f737366732d7264))
	buf := make([]byte, *size)
	lat := make([]time.Duration, 0, *count)
	start := time.Now()
	deadline := start.Add(*duration)
	for len(lat) < *count && time.Now().Before(deadline) {
		off := rng.Int64N(slots+1) * 4096
		t := time.Now()
		n, err := f.ReadAt(buf, off)
		if err != nil && !(err == io.EOF && n == len(buf)) {
			return nil, fmt.Errorf("pread at %d: %w", off, err)
		}
		lat = append(lat, time.Since(t))
		res.Bytes += int64(n)
	}
	res.Seconds = time.Since(start).Seconds()
	res.Reads = len(lat)
	if res.Reads == 0 {
		return nil, errors.New("no read finished within -duration")
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	res.P50Ms, res.P99Ms, res.MaxMs = ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
	return res, nil
}

// ttfbResult is what ttfb prints.
type ttfbResult struct {
	OpenSeconds  float64 `json:"openSeconds"`  // path lookup and open(2)
	FirstSeconds float64 `json:"firstSeconds"` // the first 4 KiB read
	Seconds      float64 `json:"seconds"`      // both
}

func ttfb(args []string) (any, error) {
	if len(args) != 1 {
		return nil, errors.New("usage: reader ttfb FILE")
	}
	start := time.Now()
	f, err := os.Open(args[0])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opened := time.Now()
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, err
	}
	end := time.Now()
	return ttfbResult{OpenSeconds: opened.Sub(start).Seconds(), FirstSeconds: end.Sub(opened).Seconds(), Seconds: end.Sub(start).Seconds()}, nil
}

// writeResult is what write prints. Seconds is open + writes + close: the
// pause between the last write and the close is not in it.
type writeResult struct {
	Bytes        int64   `json:"bytes"`
	OpenSeconds  float64 `json:"openSeconds"`
	WriteSeconds float64 `json:"writeSeconds"` // from the open's return to the last write's
	CloseSeconds float64 `json:"closeSeconds"`
	Seconds      float64 `json:"seconds"`
}

// pauseLine is what write -pause prints once the last write has returned.
const pauseLine = "wrote"

func write(args []string) (any, error) {
	fs := flag.NewFlagSet("write", flag.ContinueOnError)
	bs := fs.Int("bs", 1<<20, "bytes per write")
	pause := fs.Bool("pause", false, "after the last write, print \""+pauseLine+"\" and wait for a line on stdin before closing")
	if err := fs.Parse(args); err != nil || fs.NArg() != 2 || *bs < 1 {
		return nil, errors.New("usage: reader write [-bs N] [-pause] SRC DST")
	}
	src, err := os.Open(fs.Arg(0))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	buf := make([]byte, *bs)
	var res writeResult
	start := time.Now()
	dst, err := os.OpenFile(fs.Arg(1), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	opened := time.Now()
	res.Bytes, err = io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, buf)
	if err != nil {
		dst.Close()
		return nil, err
	}
	written := time.Now()
	if *pause {
		fmt.Println(pauseLine)
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			dst.Close()
			return nil, fmt.Errorf("waiting for the line that ends the pause: %w", err)
		}
	}
	closeStart := time.Now()
	if err := dst.Close(); err != nil {
		return nil, fmt.Errorf("close: %w", err)
	}
	res.CloseSeconds = time.Since(closeStart).Seconds()
	res.OpenSeconds = opened.Sub(start).Seconds()
	res.WriteSeconds = written.Sub(opened).Seconds()
	res.Seconds = res.OpenSeconds + res.WriteSeconds + res.CloseSeconds
	return res, nil
}

// onlyReader and onlyWriter hide ReadFrom/WriteTo, so that io.CopyBuffer
// makes plain read(2)s and write(2)s of the buffer's size (no
// copy_file_range or sendfile).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
