package emulator

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The emulated S3 side: GET on download URLs, PUT on part URLs. Errors are
// S3 XML; nothing here needs (or accepts) an Authorization header.

const maxPartSize = 5 << 30

// checkSignedURL verifies signature, method and expiry (a request must
// start before X-Amz-Date + X-Amz-Expires). It answers 403 and returns
// false when the URL is not usable.
func (s *Server) checkSignedURL(w http.ResponseWriter, r *http.Request, c *call) bool {
	q := r.URL.Query()
	signed, lifetime, err := s.signer.verify(r.Method, c.path, q)
	if err != nil {
		writeS3Error(w, r, http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			field("AWSAccessKeyId", "EMULATOR"), field("SignatureProvided", q.Get(paramSignature)))
		return false
	}
	now := s.clock.Now()
	expires := signed.Add(lifetime)
	if c.expireURL || now.After(expires) {
		writeS3Error(w, r, http.StatusForbidden, "AccessDenied", "Request has expired",
			field("X-Amz-Expires", q.Get(paramExpires)), field("Expires", s3Time(expires)),
			field("ServerTime", s3Time(now)))
		return false
	}
	return true
}

// handleS3Download serves GET on a signed download URL.
func (s *Server) handleS3Download(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.checkSignedURL(w, r, c) {
		return
	}
	bucketKey, objectKey, _ := parseDownloadID(c.s3ID)
	o, blob, err := s.store.OpenObject(bucketKey, objectKey)
	if err != nil {
		code, msg := s3StatusError(http.StatusNotFound, EndpointS3Download)
		writeS3Error(w, r, http.StatusNotFound, code, msg, field("Key", objectKey))
		return
	}
	defer blob.Close()
	if !s.checkConditions(w, r, o) {
		return
	}
	rng, status, ok := selectRange(w, r, o.Size)
	if !ok {
		return
	}
	s.setDownloadHeaders(w, r, o)
	s.store.TouchObject(bucketKey, objectKey, s.clock.Now())
	s.sendBody(w, io.NewSectionReader(blob, rng.start, rng.length), rng.length, status, c.truncate)
}

// selectRange applies the Range header: the bytes to send and the status,
// with Content-Range set for 206; for an unsatisfiable range it answers 416
// and returns false.
func selectRange(w http.ResponseWriter, r *http.Request, size int64) (byteRange, int, bool) {
	total := strconv.FormatInt(size, 10)
	rng, kind := parseRange(r.Header.Get("Range"), size)
	switch kind {
	case rangeUnsatisfiable:
		w.Header().Set("Content-Range", "bytes */"+total)
		writeS3Error(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable",
			field("RangeRequested", r.Header.Get("Range")), field("ActualObjectSize", total))
		return byteRange{}, 0, false
	case rangePartial:
		w.Header().Set("Content-Range", "bytes "+strconv.FormatInt(rng.start, 10)+"-"+
			strconv.FormatInt(rng.start+rng.length-1, 10)+"/"+total)
		return rng, http.StatusPartialContent, true
	}
	return byteRange{start: 0, length: size}, http.StatusOK, true
}

// checkConditions applies If-Match (412) and If-None-Match (304) against
// the S3 ETag.
func (s *Server) checkConditions(w http.ResponseWriter, r *http.Request, o Object) bool {
	if im := r.Header.Get("If-Match"); im != "" && !etagMatches(im, o.ETag) {
		code, msg := s3StatusError(http.StatusPreconditionFailed, EndpointS3Download)
		writeS3Error(w, r, http.StatusPreconditionFailed, code, msg, field("Condition", "If-Match"))
		return false
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, o.ETag) {
		w.Header().Set("ETag", `"`+o.ETag+`"`)
		w.WriteHeader(http.StatusNotModified)
		return false
	}
	return true
}

