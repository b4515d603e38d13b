package emulator

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const maxBatch = 25

// downloadRequest is one object to sign a download URL for.
type downloadRequest struct {
	ObjectKey                  string `json:"objectKey"`
	ResponseContentType        string `json:"response-content-type"`
	ResponseContentDisposition string `json:"response-content-disposition"`
	ResponseCacheControl       string `json:"response-cache-control"`
	IfNoneMatch                string `json:"If-None-Match"`
	IfModifiedSince            string `json:"If-Modified-Since"`
}

// downloadBody is a signed download answer (or a batch item).
type downloadBody struct {
	Status string            `json:"status"`
	Reason string            `json:"reason,omitempty"`
	URL    string            `json:"url,omitempty"`
	Params map[string]string `json:"params,omitempty"`
	Size   *int64            `json:"size,omitempty"`
	SHA1   string            `json:"sha1,omitempty"`
}

// handleSignedDownload serves GET .../objects/:objectKey/signeds3download.
func (s *Server) handleSignedDownload(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noReadAccess); !ok {
		return
	}
	q := r.URL.Query()
	minutes, aerr := parseMinutes(q)
	if aerr == nil {
		aerr = checkBoolParams(q, "public-resource-fallback", "useCdn")
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	o, err := s.store.Object(c.bucketKey, c.objectKey)
	if err != nil {
		storeError(w, err)
		return
	}
	req := downloadRequest{ObjectKey: c.objectKey,
		ResponseContentType: q.Get("response-content-type"), ResponseContentDisposition: q.Get("response-content-disposition"),
		ResponseCacheControl: q.Get("response-cache-control"),
		IfNoneMatch:          r.Header.Get("If-None-Match"), IfModifiedSince: r.Header.Get("If-Modified-Since")}
	if req.notModified(o) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, s.signDownload(c, o, req, minutes))
}

// notModified applies If-None-Match (against sha1) and If-Modified-Since.
func (req downloadRequest) notModified(o Object) bool {
	if req.IfNoneMatch != "" {
		return etagMatches(req.IfNoneMatch, o.SHA1)
	}
	return notModifiedSince(req.IfModifiedSince, o.Modified)
}

// signDownload answers status "complete" with a URL for o. Content type and
// disposition are baked into the URL, like APS does; the stored cache
// control and encoding are served unless overridden.
func (s *Server) signDownload(c *call, o Object, req downloadRequest, minutes int) downloadBody {
	ct := firstNonEmpty(req.ResponseContentType, o.ContentType, defaultContentType)
	cd := firstNonEmpty(req.ResponseContentDisposition, o.ContentDisposition, defaultDisposition(o.ObjectKey))
	params := url.Values{"response-content-type": {ct}, "response-content-disposition": {cd}}
	if req.ResponseCacheControl != "" {
		params.Set("response-cache-control", req.ResponseCacheControl)
	}
	signed := s.signer.sign(http.MethodGet, c.base, "/s3/download/"+downloadID(o.BucketKey, o.ObjectKey),
		params, s.clock.Now(), time.Duration(minutes)*time.Minute)
	size := o.Size
	body := downloadBody{Status: "complete", URL: signed, Size: &size,
		Params: map[string]string{"content-type": ct, "content-disposition": cd}}
	if !c.omitSHA1 {
		body.SHA1 = o.SHA1
	}
	return body
}

// defaultDisposition is OSS's default Content-Disposition.
func defaultDisposition(objectKey string) string {
	name := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(objectKey)
	return `attachment; filename="` + name + `"`
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// handleBatchSignedDownload serves POST .../objects/batchsigneds3download.
func (s *Server) handleBatchSignedDownload(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noReadAccess); !ok {
		return
	}
	q := r.URL.Query()
	minutes, aerr := parseMinutes(q)
	if aerr == nil {
		aerr = checkBoolParams(q, "public-resource-fallback", "useCdn")
	}
	var body struct {
		Requests []downloadRequest `json:"requests"`
	}
	if aerr == nil {
		aerr = decodeBatch(r, &body, func() int { return len(body.Requests) })
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	results := make(map[string]downloadBody, len(body.Requests))
	for _, req := range body.Requests {
		results[req.ObjectKey] = s.batchDownloadItem(c, req, minutes)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// decodeBatch decodes a batch body and checks its size (1..25 requests).
func decodeBatch(r *http.Request, v any, count func() int) *apiError {
	if err := decodeBody(r, 4<<20, v); err != nil {
		return err.(*apiError)
	}
	switch n := count(); {
	case n == 0:
		return badRequest("The body must contain at least one request")
	case n > maxBatch:
		return badRequest("Too many requests: at most 25 per call")
	}
	return nil
}

func (s *Server) batchDownloadItem(c *call, req downloadRequest, minutes int) downloadBody {
	if req.ObjectKey == "" {
		return downloadBody{Status: "error", Reason: "objectKey is required"}
	}
	o, err := s.store.Object(c.bucketKey, req.ObjectKey)
	switch {
	case errors.Is(err, ErrObjectNotFound):
		return downloadBody{Status: "error", Reason: "Object not found"}
	case err != nil:
		return downloadBody{Status: "error", Reason: err.Error()}
	case req.notModified(o):
		return downloadBody{Status: "skipped", Reason: "Not modified"}
	case isInlineExecutable(req):
		return downloadBody{Status: "error", Reason: "Inline executable content not allowed"}
	}
	return s.signDownload(c, o, req, minutes)
}

// isInlineExecutable: OSS refuses to serve HTML inline.
func isInlineExecutable(req downloadRequest) bool {
	ct := strings.ToLower(req.ResponseContentType)
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(req.ResponseContentDisposition)), "inline") &&
		(strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/xhtml"))
}

// etagMatches reports whether an If-Match/If-None-Match header lists etag
// (quotes, W/ and case are ignored; "*" matches anything).
func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		candidate = strings.Trim(candidate, `"`)
		if candidate == "*" || strings.EqualFold(candidate, etag) {
			return true
		}
	}
	return false
}
