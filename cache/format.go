package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A block file is one block of the disk tier:
//
//	offset  size     field
//	0       4        magic "OFSB"
//	4       2        format version (1)
//	6       2        reserved, 0
//	8       8        block size of the Cache that wrote it
//	16      8        Key.Block
//	24      8        data length
//	32      4        length of Key.Object
//	36      objLen   Key.Object
//	...     dataLen  data
//	end-4   4        CRC-32C of every byte before it
//
// Integers are little-endian. The file is named by blockFileName, never by
// anything the object identity spells.
const (
	fileMagic    = "OFSB"
	fileVersion  = 1
	headerFixed  = 36
	trailerLen   = 4
	maxObjectLen = 4096 // longer identities are kept in memory only
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli) // read-only after init

	errCorrupt = errors.New("corrupt block file")
)

// blockFileName names the file of k: 128 bits of SHA-256 over the block size
// and the Key, in hex. A collision costs a miss, never wrong bytes: the
// header's Key is checked on every read.
func blockFileName(blockSize int64, k Key) string {
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(blockSize))
	binary.LittleEndian.PutUint64(b[8:], uint64(k.Block))
	h.Write(b[:])
	io.WriteString(h, k.Object)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// blockFileSize is the size of the file holding dataLen bytes of k.
func blockFileSize(k Key, dataLen int) int64 {
	return int64(headerFixed + len(k.Object) + dataLen + trailerLen)
}

// encodeHeader returns the bytes of a block file before its data.
func encodeHeader(blockSize int64, k Key, dataLen int) []byte {
	b := make([]byte, headerFixed+len(k.Object))
	copy(b, fileMagic)
	binary.LittleEndian.PutUint16(b[4:], fileVersion)
	binary.LittleEndian.PutUint64(b[8:], uint64(blockSize))
	binary.LittleEndian.PutUint64(b[16:], uint64(k.Block))
	binary.LittleEndian.PutUint64(b[24:], uint64(dataLen))
	binary.LittleEndian.PutUint32(b[32:], uint32(len(k.Object)))
	copy(b[headerFixed:], k.Object)
	return b
}

// fileHeader is what a block file says about itself.
type fileHeader struct {
	blockSize int64
	block     int64
	dataLen   int64
	objectLen int
}

// parseFixed parses and sanity-checks the fixed part of a header, for a
// Cache whose block size is blockSize.
func parseFixed(b []byte, blockSize int64) (fileHeader, error) {
	if len(b) < headerFixed || string(b[:4]) != fileMagic {
		return fileHeader{}, fmt.Errorf("%w: bad magic", errCorrupt)
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != fileVersion {
		return fileHeader{}, fmt.Errorf("%w: version %d", errCorrupt, v)
	}
	h := fileHeader{
		blockSize: int64(binary.LittleEndian.Uint64(b[8:])),
		block:     int64(binary.LittleEndian.Uint64(b[16:])),
		dataLen:   int64(binary.LittleEndian.Uint64(b[24:])),
		objectLen: int(binary.LittleEndian.Uint32(b[32:])),
	}
	switch {
	case h.blockSize != blockSize:
		return fileHeader{}, fmt.Errorf("%w: block size %d, want %d", errCorrupt, h.blockSize, blockSize)
	case h.dataLen < 0 || h.dataLen > blockSize:
		return fileHeader{}, fmt.Errorf("%w: data length %d", errCorrupt, h.dataLen)
	case h.objectLen > maxObjectLen:
		return fileHeader{}, fmt.Errorf("%w: object length %d", errCorrupt, h.objectLen)
	}
	return h, nil
}

// decodeBlockFile verifies a whole block file (magic, version, block size,
// Key, length, checksum) and returns its data, a sub-slice of buf.
func decodeBlockFile(buf []byte, blockSize int64, want Key) ([]byte, error) {
	h, err := parseFixed(buf, blockSize)
	if err != nil {
		return nil, err
	}
	dataStart := headerFixed + h.objectLen
	dataEnd := dataStart + int(h.dataLen)
	if len(buf) != dataEnd+trailerLen {
		return nil, fmt.Errorf("%w: %d bytes, header says %d", errCorrupt, len(buf), dataEnd+trailerLen)
	}
	if h.block != want.Block || string(buf[headerFixed:dataStart]) != want.Object {
		return nil, fmt.Errorf("%w: holds another block", errCorrupt)
	}
	if crc32.Checksum(buf[:dataEnd], castagnoli) != binary.LittleEndian.Uint32(buf[dataEnd:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return buf[dataStart:dataEnd:dataEnd], nil
}
