package emulator

import (
	"net/http"
	"strconv"
	"time"
)

// applyFault evaluates the fault rules for a routed request and performs
// the action of the rule that fires. It reports whether the request has
// been answered (or aborted) and must not reach its handler.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, c *call) bool {
	if s.faults.empty() {
		return false
	}
	key, known := s.faultKey(c)
	rule, fired := s.faults.evaluate(c.endpoint, key, known)
	if !fired {
		return false
	}
	s.log.Debug("fault", "op", c.endpoint, "key", key, "rule", rule)
	if sleepCtx(r.Context(), rule.Delay.std()) != nil {
		return true
	}
	switch {
	case rule.Status != 0:
		if rule.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(rule.RetryAfter))
		}
		writeStatusFor(w, r, c.endpoint, rule.Status)
		return true
	case rule.Reset:
		panic(http.ErrAbortHandler)
	case rule.Truncate > 0:
		c.truncate = rule.Truncate
	case rule.ExpireURL:
		c.expireURL = true
	case rule.OmitSHA1:
		c.omitSHA1 = true
	}
	return false
}

// faultKey is the object key a request is about, for FaultRule.KeyPrefix:
// the key in an OSS path, the object of a download URL, or the object of
// the upload a part URL belongs to. Bucket, token and batch requests have
// none.
func (s *Server) faultKey(c *call) (string, bool) {
	switch c.endpoint {
	case EndpointS3Download:
		_, key, ok := parseDownloadID(c.s3ID)
		return key, ok
	case EndpointS3Upload:
		u, err := s.store.Upload(c.s3ID)
		return u.ObjectKey, err == nil
	}
	return c.objectKey, c.objectKey != ""
}

func (d Duration) std() time.Duration { return time.Duration(d) }
