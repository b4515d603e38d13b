package emulator

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	uploadLifetime   = 24 * time.Hour
	maxPartsPerCall  = 25
	maxPartNumber    = 10000
	uploadKeyVersion = 1
	uploadKeyBytes   = 200 // encodes to 268 URL-safe base64 characters ending in "="
	sweepInterval    = time.Minute
)

var errInvalidUploadKey = errors.New("InvalidUploadKey")

// newUploadKey returns an opaque uploadKey naming the upload with id:
// padded URL-safe base64 (so it can contain "="), 268 characters.
func newUploadKey(id string) string {
	raw := make([]byte, 0, uploadKeyBytes)
	raw = append(raw, uploadKeyVersion)
	raw = append(raw, uuidBytes(id)...)
	raw = append(raw, randomBytes(uploadKeyBytes-len(raw))...)
	return base64.URLEncoding.EncodeToString(raw)
}

func uuidBytes(id string) []byte {
	b, _ := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	return b
}

// uploadIDFromKey extracts the upload id of an uploadKey (padding optional).
func uploadIDFromKey(key string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key, "="))
	if err != nil || len(raw) != uploadKeyBytes || raw[0] != uploadKeyVersion {
		return "", false
	}
	b := raw[1:17]
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), true
}

// findUpload resolves an uploadKey for bucketKey/objectKey. Unknown, spent
// (completed), expired or foreign keys are all errInvalidUploadKey.
func (s *Server) findUpload(key, bucketKey, objectKey string) (Upload, error) {
	id, ok := uploadIDFromKey(key)
	if !ok {
		return Upload{}, errInvalidUploadKey
	}
	u, err := s.store.Upload(id)
	if err != nil {
		return Upload{}, errInvalidUploadKey
	}
	same := subtle.ConstantTimeCompare([]byte(strings.TrimRight(u.Key, "=")), []byte(strings.TrimRight(key, "="))) == 1
	if !same || u.BucketKey != bucketKey || u.ObjectKey != objectKey || !s.clock.Now().Before(u.Expires) {
		return Upload{}, errInvalidUploadKey
	}
	return u, nil
}

// startUpload creates a new upload session for bucketKey/objectKey.
func (s *Server) startUpload(bucketKey, objectKey string) (Upload, error) {
	s.sweepUploads()
	now := s.clock.Now()
	id := randomUUID()
	u := Upload{ID: id, Key: newUploadKey(id), S3UploadID: base64.RawURLEncoding.EncodeToString(randomBytes(72)),
		BucketKey: bucketKey, ObjectKey: objectKey, Started: now, Expires: now.Add(uploadLifetime)}
	return u, s.store.CreateUpload(u)
}

// sweepUploads deletes expired uploads, at most once per sweepInterval.
func (s *Server) sweepUploads() {
	now := s.clock.Now()
	s.mu.Lock()
	due := now.Sub(s.lastSweep) >= sweepInterval
	if due {
		s.lastSweep = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	uploads, _ := s.store.Uploads()
	for _, u := range uploads {
		if !now.Before(u.Expires) {
			_ = s.store.DeleteUpload(u.ID)
		}
	}
}

// uploadRequest is one object to get part URLs for.
type uploadRequest struct {
	ObjectKey string `json:"objectKey"`
	Parts     *int   `json:"parts"`
	FirstPart *int   `json:"firstPart"`
	UploadKey string `json:"uploadKey"`
}

// uploadBody is a signeds3upload answer (or a batch item).
type uploadBody struct {
	Status           string   `json:"status,omitempty"`
	Reason           string   `json:"reason,omitempty"`
	UploadKey        string   `json:"uploadKey,omitempty"`
	UploadExpiration string   `json:"uploadExpiration,omitempty"`
	URLExpiration    string   `json:"urlExpiration,omitempty"`
	URLs             []string `json:"urls,omitempty"`
}

// partRange returns parts and firstPart with defaults, checked.
func (req uploadRequest) partRange() (first, count int, err *apiError) {
	first, count = 1, 1
	if req.FirstPart != nil {
		first = *req.FirstPart
	}
	if req.Parts != nil {
		count = *req.Parts
	}
	switch {
	case count < 1 || count > maxPartsPerCall:
		return 0, 0, badRequest("Invalid parts: must be an integer between 1 and 25")
	case first < 1 || first+count-1 > maxPartNumber:
		return 0, 0, badRequest("Invalid firstPart: parts must be numbered 1 to 10000")
	}
	return first, count, nil
}

// handleSignedUploadGet serves GET .../objects/:objectKey/signeds3upload.
func (s *Server) handleSignedUploadGet(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noWriteAccess); !ok {
		return
	}
	q := r.URL.Query()
	req, minutes, aerr := parseUploadQuery(q)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	req.ObjectKey = c.objectKey
	if !s.canOverwrite(w, c, c.bucketKey, c.objectKey) {
		return
	}
	body, err := s.uploadURLs(c, req, minutes)
	switch {
	case errors.Is(err, errInvalidUploadKey):
		writeReason(w, http.StatusBadRequest, "InvalidUploadKey")
	case err != nil:
		storeError(w, err)
	default:
		writeJSON(w, http.StatusOK, body)
	}
}

