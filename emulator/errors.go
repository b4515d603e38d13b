package emulator

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors returned by Server's direct-access methods and by Store
// implementations.
var (
	ErrBucketExists   = errors.New("emulator: bucket already exists")
	ErrBucketNotFound = errors.New("emulator: bucket not found")
	ErrObjectNotFound = errors.New("emulator: object not found")
	ErrUploadNotFound = errors.New("emulator: upload not found")
	// ErrPartsChanged: a part named in CompleteUpload was replaced or
	// removed after the caller validated it.
	ErrPartsChanged = errors.New("emulator: upload parts changed")
	// ErrBadDigest: a part's bytes do not match its Content-MD5.
	ErrBadDigest = errors.New("emulator: part digest mismatch")
	// ErrIncompleteBody: a part's body is shorter or longer than declared.
	ErrIncompleteBody = errors.New("emulator: part body length mismatch")
)

// Gateway messages (APS-OSS-API.md §1.2, §2.3, §9).
const (
	msgInvalidToken  = "Access token provided is invalid or expired."
	msgQuotaExceeded = "Quota limit exceeded."
	msgNoPrivileges  = "The access token does not have the required privileges for this operation."
	moreInfoURL      = "https://aps.autodesk.com/en/docs/oauth/v2/developers_guide/error_handling/"
)

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeEmpty answers status with an empty body and Content-Length 0.
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// writeReason answers an OSS error: {"reason": "..."}.
func writeReason(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, map[string]string{"reason": reason})
}

// gatewayError is the Apigee gateway's error body.
type gatewayError struct {
	DeveloperMessage string `json:"developerMessage"`
	UserMessage      string `json:"userMessage"`
	ErrorCode        string `json:"errorCode,omitempty"`
	MoreInfo         string `json:"more info"`
}

// writeGateway answers a gateway-shaped error.
func writeGateway(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, gatewayError{DeveloperMessage: message, ErrorCode: code, MoreInfo: moreInfoURL})
}

// writeQuotaExceeded answers 429 exactly as documented.
func writeQuotaExceeded(w http.ResponseWriter, retryAfter int) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]string{"developerMessage": msgQuotaExceeded})
}

// s3Error is the XML error body of S3.
type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []s3Field
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

// s3Field is an extra element of an S3 error, e.g. <X-Amz-Expires>.
type s3Field struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func field(name, value string) s3Field {
	return s3Field{XMLName: xml.Name{Local: name}, Value: value}
}

// writeS3Error answers an S3 XML error.
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message string, extra ...s3Field) {
	body := s3Error{Code: code, Message: message, Extra: extra,
		RequestID: randomRequestID(), HostID: randomHostID()}
	out, err := xml.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out = append([]byte(xml.Header), out...)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("x-amz-request-id", body.RequestID)
	h.Set("x-amz-id-2", body.HostID)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// s3StatusError maps an HTTP status to the S3 code and message S3 would use.
func s3StatusError(status int, endpoint string) (code, message string) {
	switch status {
	case http.StatusBadRequest:
		return "InvalidRequest", "Invalid Request"
	case http.StatusForbidden:
		return "AccessDenied", "Access Denied"
	case http.StatusNotFound:
		if endpoint == EndpointS3Upload {
			return "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
		}
		return "NoSuchKey", "The specified key does not exist."
	case http.StatusPreconditionFailed:
		return "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
	case http.StatusRequestedRangeNotSatisfiable:
		return "InvalidRange", "The requested range is not satisfiable"
	case http.StatusInternalServerError:
		return "InternalError", "We encountered an internal error. Please try again."
	case http.StatusNotImplemented:
		return "NotImplemented", "A header you provided implies functionality that is not implemented"
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return "SlowDown", "Please reduce your request rate."
	}
	return strings.ReplaceAll(http.StatusText(status), " ", ""), http.StatusText(status)
}

// writeStatusFor answers status with the body the real service sends on the
// endpoint's side: S3 XML for signed URLs, gateway JSON for 401/403/429 and
// the token endpoint, OSS {"reason"} otherwise.
func writeStatusFor(w http.ResponseWriter, r *http.Request, endpoint string, status int) {
	switch {
	case isS3Endpoint(endpoint):
		code, msg := s3StatusError(status, endpoint)
		writeS3Error(w, r, status, code, msg)
	case status == http.StatusTooManyRequests:
		writeJSON(w, status, map[string]string{"developerMessage": msgQuotaExceeded})
	case status == http.StatusUnauthorized:
		writeGateway(w, status, "", msgInvalidToken)
	case status == http.StatusForbidden && isOSSEndpoint(endpoint):
		writeGateway(w, status, "AUTH-010", msgNoPrivileges)
	case endpoint == EndpointToken:
		writeGateway(w, status, "", http.StatusText(status))
	default:
		writeReason(w, status, http.StatusText(status))
	}
}

// s3Time formats t as S3 does in error bodies.
func s3Time(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}