// setDownloadHeaders sets the entity headers: response-* parameters win
// over the stored x-ads-meta-* values.
func (s *Server) setDownloadHeaders(w http.ResponseWriter, r *http.Request, o Object) {
	q := r.URL.Query()
	h := w.Header()
	set := func(name, param, stored string) {
		if v := firstNonEmpty(q.Get(param), stored); v != "" {
			h.Set(name, v)
		}
	}
	set("Content-Type", "response-content-type", firstNonEmpty(o.ContentType, defaultContentType))
	set("Content-Disposition", "response-content-disposition", o.ContentDisposition)
	set("Cache-Control", "response-cache-control", o.CacheControl)
	set("Content-Encoding", "response-content-encoding", o.ContentEncoding)
	h.Set("ETag", `"`+o.ETag+`"`)
	h.Set("Last-Modified", o.Modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-amz-request-id", randomRequestID())
}

// sendBody writes length bytes of body. With truncate > 0 it sends only
// that many bytes and then drops the connection.
func (s *Server) sendBody(w http.ResponseWriter, body io.Reader, length int64, status int, truncate int64) {
	w.Header().Set("Content-Length", strconv.FormatInt(length, 10))
	w.WriteHeader(status)
	if truncate > 0 {
		body = io.LimitReader(body, truncate)
	}
	n, _ := io.CopyBuffer(w, body, make([]byte, 256<<10))
	s.stats.bytesOut.Add(n)
	if truncate > 0 {
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
}

// handleS3Upload serves PUT on a signed part URL (S3 UploadPart).
func (s *Server) handleS3Upload(w http.ResponseWriter, r *http.Request, c *call) {
	if !s.checkSignedURL(w, r, c) || !checkUploadFraming(w, r) {
		return
	}
	partNumber, ok := s.checkPartRequest(w, r)
	if !ok {
		return
	}
	u, err := s.store.Upload(c.s3ID)
	uploadID := r.URL.Query().Get("uploadId")
	if err != nil || u.S3UploadID != uploadID || !s.clock.Now().Before(u.Expires) {
		writeNoSuchUpload(w, r, uploadID)
		return
	}
	digest, ok := contentMD5(w, r)
	if !ok {
		return
	}
	body := &countingReader{r: r.Body, n: &s.stats.bytesIn}
	part, err := s.store.PutPart(u.ID, PartData{Number: partNumber, Size: r.ContentLength, MD5: digest, Body: body})
	if err != nil {
		s.partError(w, r, uploadID, err)
		return
	}
	w.Header().Set("ETag", `"`+part.ETag+`"`)
	w.Header().Set("x-amz-request-id", randomRequestID())
	writeEmpty(w, http.StatusOK)
}

// checkUploadFraming insists on a Content-Length, as S3 does for presigned
// PUTs: chunked is 501 NotImplemented, no length is 411.
func checkUploadFraming(w http.ResponseWriter, r *http.Request) bool {
	for _, te := range r.TransferEncoding {
		if strings.EqualFold(te, "chunked") {
			writeS3Error(w, r, http.StatusNotImplemented, "NotImplemented",
				"A header you provided implies functionality that is not implemented", field("Header", "Transfer-Encoding"))
			return false
		}
	}
	if r.ContentLength < 0 || r.Header.Get("Content-Length") == "" {
		writeS3Error(w, r, http.StatusLengthRequired, "MissingContentLength", "You must provide the Content-Length HTTP header.")
		return false
	}
	return true
}

// checkPartRequest checks partNumber (1..10000) and the part size (≤ 5 GiB).
func (s *Server) checkPartRequest(w http.ResponseWriter, r *http.Request) (int, bool) {
	raw := r.URL.Query().Get("partNumber")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPartNumber {
		writeS3Error(w, r, http.StatusBadRequest, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive",
			field("ArgumentName", "partNumber"), field("ArgumentValue", raw))
		return 0, false
	}
	if r.ContentLength > maxPartSize {
		writeS3Error(w, r, http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
			field("ProposedSize", strconv.FormatInt(r.ContentLength, 10)), field("MaxSizeAllowed", strconv.FormatInt(maxPartSize, 10)))
		return 0, false
	}
	return n, true
}

// contentMD5 decodes an optional Content-MD5 header (400 InvalidDigest if
// malformed).
func contentMD5(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	v := r.Header.Get("Content-MD5")
	if v == "" {
		return nil, true
	}
	digest, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(digest) != 16 {
		writeS3Error(w, r, http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.",
			field("Content-MD5", v))
		return nil, false
	}
	return digest, true
}

func writeNoSuchUpload(w http.ResponseWriter, r *http.Request, uploadID string) {
	code, msg := s3StatusError(http.StatusNotFound, EndpointS3Upload)
	writeS3Error(w, r, http.StatusNotFound, code, msg, field("UploadId", uploadID))
}

// partError answers a failed PutPart.
func (s *Server) partError(w http.ResponseWriter, r *http.Request, uploadID string, err error) {
	switch {
	case errors.Is(err, ErrBadDigest):
		writeS3Error(w, r, http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	case errors.Is(err, ErrIncompleteBody):
		writeS3Error(w, r, http.StatusBadRequest, "IncompleteBody",
			"You did not provide the number of bytes specified by the Content-Length HTTP header")
	case errors.Is(err, ErrUploadNotFound):
		writeNoSuchUpload(w, r, uploadID)
	default:
		s.log.Warn("part upload failed", "op", EndpointS3Upload, "err", err)
		code, msg := s3StatusError(http.StatusInternalServerError, EndpointS3Upload)
		writeS3Error(w, r, http.StatusInternalServerError, code, msg)
	}
}

// countingReader adds the bytes it reads to n.
type countingReader struct {
	r io.Reader
	n interface{ Add(int64) int64 }
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
