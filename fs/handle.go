package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// readHandle is a file opened for reading one version of its object.
type readHandle struct {
	node *fileNode
	br   *blockReader
}

var (
	_ = (fusefs.FileReader)((*readHandle)(nil))
	_ = (fusefs.FileReleaser)((*readHandle)(nil))
)

func (h *readHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.br.ReadAt(ctx, dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.node.fs.errno("read", h.node.keyOf(), err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *readHandle) Release(ctx context.Context) syscall.Errno {
	h.br.Close()
	return 0
}

// identity names one version of an object in the block cache: bucket, key,
// size and sha1 (APS's content hash), so a changed object never matches.
func identity(bucket, key string, size int64, sha1 string) string {
	return fmt.Sprintf("%s\x00%s\x00%d\x00%s", bucket, key, size, sha1)
}
