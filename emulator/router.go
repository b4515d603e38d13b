package emulator

import (
	"net/http"
	"net/url"
	"strings"
)

// call is one request's routing result and per-request state.
type call struct {
	endpoint  string
	path      string // the normalised raw path
	base      string // public base URL, no trailing slash
	bucketKey string
	objectKey string // decoded; "" when the endpoint has none
	newKey    string // copyto destination
	s3ID      string // download id or upload uuid of a signed URL

	badSegment bool // a key segment was empty or not valid percent-encoding

	grant grant // set by authorize on OSS endpoints

	// Set by fault rules.
	omitSHA1  bool
	expireURL bool
	truncate  int64
}

type handlerFunc func(s *Server, w http.ResponseWriter, r *http.Request, c *call)

var handlers = map[string]handlerFunc{
	EndpointToken:                (*Server).handleToken,
	EndpointBucketsList:          (*Server).handleBucketsList,
	EndpointBucketsCreate:        (*Server).handleBucketsCreate,
	EndpointBucketsDetails:       (*Server).handleBucketsDetails,
	EndpointBucketsDelete:        (*Server).handleBucketsDelete,
	EndpointObjectsList:          (*Server).handleObjectsList,
	EndpointObjectsDetails:       (*Server).handleObjectsDetails,
	EndpointObjectsDelete:        (*Server).handleObjectsDelete,
	EndpointObjectsCopyTo:        (*Server).handleCopyTo,
	EndpointSignedDownload:       (*Server).handleSignedDownload,
	EndpointBatchSignedDownload:  (*Server).handleBatchSignedDownload,
	EndpointSignedUploadGet:      (*Server).handleSignedUploadGet,
	EndpointSignedUploadComplete: (*Server).handleSignedUploadComplete,
	EndpointBatchSignedUpload:    (*Server).handleBatchSignedUpload,
	EndpointBatchCompleteUpload:  (*Server).handleBatchCompleteUpload,
	EndpointS3Download:           (*Server).handleS3Download,
	EndpointS3Upload:             (*Server).handleS3Upload,
}

// normalizePath collapses leading slashes ("//oss/v2/..." is routed as
// "/oss/v2/...", as real SDKs send it) and drops one trailing slash.
func normalizePath(raw string) string {
	p := "/" + strings.TrimLeft(raw, "/")
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

// methods maps HTTP methods to endpoint names for one path.
type methods map[string]string

// route resolves method and the normalised raw path. It answers a status
// (404, 405 or 400) when the request matches no endpoint.
func route(method, path string) (*call, int) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	c := &call{path: path}
	var m methods
	var ok bool
	switch {
	case hasPrefix(segs, "authentication", "v2", "token") && len(segs) == 3:
		m, ok = methods{http.MethodPost: EndpointToken}, true
	case hasPrefix(segs, "oss", "v2", "buckets"):
		m, ok = routeOSS(c, segs[3:])
	case hasPrefix(segs, "s3", "download") && len(segs) == 3:
		c.s3ID, m, ok = segs[2], anyMethod(EndpointS3Download), true
	case hasPrefix(segs, "s3", "upload", "signed-url-uploads") && len(segs) == 4 && isUUID(segs[3]):
		c.s3ID, m, ok = segs[3], anyMethod(EndpointS3Upload), true
	}
	if !ok {
		return nil, http.StatusNotFound
	}
	if c.badSegment {
		return nil, http.StatusBadRequest
	}
	if c.endpoint = m[method]; c.endpoint == "" {
		return nil, http.StatusMethodNotAllowed
	}
	return c, 0
}

// anyMethod routes every method to endpoint; signed URLs check the method
// through their signature (a wrong one is SignatureDoesNotMatch, as on S3).
func anyMethod(endpoint string) methods {
	return methods{"": endpoint, http.MethodGet: endpoint, http.MethodHead: endpoint,
		http.MethodPut: endpoint, http.MethodPost: endpoint, http.MethodDelete: endpoint,
		http.MethodPatch: endpoint, http.MethodOptions: endpoint}
}

func hasPrefix(segs []string, want ...string) bool {
	if len(segs) < len(want) {
		return false
	}
	for i, w := range want {
		if segs[i] != w {
			return false
		}
	}
	return true
}

// routeOSS resolves the segments after /oss/v2/buckets.
func routeOSS(c *call, rest []string) (methods, bool) {
	if len(rest) == 0 {
		return methods{http.MethodGet: EndpointBucketsList, http.MethodPost: EndpointBucketsCreate}, true
	}
	c.bucketKey = c.unescape(rest[0])
	switch {
	case len(rest) == 1:
		return methods{http.MethodDelete: EndpointBucketsDelete}, true
	case len(rest) == 2 && rest[1] == "details":
		return methods{http.MethodGet: EndpointBucketsDetails}, true
	case rest[1] != "objects":
		return nil, false
	case len(rest) == 2:
		return methods{http.MethodGet: EndpointObjectsList}, true
	}
	return routeObject(c, rest[2:])
}

// batchEndpoints are the POST endpoints at /objects/<name>.
var batchEndpoints = map[string]string{
	"batchsigneds3download": EndpointBatchSignedDownload,
	"batchsigneds3upload":   EndpointBatchSignedUpload,
	"batchcompleteupload":   EndpointBatchCompleteUpload,
}

// routeObject resolves the segments after /objects.
func routeObject(c *call, rest []string) (methods, bool) {
	c.objectKey = c.unescape(rest[0])
	switch {
	case len(rest) == 1:
		m := methods{http.MethodDelete: EndpointObjectsDelete}
		if batch, ok := batchEndpoints[rest[0]]; ok {
			m[http.MethodPost] = batch
		}
		return m, true
	case len(rest) == 2 && rest[1] == "details":
		return methods{http.MethodGet: EndpointObjectsDetails}, true
	case len(rest) == 2 && rest[1] == "signeds3download":
		return methods{http.MethodGet: EndpointSignedDownload}, true
	case len(rest) == 2 && rest[1] == "signeds3upload":
		return methods{http.MethodGet: EndpointSignedUploadGet, http.MethodPost: EndpointSignedUploadComplete}, true
	case len(rest) == 3 && rest[1] == "copyto":
		c.newKey = c.unescape(rest[2])
		return methods{http.MethodPut: EndpointObjectsCopyTo}, true
	}
	return nil, false
}

// unescape decodes one percent-encoded path segment; "%2F" becomes "/" and
// "+" stays "+". An invalid or empty segment marks the call bad.
func (c *call) unescape(seg string) string {
	s, err := url.PathUnescape(seg)
	if err != nil || s == "" {
		c.badSegment = true
	}
	return s
}

// escapeKey percent-encodes every byte outside RFC 3986 unreserved, the
// way APS SDKs encode object keys in paths.
func escapeKey(key string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
