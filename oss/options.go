package oss

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultEndpoint is the APS API base URL for every region.
const DefaultEndpoint = "https://developer.api.autodesk.com"

// DefaultScopes are the scopes requested for 2-legged tokens when
// Options.Scopes is empty: enough to create, read and delete buckets and to
// read, write and create objects.
var DefaultScopes = []string{"bucket:create", "bucket:read", "bucket:delete", "data:read", "data:write", "data:create"}

// Defaults applied by DefaultOptions and by New for zero fields.
const (
	defaultCallsPerMinute = 1000
	defaultMaxAttempts    = 6
	defaultBaseDelay      = 250 * time.Millisecond
	defaultMaxDelay       = 30 * time.Second
	defaultAttemptTimeout = 30 * time.Second
	defaultRefreshMargin  = 5 * time.Minute
	defaultUserAgent      = "ossfs"
)

// RetryPolicy bounds the retries of one operation. Zero fields take their
// defaults.
type RetryPolicy struct {
	// MaxAttempts is the number of HTTP attempts per operation, the first
	// included (default 6; 1 disables retries). A 401 replay after a token
	// refresh does not count as an attempt.
	MaxAttempts int
	// BaseDelay is the first backoff delay (default 250ms); it doubles per retry.
	BaseDelay time.Duration
	// MaxDelay caps one backoff delay (default 30s). A server's Retry-After
	// may exceed it, up to maxRetryAfter.
	MaxDelay time.Duration
	// AttemptTimeout bounds one attempt of an OSS JSON call (default 30s).
	// For S3 transfers it bounds only the wait for response headers (and,
	// for uploads, any stall while sending the body), never the body transfer.
	AttemptTimeout time.Duration
}

// Options configures a Client. Build it from DefaultOptions, or leave fields
// zero to take their defaults.
type Options struct {
	// Endpoint is the API base URL (default DefaultEndpoint). A path prefix
	// is kept: "http://127.0.0.1:8080/aps" sends "/aps/oss/v2/...".
	Endpoint string
	// ClientID and ClientSecret enable 2-legged OAuth (client credentials).
	ClientID     string
	ClientSecret string
	// AccessToken is a static bearer token, used when ClientID is empty. It
	// cannot be refreshed: a 401 is returned as ErrUnauthorized.
	AccessToken string
	// Scopes requested for 2-legged tokens (default DefaultScopes).
	Scopes []string
	// HTTPClient sends every request. nil selects a tuned HTTP/1.1
	// keep-alive client with many idle connections per host.
	HTTPClient *http.Client
	// CallsPerMinute is the client-side budget over all OSS calls (not S3
	// transfers, not token calls). Default 1000; the burst is a minute's
	// worth. A negative value disables the limiter.
	CallsPerMinute int
	// Retry is the retry policy of every operation.
	Retry RetryPolicy
	// RefreshMargin refreshes a token this long before it expires (default
	// 5 min, at most half the token lifetime).
	RefreshMargin time.Duration
	// Now is the clock for token expiry and URL expiry (default time.Now).
	// Backoff waits and the limiter use the real clock.
	Now func() time.Time
	// Logger receives per-call debug lines and retry notices (default: discard).
	Logger *slog.Logger
	// UserAgent is sent on every request (default "ossfs").
	UserAgent string
}

// DefaultOptions returns Options with every default filled in and no
// credentials.
func DefaultOptions() Options {
	return Options{
		Endpoint:       DefaultEndpoint,
		Scopes:         append([]string(nil), DefaultScopes...),
		CallsPerMinute: defaultCallsPerMinute,
		Retry: RetryPolicy{
			MaxAttempts:    defaultMaxAttempts,
			BaseDelay:      defaultBaseDelay,
			MaxDelay:       defaultMaxDelay,
			AttemptTimeout: defaultAttemptTimeout,
		},
		RefreshMargin: defaultRefreshMargin,
		UserAgent:     defaultUserAgent,
	}
}

// Validate reports the first problem with o. Zero fields are valid: they
// mean "default".
func (o Options) Validate() error {
	if err := validateEndpoint(o.Endpoint); err != nil {
		return err
	}
	if err := o.validateCredentials(); err != nil {
		return err
	}
	for _, s := range o.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("oss: invalid scope %q", s)
		}
	}
	if o.RefreshMargin < 0 {
		return errors.New("oss: RefreshMargin must not be negative")
	}
	return o.Retry.validate()
}

func (o Options) validateCredentials() error {
	switch {
	case o.ClientID != "" && o.ClientSecret == "":
		return errors.New("oss: ClientID is set but ClientSecret is empty")
	case o.ClientID == "" && o.ClientSecret != "":
		return errors.New("oss: ClientSecret is set but ClientID is empty")
	case o.ClientID == "" && o.AccessToken == "":
		return errors.New("oss: no credentials: set ClientID and ClientSecret, or AccessToken")
	}
	return nil
}

func validateEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("oss: invalid Endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("oss: Endpoint %q must be an absolute http or https URL", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("oss: Endpoint %q must not carry user info, a query or a fragment", endpoint)
	}
	return nil
}

func (p RetryPolicy) validate() error {
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.AttemptTimeout < 0 {
		return errors.New("oss: RetryPolicy fields must not be negative")
	}
	if p.BaseDelay > 0 && p.MaxDelay > 0 && p.BaseDelay > p.MaxDelay {
		return errors.New("oss: RetryPolicy.BaseDelay exceeds MaxDelay")
	}
	return nil
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	o.Endpoint = strings.TrimRight(or(o.Endpoint, d.Endpoint), "/")
	if len(o.Scopes) == 0 {
		o.Scopes = d.Scopes
	}
	if o.CallsPerMinute == 0 {
		o.CallsPerMinute = d.CallsPerMinute
	}
	o.Retry.MaxAttempts = or(o.Retry.MaxAttempts, d.Retry.MaxAttempts)
	o.Retry.BaseDelay = or(o.Retry.BaseDelay, d.Retry.BaseDelay)
	o.Retry.MaxDelay = or(o.Retry.MaxDelay, max(d.Retry.MaxDelay, o.Retry.BaseDelay))
	o.Retry.AttemptTimeout = or(o.Retry.AttemptTimeout, d.Retry.AttemptTimeout)
	o.RefreshMargin = or(o.RefreshMargin, d.RefreshMargin)
	o.UserAgent = or(o.UserAgent, d.UserAgent)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// or returns v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
