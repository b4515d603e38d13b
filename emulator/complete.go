package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
)

const (
	minPartSize        = 5 << 20 // every part but the last
	maxUserMetadata    = 100     // bytes; the value must be shorter
	completeRetries    = 3       // re-validations when parts change under us
	reasonInvalidParts = "MissingOrInvalidParts"
)

// completeRequest is one completion (the body of signeds3upload POST, or a
// batchcompleteupload item, where metadata travels as fields).
type completeRequest struct {
	ObjectKey          string          `json:"objectKey"`
	UploadKey          string          `json:"uploadKey"`
	Size               *int64          `json:"size"`
	ETags              []string        `json:"eTags"`
	ContentType        string          `json:"x-ads-meta-Content-Type"`
	ContentDisposition string          `json:"x-ads-meta-Content-Disposition"`
	ContentEncoding    string          `json:"x-ads-meta-Content-Encoding"`
	CacheControl       string          `json:"x-ads-meta-Cache-Control"`
	UserMetadata       json.RawMessage `json:"x-ads-user-defined-metadata"`
}

// partReport is one part in a failed completion's body.
type partReport struct {
	Part   int    `json:"part"`
	Size   int64  `json:"size"`
	ETag   string `json:"eTag"`
	Status string `json:"status"`
}

// completeFailure is the body of a failed completion.
type completeFailure struct {
	UploadKey string       `json:"uploadKey,omitempty"`
	Status    string       `json:"status"`
	Reason    string       `json:"reason"`
	Size      any          `json:"size,omitempty"`
	Parts     []partReport `json:"parts,omitempty"`
}

// completeError is a failed completion: an HTTP status and a body; scope
// marks the overwrite-without-data:write case (a gateway 403 on the single
// endpoint).
type completeError struct {
	status int
	body   completeFailure
	scope  bool
}

func failure(status int, uploadKey, reason string) *completeError {
	return &completeError{status: status, body: completeFailure{UploadKey: uploadKey, Status: "error", Reason: reason}}
}

