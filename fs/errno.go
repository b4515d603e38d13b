package fs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"syscall"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// errnoTable maps our errors to errno, first match wins. go-fuse's own ToErrno
// answers ENOSYS for errors it does not know, so everything goes through toErrno.
var errnoTable = []struct {
	err   error
	errno syscall.Errno
}{
	{transfer.ErrStale, syscall.ESTALE},
	{oss.ErrNotFound, syscall.ENOENT},
	{os.ErrNotExist, syscall.ENOENT},
	{oss.ErrAccessDenied, syscall.EACCES},
	{oss.ErrUnauthorized, syscall.EACCES},
	{oss.ErrThrottled, syscall.EAGAIN},
	{context.Canceled, syscall.EINTR},
	{context.DeadlineExceeded, syscall.ETIMEDOUT},
	{transfer.ErrChecksum, syscall.EIO},
	{io.ErrUnexpectedEOF, syscall.EIO},
}

// toErrno is the one place an error becomes an errno. EIO is logged once with its
// cause; ENOENT is not worth a line.
func toErrno(log *slog.Logger, op, key string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	for _, e := range errnoTable {
		if errors.Is(err, e.err) {
			if e.errno == syscall.ESTALE {
				log.Warn("object changed while open", "op", op, "key", key, "err", err)
			}
			return e.errno
		}
	}
	log.Error("I/O error", "op", op, "key", key, "err", err)
	return syscall.EIO
}
