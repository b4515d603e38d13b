package oss

import (
	"net/url"
	"regexp"
	"strings"
)

// EncodeKey percent-encodes an object key as one path segment: every byte
// outside the RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~) becomes %XX, so
// "/" is sent as %2F, "+" as %2B and a space as %20. It matches
// encodeURIComponent / Uri.EscapeDataString used by the official SDKs, except
// that it also escapes ! ' ( ) *.
func EncodeKey(objectKey string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(objectKey); i++ {
		if !unreserved(objectKey[i]) {
			n++
		}
	}
	if n == 0 {
		return objectKey
	}
	var b strings.Builder
	b.Grow(len(objectKey) + 2*n)
	for i := 0; i < len(objectKey); i++ {
		c := objectKey[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
	return b.String()
}

func unreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~'
}

var bucketKeyRE = regexp.MustCompile(`^[-_.a-z0-9]{3,128}$`)

// checkBucketKey rejects a bucket key that OSS would reject, before it is
// put into a path.
func checkBucketKey(op, bucketKey string) error {
	if !bucketKeyRE.MatchString(bucketKey) {
		return argError(op, "bucket key %q must match [-_.a-z0-9]{3,128}", bucketKey)
	}
	return nil
}

func checkObjectKey(op, objectKey string) error {
	if objectKey == "" {
		return argError(op, "empty object key")
	}
	return nil
}

// bucketPath is the escaped path of a bucket, below the endpoint.
func bucketPath(bucketKey string) string {
	return "/oss/v2/buckets/" + bucketKey
}

// objectPath is the escaped path of an object (plus suffix segments, which
// must already be escaped), below the endpoint.
func objectPath(bucketKey, objectKey string, suffix ...string) string {
	p := bucketPath(bucketKey) + "/objects/" + EncodeKey(objectKey)
	for _, s := range suffix {
		p += "/" + s
	}
	return p
}

// withMissing appends key=value to an encoded query unless key is already
// present or value is empty. The existing query is kept byte for byte: a
// cursor is opaque.
func withMissing(rawQuery, key, value string) string {
	if value == "" {
		return rawQuery
	}
	if q, err := url.ParseQuery(rawQuery); err == nil && q.Has(key) {
		return rawQuery
	}
	pair := url.QueryEscape(key) + "=" + url.QueryEscape(value)
	if rawQuery == "" {
		return pair
	}
	return rawQuery + "&" + pair
}