// handleSignedUploadComplete serves POST .../objects/:objectKey/signeds3upload.
func (s *Server) handleSignedUploadComplete(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noWriteAccess); !ok {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeReason(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	var req completeRequest
	if err := decodeBody(r, 1<<20, &req); err != nil {
		writeAPIError(w, err.(*apiError))
		return
	}
	req.ObjectKey = c.objectKey
	req.metaFromHeaders(r.Header)
	o, cerr := s.complete(c, req)
	switch {
	case cerr != nil && cerr.scope:
		writeGateway(w, http.StatusForbidden, "AUTH-010", msgNoPrivileges)
	case cerr != nil:
		writeJSON(w, cerr.status, cerr.body)
	default:
		writeJSON(w, http.StatusOK, s.completedBody(c, o, false))
	}
}

// metaFromHeaders takes x-ads-meta-* and x-ads-user-defined-metadata from h.
func (req *completeRequest) metaFromHeaders(h http.Header) {
	req.ContentType = h.Get("x-ads-meta-Content-Type")
	req.ContentDisposition = h.Get("x-ads-meta-Content-Disposition")
	req.ContentEncoding = h.Get("x-ads-meta-Content-Encoding")
	req.CacheControl = h.Get("x-ads-meta-Cache-Control")
	req.UserMetadata = nil
	if v := h.Get("x-ads-user-defined-metadata"); v != "" {
		req.UserMetadata, _ = json.Marshal(v)
	}
}

// completedBody is the success answer; batch items also carry the stored
// headers that were set.
func (s *Server) completedBody(c *call, o Object, withHeaders bool) objectBody {
	body := s.newObjectBody(c, o, false)
	if withHeaders {
		body.ContentDisposition, body.ContentEncoding, body.CacheControl =
			o.ContentDisposition, o.ContentEncoding, o.CacheControl
	}
	return body
}

// complete validates and performs one completion.
func (s *Server) complete(c *call, req completeRequest) (Object, *completeError) {
	meta, err := userMetadata(req.UserMetadata)
	if err != nil {
		return Object{}, failure(http.StatusBadRequest, "", err.Error())
	}
	for range completeRetries {
		o, cerr := s.tryComplete(c, req, meta)
		if cerr == nil || cerr.status != http.StatusConflict {
			return o, cerr
		}
	}
	return Object{}, failure(http.StatusConflict, req.UploadKey, "Parts changed during completion; retry")
}

// tryComplete runs one validation and completion attempt; 409 means the
// parts changed between validation and assembly.
func (s *Server) tryComplete(c *call, req completeRequest, meta string) (Object, *completeError) {
	u, err := s.findUpload(req.UploadKey, c.bucketKey, req.ObjectKey)
	if err != nil {
		return Object{}, failure(http.StatusBadRequest, req.UploadKey, "InvalidUploadKey")
	}
	if !s.mayWrite(c, c.bucketKey, req.ObjectKey) {
		return Object{}, &completeError{status: http.StatusForbidden, scope: true,
			body: completeFailure{Status: "error", Reason: noWriteAccess}}
	}
	parts, fail := validateParts(u.Parts, req.ETags, req.Size)
	if fail != nil {
		fail.UploadKey = req.UploadKey
		return Object{}, &completeError{status: http.StatusBadRequest, body: *fail}
	}
	o, err := s.store.CompleteUpload(u.ID, s.completedObject(c, req, meta), parts)
	if err != nil {
		return Object{}, completeStoreError(err, req.UploadKey)
	}
	return o, nil
}

// completedObject is the record of the object a completion creates.
func (s *Server) completedObject(c *call, req completeRequest, meta string) Object {
	now := s.clock.Now()
	return Object{BucketKey: c.bucketKey, ObjectKey: req.ObjectKey,
		ContentType: firstNonEmpty(req.ContentType, defaultContentType), ContentDisposition: req.ContentDisposition,
		ContentEncoding: req.ContentEncoding, CacheControl: req.CacheControl, UserMetadata: meta,
		Created: now, Modified: now, Accessed: now}
}

// completeStoreError maps a CompleteUpload error; 409 asks for another try.
func completeStoreError(err error, uploadKey string) *completeError {
	switch {
	case errors.Is(err, ErrPartsChanged):
		return failure(http.StatusConflict, uploadKey, "")
	case errors.Is(err, ErrUploadNotFound):
		return failure(http.StatusBadRequest, uploadKey, "InvalidUploadKey")
	case errors.Is(err, ErrBucketNotFound):
		return failure(http.StatusNotFound, "", "Bucket not found")
	}
	return failure(http.StatusInternalServerError, "", err.Error())
}

// userMetadata normalises x-ads-user-defined-metadata: a JSON object, given
// as a string holding JSON (header, batch) or inline (batch), under 100 bytes.
func userMetadata(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		text = string(raw)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil || obj == nil {
		return "", errors.New("x-ads-user-defined-metadata must be a JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(text)); err != nil {
		return "", err
	}
	if len(text) >= maxUserMetadata {
		return "", errors.New("x-ads-user-defined-metadata must be smaller than 100 bytes")
	}
	return compact.String(), nil
}

// validateParts checks an upload's parts against the completion request
// (APS-OSS-API.md §6.3): parts 1..n present (Pending), eTags equal
// (Unexpected), all but the last at least 5 MiB (TooSmall), and the total
// size. n is len(eTags) when given, else the highest uploaded part number.
func validateParts(uploaded map[int]Part, eTags []string, size *int64) ([]Part, *completeFailure) {
	n := len(eTags)
	if n == 0 {
		for number := range uploaded {
			n = max(n, number)
		}
		n = max(n, 1)
	}
	parts := make([]Part, 0, n)
	reports := make([]partReport, 0, n)
	var detected int64
	ok := true
	for i := 1; i <= n; i++ {
		p, has := uploaded[i]
		status := partStatus(p, has, i == n, eTagAt(eTags, i))
		ok = ok && status == "Ok"
		detected += p.Size
		parts = append(parts, p)
		reports = append(reports, partReport{Part: i, Size: p.Size, ETag: p.ETag, Status: status})
	}
	sizeOK := size == nil || *size == detected
	if ok && sizeOK {
		return parts, nil
	}
	fail := &completeFailure{Status: "error", Reason: reasonInvalidParts, Size: detected, Parts: reports}
	if !sizeOK {
		fail.Size = map[string]int64{"expected": *size, "detected": detected}
	}
	return nil, fail
}

// eTagAt returns eTags[i-1] without quotes, or "" when eTags is short.
func eTagAt(eTags []string, i int) string {
	if i > len(eTags) {
		return ""
	}
	return strings.ToLower(strings.Trim(strings.TrimSpace(eTags[i-1]), `"`))
}

func partStatus(p Part, has, last bool, want string) string {
	if !has {
		return "Pending"
	}
	unexpected := want != "" && want != p.ETag
	small := !last && p.Size < minPartSize
	switch {
	case unexpected && small:
		return "Unexpected+TooSmall"
	case unexpected:
		return "Unexpected"
	case small:
		return "TooSmall"
	}
	return "Ok"
}

// handleBatchCompleteUpload serves POST .../objects/batchcompleteupload.
func (s *Server) handleBatchCompleteUpload(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noWriteAccess); !ok {
		return
	}
	var body struct {
		Requests []completeRequest `json:"requests"`
	}
	if aerr := decodeBatch(r, &body, func() int { return len(body.Requests) }); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	results := make(map[string]any, len(body.Requests))
	for _, req := range body.Requests {
		results[req.ObjectKey] = s.batchCompleteItem(c, req)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (s *Server) batchCompleteItem(c *call, req completeRequest) any {
	if req.ObjectKey == "" {
		return failure(0, req.UploadKey, "objectKey is required").body
	}
	o, cerr := s.complete(c, req)
	if cerr != nil {
		return cerr.body
	}
	return s.completedBody(c, o, true)
}
