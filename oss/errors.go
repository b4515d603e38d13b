package oss

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Sentinel errors. Match them with errors.Is; *APIError maps its status and
// code onto them (see APIError.Is).
var (
	ErrNotFound         = errors.New("oss: not found")
	ErrAccessDenied     = errors.New("oss: access denied")
	ErrUnauthorized     = errors.New("oss: unauthorized")
	ErrThrottled        = errors.New("oss: throttled")
	ErrURLExpired       = errors.New("oss: signed URL expired or invalid")
	ErrConflict         = errors.New("oss: conflict")
	ErrNotModified      = errors.New("oss: not modified")
	ErrInvalidUploadKey = errors.New("oss: invalid upload key")
	ErrInvalidParts     = errors.New("oss: missing or invalid parts")
	ErrBadRequest       = errors.New("oss: bad request")
)

// Reason codes that OSS puts in completion failures.
const (
	codeInvalidParts     = "MissingOrInvalidParts"
	codeInvalidUploadKey = "InvalidUploadKey"
	codeSlowDown         = "SlowDown"
)

// PartStatus is one entry of a failed completion's part report. Status is
// "Ok", "Pending", "Unexpected", "TooSmall" or "Unexpected+TooSmall".
type PartStatus struct {
	Part   int
	Size   int64
	ETag   string
	Status string
}

// APIError is an HTTP answer that the client did not accept. Op is the
// endpoint name (one of the Op* constants). For per-item failures inside a
// batch response, Status is synthesised from the item: 404 for a missing
// object, 304 for a skipped one, 0 otherwise.
type APIError struct {
	Op         string
	Status     int
	Reason     string // OSS reason, gateway developerMessage, or S3 "Code: Message"
	Code       string // gateway errorCode, S3 <Code>, or the OSS completion reason
	RequestID  string
	RetryAfter time.Duration
	Parts      []PartStatus // completion validation failures
	// SizeExpected and SizeDetected come from a completion's size report;
	// both are zero when the report had none.
	SizeExpected, SizeDetected int64
}

// Error describes the failure without URLs, tokens or secrets.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("oss: " + e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Code != "" && !strings.Contains(e.Reason, e.Code) {
		b.WriteString(" (code " + e.Code + ")")
	}
	if e.SizeExpected != e.SizeDetected {
		fmt.Fprintf(&b, " (size expected %d, detected %d)", e.SizeExpected, e.SizeDetected)
	}
	e.writeParts(&b)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// writeParts lists the first few parts that are not "Ok".
func (e *APIError) writeParts(b *strings.Builder) {
	const show = 5
	var bad []string
	for _, p := range e.Parts {
		if p.Status != "Ok" {
			bad = append(bad, fmt.Sprintf("%d %s", p.Part, p.Status))
		}
	}
	if len(bad) == 0 {
		return
	}
	more := ""
	if len(bad) > show {
		more = fmt.Sprintf(", +%d more", len(bad)-show)
		bad = bad[:show]
	}
	b.WriteString(" (parts: " + strings.Join(bad, ", ") + more + ")")
}

// Is maps the error onto the sentinels: 404 ErrNotFound, 401
// ErrUnauthorized, 403 ErrAccessDenied (OSS) or ErrURLExpired (S3), 409
// ErrConflict, 429 or S3 SlowDown ErrThrottled, 304 ErrNotModified, 400
// ErrBadRequest, code MissingOrInvalidParts ErrInvalidParts, code
// InvalidUploadKey ErrInvalidUploadKey. One error may match several.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrInvalidParts:
		return e.Code == codeInvalidParts
	case ErrInvalidUploadKey:
		return e.Code == codeInvalidUploadKey
	case ErrThrottled:
		return e.Status == http.StatusTooManyRequests || e.Code == codeSlowDown
	case ErrURLExpired:
		return e.Status == http.StatusForbidden && e.isS3()
	case ErrAccessDenied:
		return e.Status == http.StatusForbidden && !e.isS3()
	}
	sentinel, ok := statusSentinels[e.Status]
	return ok && sentinel == target
}

