package emulator

import (
	"strconv"
	"strings"
)

// byteRange is a satisfiable single range of an object.
type byteRange struct {
	start, length int64
}

// rangeResult is what a Range header asks for.
type rangeResult int

const (
	rangeNone          rangeResult = iota // no (usable) Range: send everything
	rangePartial                          // send byteRange with 206
	rangeUnsatisfiable                    // 416
)

// parseRange interprets a Range header against an object of size bytes,
// as S3 does (RFC 9110 §14): one "bytes=a-b", "bytes=a-" or "bytes=-n";
// the end is clamped to size-1; a start at or past the end, a zero suffix,
// or any range on an empty object is unsatisfiable. Headers S3 ignores
// (other units, several ranges, syntax errors, a > b) mean the whole object.
func parseRange(header string, size int64) (byteRange, rangeResult) {
	unit, spec, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") || strings.Contains(spec, ",") {
		return byteRange{}, rangeNone
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return byteRange{}, rangeNone
	}
	if first == "" {
		return suffixRange(last, size)
	}
	a, err := parseDigits(first)
	if err != nil {
		return byteRange{}, rangeNone
	}
	end := size - 1
	if last != "" {
		b, err := parseDigits(last)
		if err != nil || b < a {
			return byteRange{}, rangeNone
		}
		end = min(b, size-1)
	}
	if a >= size {
		return byteRange{}, rangeUnsatisfiable
	}
	return byteRange{start: a, length: end - a + 1}, rangePartial
}

// suffixRange handles "bytes=-n".
func suffixRange(last string, size int64) (byteRange, rangeResult) {
	n, err := parseDigits(last)
	switch {
	case err != nil:
		return byteRange{}, rangeNone
	case n == 0 || size == 0:
		return byteRange{}, rangeUnsatisfiable
	}
	n = min(n, size)
	return byteRange{start: size - n, length: n}, rangePartial
}

// parseDigits accepts only ASCII digits (no sign, no spaces).
func parseDigits(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}
