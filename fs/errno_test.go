package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

func TestToErrno(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"nil", nil, 0},
		{"stale", fmt.Errorf("read: %w", transfer.ErrStale), syscall.ESTALE},
		{"not found", &oss.APIError{Op: oss.OpObjectsDetails, Status: 404}, syscall.ENOENT},
		{"os not exist", &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}, syscall.ENOENT},
		{"access denied", &oss.APIError{Op: oss.OpObjectsDetails, Status: 403}, syscall.EACCES},
		{"unauthorized", &oss.APIError{Op: oss.OpObjectsDetails, Status: 401}, syscall.EACCES},
		{"throttled", &oss.APIError{Op: oss.OpObjectsList, Status: 429}, syscall.EAGAIN},
		{"canceled", context.Canceled, syscall.EINTR},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), syscall.ETIMEDOUT},
		{"checksum", fmt.Errorf("x: %w", transfer.ErrChecksum), syscall.EIO},
		{"short body", io.ErrUnexpectedEOF, syscall.EIO},
		{"spill disk full", &fs.PathError{Op: "write", Path: "spill", Err: syscall.ENOSPC}, syscall.ENOSPC},
		{"our own errno", syscall.ENOTEMPTY, syscall.ENOTEMPTY},
		{"network errno is EIO", fmt.Errorf("complete: %w", netErr), syscall.EIO},
		{"reset is EIO", fmt.Errorf("put: %w", syscall.ECONNRESET), syscall.EIO},
		{"server error", &oss.APIError{Op: oss.OpSignedS3UploadComplete, Status: 500}, syscall.EIO},
		{"unknown", errors.New("something else"), syscall.EIO},
	} {
		if got := toErrno(slog.New(slog.DiscardHandler), "op", "key", tc.err); got != tc.want {
			t.Errorf("%s: toErrno(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestCommitErrno(t *testing.T) {
	for in, want := range map[syscall.Errno]syscall.Errno{
		syscall.ENOSPC: syscall.ENOSPC, syscall.EDQUOT: syscall.EDQUOT, syscall.EIO: syscall.EIO,
		syscall.EAGAIN: syscall.EIO, syscall.EINTR: syscall.EIO, syscall.ETIMEDOUT: syscall.EIO,
		syscall.EACCES: syscall.EIO, syscall.ENOENT: syscall.EIO,
	} {
		if got := commitErrno(in); got != want {
			t.Errorf("commitErrno(%v) = %v, want %v", in, got, want)
		}
	}
}