var statusSentinels = map[int]error{
	http.StatusNotFound:     ErrNotFound,
	http.StatusUnauthorized: ErrUnauthorized,
	http.StatusConflict:     ErrConflict,
	http.StatusNotModified:  ErrNotModified,
	http.StatusBadRequest:   ErrBadRequest,
}

// isS3 reports whether the error came from a signed S3 URL.
func (e *APIError) isS3() bool {
	return e.Op == OpS3Download || e.Op == OpS3Upload
}

// retryableStatus reports whether an HTTP status is worth another attempt:
// 1xx, 408, 429 and 5xx.
func retryableStatus(status int) bool {
	switch {
	case status >= 100 && status < 200:
		return true
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	}
	return status >= 500 && status < 600
}

// argError reports an invalid argument before anything is sent; it matches
// ErrBadRequest.
func argError(op, format string, args ...any) error {
	return &invalidArgError{op: op, msg: fmt.Sprintf(format, args...)}
}

type invalidArgError struct{ op, msg string }

func (e *invalidArgError) Error() string        { return "oss: " + e.op + ": invalid argument: " + e.msg }
func (e *invalidArgError) Is(target error) bool { return target == ErrBadRequest }

// statusOf returns the HTTP status of an *APIError in err's chain, or 0.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// apiError turns a non-accepted answer into an *APIError. Server text is
// scrubbed of secrets; no URL is included.
func (c *Client) apiError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		Op:         op,
		Status:     resp.StatusCode,
		RequestID:  requestID(resp.Header),
		RetryAfter: retryAfter(resp.Header, c.opts.Now()),
	}
	fillFromBody(e, body)
	e.Reason = c.scrub.scrub(e.Reason)
	return e
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Ads-Request-Id", "X-Request-Id", "X-Amz-Request-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// retryAfter parses Retry-After as seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(max(secs, 0)) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// fillFromBody reads an S3 XML error, an OSS/gateway JSON error, or keeps a
// short snippet of anything else.
func fillFromBody(e *APIError, body []byte) {
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
	case body[0] == '<':
		fillS3(e, body)
	case body[0] == '{':
		fillJSON(e, body)
	default:
		e.Reason = snippet(body)
	}
}

func fillS3(e *APIError, body []byte) {
	var s3 struct {
		Code      string `xml:"Code"`
		Message   string `xml:"Message"`
		RequestID string `xml:"RequestId"`
	}
	if xml.Unmarshal(body, &s3) != nil || s3.Code == "" {
		e.Reason = snippet(body)
		return
	}
	e.Code = s3.Code
	e.Reason = s3.Code
	if s3.Message != "" {
		e.Reason += ": " + s3.Message
	}
	if e.RequestID == "" {
		e.RequestID = s3.RequestID
	}
}

func fillJSON(e *APIError, body []byte) {
	var w wireError
	if json.Unmarshal(body, &w) != nil {
		e.Reason = snippet(body)
		return
	}
	e.Reason = w.Reason
	if e.Reason == "" {
		e.Reason = w.DeveloperMessage
	}
	e.Code = w.ErrorCode
	if e.Code == "" && codeLike(w.Reason) {
		e.Code = w.Reason
	}
	e.Parts = partStatuses(w.Parts)
	e.SizeExpected, e.SizeDetected = w.Size.Expected, w.Size.Detected
}

func partStatuses(parts []wirePart) []PartStatus {
	if len(parts) == 0 {
		return nil
	}
	out := make([]PartStatus, len(parts))
	for i, p := range parts {
		out[i] = PartStatus{Part: p.Part, Size: p.Size, ETag: unquote(p.ETag), Status: p.Status}
	}
	return out
}

// codeLike reports whether an OSS reason is a machine code such as
// "InvalidUploadKey" rather than a sentence.
func codeLike(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '+'
		if !ok {
			return false
		}
	}
	return true
}

// snippet is a short single-line excerpt of an unparsed body.
func snippet(body []byte) string {
	const n = 200
	s := strings.ToValidUTF8(string(body), "")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

// unquote strips the double quotes of an HTTP entity tag.
func unquote(etag string) string {
	etag = strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	return strings.Trim(etag, `"`)
}
