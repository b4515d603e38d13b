package oss

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Endpoint names, used by Calls and as APIError.Op. The emulator counts its
// requests under the same names.
const (
	OpToken                  = "token"
	OpBucketsList            = "buckets.list"
	OpBucketsCreate          = "buckets.create"
	OpBucketsDetails         = "buckets.details"
	OpBucketsDelete          = "buckets.delete"
	OpObjectsList            = "objects.list"
	OpObjectsDetails         = "objects.details"
	OpObjectsDelete          = "objects.delete"
	OpObjectsCopyTo          = "objects.copyto"
	OpSignedS3Download       = "signeds3download"
	OpBatchSignedS3Download  = "batchsigneds3download"
	OpSignedS3UploadGet      = "signeds3upload.get"
	OpSignedS3UploadComplete = "signeds3upload.complete"
	OpBatchSignedS3Upload    = "batchsigneds3upload"
	OpBatchCompleteUpload    = "batchcompleteupload"
	OpS3Download             = "s3.download"
	OpS3Upload               = "s3.upload"
)

// Client is an APS OSS v2 and Authentication client. It is safe for
// concurrent use; see the package documentation for its contracts.
type Client struct {
	opts    Options
	http    *http.Client
	base    *url.URL // scheme and host of the endpoint
	prefix  string   // escaped path prefix of the endpoint, no trailing slash
	auth    *tokenSource
	limiter *rate.Limiter // nil: unlimited
	calls   counter
	log     *slog.Logger
	scrub   scrubber

	// waitHook, when set (tests only), sees every backoff wait and returns
	// the wait actually used.
	waitHook func(op string, wait time.Duration) time.Duration
}

// New validates opts, fills in defaults and returns a Client. It makes no
// network call; the first token is fetched by the first OSS call.
func New(opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	base, err := url.Parse(opts.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("oss: invalid Endpoint: %w", err)
	}
	c := &Client{
		opts:    opts,
		http:    opts.HTTPClient,
		base:    &url.URL{Scheme: base.Scheme, Host: base.Host},
		prefix:  strings.TrimRight(base.EscapedPath(), "/"),
		limiter: newLimiter(opts.CallsPerMinute),
		log:     opts.Logger,
	}
	if c.http == nil {
		c.http = newHTTPClient()
	}
	c.auth = newTokenSource(c)
	c.scrub = scrubber{secrets: c.secrets(), current: c.auth.current}
	return c, nil
}

// secrets lists the credentials that must never appear in error strings.
func (c *Client) secrets() []string {
	o := c.opts
	out := []string{o.ClientSecret, o.AccessToken}
	if o.ClientID != "" {
		out = append(out, base64.StdEncoding.EncodeToString([]byte(o.ClientID+":"+o.ClientSecret)))
	}
	return out
}

// newHTTPClient returns an HTTP/1.1 keep-alive client with many idle
// connections per host: parallel ranged GETs and part PUTs each want their
// own connection, and HTTP/2 would multiplex them onto one TCP stream. It has
// no overall timeout; every request carries a context.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ExpectContinueTimeout = time.Second
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	return &http.Client{Transport: t}
}

// endpointURL returns the endpoint URL for an escaped path (below the
// endpoint's own prefix) and an encoded query. RawPath keeps the escaped form
// on the wire (%2F stays %2F).
func (c *Client) endpointURL(escapedPath, rawQuery string) (*url.URL, error) {
	full := c.prefix + escapedPath
	path, err := url.PathUnescape(full)
	if err != nil {
		return nil, fmt.Errorf("oss: bad request path: %w", err)
	}
	u := *c.base
	u.Path, u.RawPath, u.RawQuery = path, full, rawQuery
	return &u, nil
}

// resolveCursor turns a `next` URL into a path below the endpoint and its
// query, kept byte for byte. Only path and query are used: scheme and host
// are the configured endpoint's, so the bearer token never goes elsewhere.
func (c *Client) resolveCursor(op, next string) (escapedPath, rawQuery string, err error) {
	u, err := url.Parse(next)
	if err != nil {
		return "", "", argError(op, "unparseable cursor")
	}
	p := u.EscapedPath()
	switch i := strings.Index(p, "/oss/v2/"); {
	case i >= 0:
		p = p[i:]
	case c.prefix != "" && strings.HasPrefix(p, c.prefix+"/"):
		p = p[len(c.prefix):]
	}
	if !strings.HasPrefix(p, "/") {
		return "", "", argError(op, "cursor has no path")
	}
	return p, u.RawQuery, nil
}
