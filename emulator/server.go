package emulator

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is the emulator: an http.Handler serving APS OSS v2,
// Authentication v2, the emulated S3 signed URLs and /emulator/.
type Server struct {
	opts   Options
	store  Store
	clock  Clock
	log    *slog.Logger
	tokens *tokenTable
	quota  *quota
	faults *faultSet
	stats  *stats
	signer *signer
	lister func(ordered bool) *lister

	mu        sync.Mutex
	lastSweep time.Time // last sweep of expired uploads; guarded by mu

	closeOnce sync.Once
	closeErr  error
}

// New returns a Server. It owns opts.Store from now on (Close closes it).
func New(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if opts.Store == nil {
		opts.Store = NewMemStore()
	}
	opts.PublicURL = strings.TrimSuffix(opts.PublicURL, "/")
	return &Server{
		opts:   opts,
		store:  opts.Store,
		clock:  opts.Clock,
		log:    opts.Logger,
		tokens: newTokenTable(),
		quota:  newQuota(opts.Quota, opts.QuotaWindow, opts.Clock),
		faults: newFaultSet(opts.Faults, opts.FaultSeed),
		stats:  newStats(),
		signer: newSigner(opts.SigningKey),
		lister: newLister(opts.SigningKey),
	}, nil
}

// Close closes the store. Requests still running may fail.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.store.Close() })
	return s.closeErr
}

// ServeHTTP routes a request (on its raw path), counts it, applies the WAN
// profile and fault rules, authorises OSS calls and runs the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := normalizePath(r.URL.EscapedPath())
	if path == "/emulator" || strings.HasPrefix(path, "/emulator/") {
		s.serveAdmin(w, r, path)
		return
	}
	rw := &responseWriter{ResponseWriter: w, ctx: r.Context()}
	start := time.Now()
	c, status := route(r.Method, path)
	defer s.logRequest(r, c, rw, start)
	if status != 0 {
		writeRouteError(rw, path, status)
		return
	}
	s.stats.count(c.endpoint)
	c.base = s.baseURL(r)
	if s.applyWAN(rw, r) != nil || s.applyFault(rw, r, c) {
		return
	}
	if isOSSEndpoint(c.endpoint) && !s.authorize(rw, r, c) {
		return
	}
	handlers[c.endpoint](s, rw, r, c)
}

// writeRouteError answers a request that matches no endpoint.
func writeRouteError(w http.ResponseWriter, path string, status int) {
	if strings.HasPrefix(path, "/s3/") {
		code, msg := s3StatusError(status, "")
		writeS3Error(w, &http.Request{Method: http.MethodGet}, status, code, msg)
		return
	}
	reason := http.StatusText(status)
	if status == http.StatusBadRequest {
		reason = "Invalid path segment encoding"
	}
	writeReason(w, status, reason)
}

// baseURL is the public base of URLs handed to clients.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// logRequest logs one request at debug level, without query strings (they
// hold signatures) or tokens.
func (s *Server) logRequest(r *http.Request, c *call, w *responseWriter, start time.Time) {
	op, key := "unknown", ""
	if c != nil {
		op, key = c.endpoint, c.objectKey
	}
	s.log.Debug("request", "op", op, "method", r.Method, "key", key,
		"status", w.status, "bytes", w.written, "duration", time.Since(start))
}

// Stats returns the counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the counters.
func (s *Server) ResetStats() { s.stats.reset() }

// SetFaults replaces the runtime fault rules (and resets their counters).
// Invalid rules are dropped and logged; use ParseFaults to validate first.
func (s *Server) SetFaults(rules []FaultRule) {
	valid := make([]FaultRule, 0, len(rules))
	for i, rule := range rules {
		if err := rule.validate(); err != nil {
			s.log.Warn("fault rule ignored", "index", i, "err", err)
			continue
		}
		valid = append(valid, rule)
	}
	s.faults.set(valid)
}

// Faults returns the runtime fault rules.
func (s *Server) Faults() []FaultRule { return s.faults.list() }

// CreateBucket creates a bucket directly (no HTTP, auth or quota), with the
// same validation as the HTTP endpoint. region "" means US.
func (s *Server) CreateBucket(bucketKey, policyKey, region, ownerClientID string) error {
	if region == "" {
		region = "US"
	}
	b, err := s.newBucket(bucketKey, policyKey, region, ownerClientID, nil)
	if err != nil {
		return err
	}
	return s.store.CreateBucket(b)
}

// PutObject stores an object directly, replacing any previous version
// atomically. contentType "" means application/octet-stream.
func (s *Server) PutObject(bucketKey, objectKey string, data []byte, contentType string) error {
	if objectKey == "" {
		return errors.New("emulator: empty object key")
	}
	if contentType == "" {
		contentType = defaultContentType
	}
	now := s.clock.Now()
	_, err := s.store.PutObject(Object{BucketKey: bucketKey, ObjectKey: objectKey, ContentType: contentType,
		Created: now, Modified: now, Accessed: now}, bytes.NewReader(data))
	return err
}

// DeleteObject deletes an object directly.
func (s *Server) DeleteObject(bucketKey, objectKey string) error {
	return s.store.DeleteObject(bucketKey, objectKey)
}
