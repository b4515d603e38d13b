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

// localErrnos are the errnos that pass through as they are: answers of the
// local file system (the spill directory) and of our own checks. Any other errno
// found in an error (ECONNREFUSED, ECONNRESET, ... from the network) means the
// call could not reach APS: the caller gets EIO, logged with the cause.
var localErrnos = map[syscall.Errno]bool{
	syscall.ENOSPC: true, syscall.EDQUOT: true, syscall.EFBIG: true, syscall.EROFS: true,
	syscall.ENOTEMPTY: true, syscall.EXDEV: true, syscall.EPERM: true, syscall.EINVAL: true,
	syscall.ENAMETOOLONG: true, syscall.ENOTSUP: true, syscall.EACCES: true, syscall.ENOENT: true,
	syscall.EEXIST: true, syscall.EISDIR: true, syscall.ENOTDIR: true, syscall.ESTALE: true,
	syscall.EBADF: true, syscall.EINTR: true, syscall.EAGAIN: true, syscall.EIO: true,
}

// toErrno is the one place an error becomes an errno. EIO is logged once with its
// cause; ENOENT is not worth a line.
func toErrno(log *slog.Logger, op, key string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && localErrnos[errno] {
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
