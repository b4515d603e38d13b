package emulator

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

const defaultContentType = "application/octet-stream"

// apiError is an OSS error: a status and a reason.
type apiError struct {
	status int
	reason string
}

func (e *apiError) Error() string { return e.reason }

func badRequest(reason string) *apiError { return &apiError{http.StatusBadRequest, reason} }

// responseWriter records the status and body size, and paces the body when
// a bandwidth limit is set.
type responseWriter struct {
	http.ResponseWriter
	ctx     context.Context
	status  int
	written int64
	pace    *rate.Limiter
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int
	var err error
	if w.pace != nil {
		n, err = pacedWrite(w.ctx, w.pace, w.ResponseWriter, p)
	} else {
		n, err = w.ResponseWriter.Write(p)
	}
	w.written += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// decodeBody decodes a JSON request body of at most limit bytes.
func decodeBody(r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, limit))
	if err := dec.Decode(v); err != nil {
		return badRequest("Invalid JSON body: " + err.Error())
	}
	return nil
}

// parseIntParam parses an optional integer query parameter within lo..hi.
func parseIntParam(q url.Values, name string, def, lo, hi int) (int, bool) {
	if !q.Has(name) {
		return def, true
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// checkBoolParams answers 400 unless each named parameter, when present, is
// "true" or "false".
func checkBoolParams(q url.Values, names ...string) *apiError {
	for _, name := range names {
		if !q.Has(name) {
			continue
		}
		if v := q.Get(name); !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
			return badRequest("Invalid value for '" + name + "': must be true or false")
		}
	}
	return nil
}

// parseMinutes parses minutesExpiration (1..60, default 2).
func parseMinutes(q url.Values) (int, *apiError) {
	m, ok := parseIntParam(q, "minutesExpiration", 2, 1, 60)
	if !ok {
		return 0, badRequest("Invalid minutesExpiration: must be an integer between 1 and 60")
	}
	return m, nil
}

// parseLimit parses a listing limit (1..100, default 10).
func parseLimit(q url.Values) (int, *apiError) {
	n, ok := parseIntParam(q, "limit", 10, 1, 100)
	if !ok {
		return 0, badRequest("Invalid limit")
	}
	return n, nil
}

// writeAPIError answers an apiError.
func writeAPIError(w http.ResponseWriter, err *apiError) {
	writeReason(w, err.status, err.reason)
}
