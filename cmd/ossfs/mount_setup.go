package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/oss"
)

// checkMountPoint refuses a missing mount point, one that is not a folder, one
// already mounted, and a machine without FUSE, each with a message that says so.
func checkMountPoint(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("mount point %s does not exist", dir)
	case err != nil:
		return fmt.Errorf("mount point %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("mount point %s is not a folder", dir)
	}
	if mounted, err := isMountPoint(dir); err == nil && mounted {
		return fmt.Errorf("mount point %s is busy: something is already mounted there", dir)
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return errors.New("no FUSE on this machine: /dev/fuse is missing (load the fuse module, or install fuse3)")
	}
	return nil
}

// isMountPoint says whether dir is the mount point of a mounted file system.
func isMountPoint(dir string) (bool, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return false, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMountPath(fields[4]) == abs {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// checkBucket turns the usual first failures into clear messages.
func checkBucket(ctx context.Context, c *oss.Client, bucket string) error {
	_, err := c.BucketDetails(ctx, bucket)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, oss.ErrNotFound):
		return fmt.Errorf("no bucket %q (create it first, or check the name)", bucket)
	case errors.Is(err, oss.ErrUnauthorized):
		return fmt.Errorf("bad credentials: APS refused them (%v)", err)
	case errors.Is(err, oss.ErrAccessDenied):
		return fmt.Errorf("bucket %q is not this app's, or the app lacks a scope (%v)", bucket, err)
	case errors.Is(err, oss.ErrBadRequest):
		return usageError("bucket %q: %v", bucket, err)
	}
	return err
}

// startEmbeddedEmulator serves the emulator on loopback with its data under
// f.emulatorData, creates the bucket, and points the flags and creds at it.
func (f *mountFlags) startEmbeddedEmulator(bucket string, creds *credentials, stderr io.Writer) (stop func(), err error) {
	store, err := emulator.NewDiskStore(f.emulatorData)
	if err != nil {
		return nil, fmt.Errorf("emulator data %s: %w", f.emulatorData, err)
	}
	opts := emulator.DefaultOptions()
	opts.Apps = []emulator.App{{ClientID: defaultEmulatorClientID, ClientSecret: defaultEmulatorClientSecret}}
	opts.Store = store
	srv, err := emulator.New(opts)
	if err != nil {
		store.Close()
		return nil, err
	}
	if err := srv.CreateBucket(bucket, "persistent", "US", defaultEmulatorClientID); err != nil && !errors.Is(err, emulator.ErrBucketExists) {
		srv.Close()
		return nil, fmt.Errorf("bucket %q: %w", bucket, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second, ConnContext: srv.ConnContext}
	go hs.Serve(ln)
	f.aps.endpoint = "http://" + ln.Addr().String()
	*creds = credentials{clientID: defaultEmulatorClientID, clientSecret: defaultEmulatorClientSecret}
	fmt.Fprintf(stderr, "ossfs: embedded emulator serving %s (data in %s)\n  export OSSFS_ENDPOINT=%s APS_CLIENT_ID=%s APS_CLIENT_SECRET=%s\n",
		f.aps.endpoint, f.emulatorData, f.aps.endpoint, defaultEmulatorClientID, defaultEmulatorClientSecret)
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		srv.Close()
	}, nil
}

// unmount unmounts dir; when files are still open it detaches the mount lazily,
// so open files keep working and the daemon exits once they are closed.
func unmount(server *fuse.Server, dir string, log *slog.Logger) {
	err := server.Unmount()
	if err == nil {
		return
	}
	log.Warn("unmount refused (files open?); detaching lazily, the daemon exits when they are closed", "err", err)
	if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
		log.Error("lazy unmount failed", "err", err)
	}
}

// explainMountError adds what to do to the errors mount(2) and fusermount give.
func explainMountError(err error) error {
	switch {
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("%w (the mount point is busy)", err)
	case errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w (mounting needs root, or fusermount3 from the fuse3 package)", err)
	}
	return err
}
