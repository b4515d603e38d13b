package oss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBodyBytes bounds an OSS JSON answer read into memory.
const maxBodyBytes = 32 << 20

// request is one OSS JSON operation. Its retry state lives here too, so one
// request value must not be reused for a second operation.
type request struct {
	op       string
	method   string
	path     string // escaped, below the endpoint
	rawQuery string
	header   http.Header
	body     []byte // JSON unless contentType says otherwise
	ctype    string
	key      string // object (or bucket) key, for logs

	replayed bool // a 401 was answered by a refresh and one replay
	retried  bool // an attempt failed in a retryable way and was repeated
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// jsonRequest builds a request whose body is body encoded as JSON (nil: none).
func jsonRequest(op, method, path string, body any) (*request, error) {
	r := &request{op: op, method: method, path: path, header: http.Header{}}
	if body == nil {
		return r, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("oss: %s: encoding request: %w", op, err)
	}
	r.body, r.ctype = b, "application/json"
	return r, nil
}

// do runs an OSS operation: token, limiter, retries, one 401 replay.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	var res *response
	err := c.withRetry(ctx, r.op, r.key, func(ctx context.Context, attempt int) error {
		r.retried = attempt > 1
		var err error
		res, err = c.authorized(ctx, r)
		return err
	})
	return res, err
}

// doJSON runs do and decodes a JSON answer into out (nil: ignore the body).
func (c *Client) doJSON(ctx context.Context, r *request, out any) error {
	res, err := c.do(ctx, r)
	if err != nil || out == nil {
		return err
	}
	return decodeJSON(r.op, res.body, out)
}

func decodeJSON(op string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("oss: %s: decoding response: %w", op, err)
	}
	return nil
}

// authorized makes one attempt with a bearer token. A 401 invalidates the
// token and, once per operation, replays the call with a fresh one.
func (c *Client) authorized(ctx context.Context, r *request) (*response, error) {
	for {
		token, err := c.auth.token(ctx)
		if err != nil {
			return nil, final(err)
		}
		res, err := c.sendOSS(ctx, r, token)
		if statusOf(err) != http.StatusUnauthorized || r.replayed || !c.auth.refreshable() {
			return res, err
		}
		r.replayed = true
		c.auth.invalidate(token)
		c.log.DebugContext(ctx, "oss token rejected; refreshing", "op", r.op, "key", r.key)
	}
}

// sendOSS waits for the limiter, then sends one attempt with its own timeout.
func (c *Client) sendOSS(ctx context.Context, r *request, token string) (*response, error) {
	if err := c.limit(ctx, r.op); err != nil {
		return nil, final(err)
	}
	return c.send(ctx, r, "Bearer "+token)
}

// send performs one HTTP attempt and reads the whole answer. Non-2xx answers
// become *APIError.
func (c *Client) send(ctx context.Context, r *request, authorization string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Retry.AttemptTimeout)
	defer cancel()
	req, err := c.newHTTPRequest(ctx, r, authorization)
	if err != nil {
		return nil, final(err)
	}
	c.calls.add(r.op)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.logCall(ctx, r, 0, start, err)
		return nil, redactErr(err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body)
	c.logCall(ctx, r, resp.StatusCode, start, err)
	if err != nil {
		return nil, fmt.Errorf("oss: %s: reading response: %w", r.op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.apiError(r.op, resp, body)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

func (c *Client) newHTTPRequest(ctx context.Context, r *request, authorization string) (*http.Request, error) {
	u, err := c.endpointURL(r.path, r.rawQuery)
	if err != nil {
		return nil, err
	}
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, redactErr(err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("Authorization", authorization)
	return req, nil
}

// readBody reads at most maxBodyBytes.
func readBody(body io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxBodyBytes+1))
	if err == nil && len(b) > maxBodyBytes {
		err = errors.New("response body too large")
	}
	return b, err
}

func (c *Client) logCall(ctx context.Context, r *request, status int, start time.Time, err error) {
	if err != nil {
		c.log.DebugContext(ctx, "oss call", "op", r.op, "key", r.key, "status", status,
			"dur", time.Since(start), "err", redactErr(err))
		return
	}
	c.log.DebugContext(ctx, "oss call", "op", r.op, "key", r.key, "status", status, "dur", time.Since(start))
}