// parseUploadQuery reads parts, firstPart, uploadKey, minutesExpiration and
// useAcceleration.
func parseUploadQuery(q url.Values) (uploadRequest, int, *apiError) {
	req := uploadRequest{UploadKey: q.Get("uploadKey")}
	for name, dst := range map[string]**int{"parts": &req.Parts, "firstPart": &req.FirstPart} {
		if q.Has(name) {
			n, err := strconv.Atoi(q.Get(name))
			if err != nil {
				return req, 0, badRequest("Invalid " + name + ": must be an integer")
			}
			*dst = &n
		}
	}
	if _, _, err := req.partRange(); err != nil {
		return req, 0, err
	}
	if err := checkBoolParams(q, "useAcceleration"); err != nil {
		return req, 0, err
	}
	minutes, err := parseMinutes(q)
	return req, minutes, err
}

// uploadURLs starts or continues an upload and signs its part URLs.
func (s *Server) uploadURLs(c *call, req uploadRequest, minutes int) (uploadBody, error) {
	first, count, aerr := req.partRange()
	if aerr != nil {
		return uploadBody{}, aerr
	}
	var u Upload
	var err error
	if req.UploadKey != "" {
		u, err = s.findUpload(req.UploadKey, c.bucketKey, req.ObjectKey)
	} else {
		u, err = s.startUpload(c.bucketKey, req.ObjectKey)
	}
	if err != nil {
		return uploadBody{}, err
	}
	now := s.clock.Now()
	lifetime := time.Duration(minutes) * time.Minute
	body := uploadBody{UploadKey: u.Key, UploadExpiration: s3Time(u.Expires),
		URLExpiration: s3Time(now.Add(lifetime)), URLs: make([]string, count)}
	for i := range count {
		params := url.Values{"uploadId": {u.S3UploadID}, "partNumber": {strconv.Itoa(first + i)}}
		body.URLs[i] = s.signer.sign(http.MethodPut, c.base, "/s3/upload/signed-url-uploads/"+u.ID, params, now, lifetime)
	}
	return body, nil
}

// handleBatchSignedUpload serves POST .../objects/batchsigneds3upload. At
// most 25 URLs may be requested in total.
func (s *Server) handleBatchSignedUpload(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noWriteAccess); !ok {
		return
	}
	q := r.URL.Query()
	minutes, aerr := parseMinutes(q)
	if aerr == nil {
		aerr = checkBoolParams(q, "useAcceleration")
	}
	var body struct {
		Requests []uploadRequest `json:"requests"`
	}
	if aerr == nil {
		aerr = decodeBatch(r, &body, func() int { return totalURLs(body.Requests) })
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	results := make(map[string]uploadBody, len(body.Requests))
	for _, req := range body.Requests {
		results[req.ObjectKey] = s.batchUploadItem(c, req, minutes)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// totalURLs counts the URLs a batch asks for (parts defaults to 1).
func totalURLs(reqs []uploadRequest) int {
	n := 0
	for _, req := range reqs {
		if req.Parts != nil && *req.Parts > 0 {
			n += *req.Parts
		} else {
			n++
		}
	}
	return n
}

func (s *Server) batchUploadItem(c *call, req uploadRequest, minutes int) uploadBody {
	if req.ObjectKey == "" {
		return uploadBody{Status: "error", Reason: "objectKey is required"}
	}
	if !s.mayWrite(c, c.bucketKey, req.ObjectKey) {
		return uploadBody{Status: "error", Reason: noWriteAccess}
	}
	body, err := s.uploadURLs(c, req, minutes)
	var aerr *apiError
	switch {
	case errors.As(err, &aerr):
		return uploadBody{Status: "error", Reason: aerr.reason}
	case err != nil:
		return uploadBody{Status: "error", Reason: err.Error()}
	}
	return body
}
