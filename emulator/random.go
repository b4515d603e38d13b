package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// randomBytes returns n bytes from crypto/rand (which never fails).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// randomHex returns 2n lowercase hex characters.
func randomHex(n int) string {
	return hex.EncodeToString(randomBytes(n))
}

// randomUUID returns a random (version 4) UUID string.
func randomUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// isUUID reports whether s looks like the output of randomUUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// randomRequestID looks like an S3 request id.
func randomRequestID() string {
	return strings.ToUpper(randomHex(8))
}

// randomHostID looks like an S3 host id.
func randomHostID() string {
	return base64.StdEncoding.EncodeToString(randomBytes(48))
}
