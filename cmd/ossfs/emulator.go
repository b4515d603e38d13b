package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ossfs/ossfs/emulator"
)

// Credentials the emulator accepts unless told otherwise; they open nothing but a
// local emulator, so printing them is harmless.
const (
	defaultEmulatorClientID     = "ossfs-emulator"
	defaultEmulatorClientSecret = "ossfs-emulator-secret"
	defaultEmulatorListen       = "127.0.0.1:9230"
)

// emulatorFlags is the flag table of `ossfs emulator`.
type emulatorFlags struct {
	listen       string
	dataDir      string
	memory       bool
	clientID     string
	clientSecret string
	buckets      stringsFlag
	quota        int
	latency      time.Duration
	bandwidth    bytesFlag
	faultsFile   string
	ordered      bool
	allowRemote  bool
	logLevel     string
}

func (f *emulatorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", defaultEmulatorListen, "`address` to serve on (loopback unless --allow-remote); port 0 picks a free port")
	fs.StringVar(&f.dataDir, "data", defaultEmulatorDataDir(), "`directory` holding the emulator's buckets and objects (kept across restarts)")
	fs.BoolVar(&f.memory, "memory", false, "keep everything in memory instead of --data")
	fs.StringVar(&f.clientID, "client-id", defaultEmulatorClientID, "client id the emulator accepts")
	fs.StringVar(&f.clientSecret, "client-secret", defaultEmulatorClientSecret, "client secret the emulator accepts")
	fs.Var(&f.buckets, "bucket", "create this bucket (persistent, owned by --client-id) if missing; repeatable")
	fs.IntVar(&f.quota, "quota", 1000, "OSS calls per minute per client id before 429; negative disables the quota")
	fs.DurationVar(&f.latency, "latency", 0, "WAN profile: delay added to every request (e.g. 20ms)")
	fs.Var(&f.bandwidth, "bandwidth", "WAN profile: bytes per second per connection (e.g. 50MB); 0 is unlimited")
	fs.StringVar(&f.faultsFile, "faults", "", "JSON `file` of fault rules to start with (see docs/EMULATOR.md)")
	fs.BoolVar(&f.ordered, "ordered", false, "list objects in key order (APS does not; for debugging only)")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a non-loopback --listen address")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f emulatorFlags
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	f.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	if err := checkListenAddress(f.listen, f.allowRemote); err != nil {
		return err
	}
	logger, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	srv, err := f.newServer(logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, b := range f.buckets {
		err := srv.CreateBucket(b, "persistent", "US", f.clientID)
		if err != nil && !errors.Is(err, emulator.ErrBucketExists) {
			return fmt.Errorf("bucket %q: %w", b, err)
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	endpoint := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "ossfs emulator serving %s\n", endpoint)
	fmt.Fprintf(stdout, "  export OSSFS_ENDPOINT=%s APS_CLIENT_ID=%s APS_CLIENT_SECRET=%s\n", endpoint, f.clientID, f.clientSecret)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second, ConnContext: srv.ConnContext}
	return serveUntilDone(ctx, ln, hs)
}

// newServer builds the emulator from the flags.
func (f *emulatorFlags) newServer(logger *slog.Logger) (*emulator.Server, error) {
	opts := emulator.DefaultOptions()
	opts.Apps = []emulator.App{{ClientID: f.clientID, ClientSecret: f.clientSecret}}
	opts.Quota = f.quota
	if f.quota == 0 {
		return nil, usageError("--quota 0 would refuse every call; use a negative value to disable the quota")
	}
	opts.Latency = f.latency
	opts.Bandwidth = f.bandwidth.n
	opts.Ordered = f.ordered
	opts.Logger = logger
	if f.faultsFile != "" {
		rules, err := emulator.LoadFaults(f.faultsFile)
		if err != nil {
			return nil, err
		}
		opts.Faults = rules
	}
	if !f.memory {
		store, err := emulator.NewDiskStore(f.dataDir)
		if err != nil {
			return nil, err
		}
		opts.Store = store
	}
	if err := opts.Validate(); err != nil {
		return nil, usageError("%v", err)
	}
	return emulator.New(opts)
}

// serveUntilDone serves hs on ln until ctx ends, then shuts down gracefully.
func serveUntilDone(ctx context.Context, ln net.Listener, hs *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}

// checkListenAddress refuses addresses that are not loopback unless allowRemote.
func checkListenAddress(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError("--listen %q: %v", addr, err)
	}
	if allowRemote || isLoopbackHost(host) {
		return nil
	}
	return usageError("--listen %q is not a loopback address; the emulator accepts anyone who can reach it, so pass --allow-remote if you mean it", addr)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultEmulatorDataDir is $XDG_DATA_HOME/ossfs/emulator, or
// ~/.local/share/ossfs/emulator.
func defaultEmulatorDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ossfs", "emulator")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ossfs-emulator")
	}
	return filepath.Join(home, ".local", "share", "ossfs", "emulator")
}

// newLogger returns a text logger at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
