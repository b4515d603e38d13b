package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// App is a registered application: a client id with its secret.
type App struct {
	ClientID, ClientSecret string
	// Scopes the app may be granted; empty means every known scope.
	Scopes []string
}

// Options configure a Server. The zero value is usable; DefaultOptions
// spells the defaults out.
type Options struct {
	Apps  []App // registered apps (credentials)
	Store Store // nil: NewMemStore()
	Clock Clock // nil: the real clock

	Quota         int           // OSS calls per QuotaWindow per client id; 0 = 1000; <0 = unlimited
	QuotaWindow   time.Duration // 0 = 1 minute
	TokenLifetime time.Duration // 0 = 3599 s

	// WAN profile. Latency is slept (real time) before every request;
	// Bandwidth paces request and response bodies, in bytes per second per
	// connection when the http.Server uses Server.ConnContext and per
	// request otherwise. 0 = unlimited.
	Latency   time.Duration
	Bandwidth int64

	// Ordered lists objects and buckets in lexical key order. By default
	// listings are in an arbitrary (keyed-hash) order, like APS since 2018.
	Ordered bool
	// ListingLag hides objects from listings until they are this old (by
	// Clock, counted from their creation), emulating a listing that lags
	// behind completions (APS-OSS-API.md §10, §11.11). Details, downloads
	// and deletes see objects at once. 0 = none.
	ListingLag time.Duration

	Faults    []FaultRule
	FaultSeed int64 // seed for FaultRule.Probability; 0 = random

	// PublicURL is the base ("http://127.0.0.1:8080") of next, location and
	// signed URLs; "" derives it from each request (scheme + Host).
	PublicURL string
	// SigningKey is the HMAC key of signed URLs, listing order and cursors;
	// nil = random per Server (signed URLs then die with the process).
	SigningKey []byte
	Logger     *slog.Logger // nil = discard
}

// Defaults.
const (
	DefaultQuota         = 1000
	DefaultQuotaWindow   = time.Minute
	DefaultTokenLifetime = 3599 * time.Second
)

// DefaultOptions returns Options with every default written out.
func DefaultOptions() Options {
	return Options{
		Quota:         DefaultQuota,
		QuotaWindow:   DefaultQuotaWindow,
		TokenLifetime: DefaultTokenLifetime,
	}
}

// Validate reports the first problem with o.
func (o Options) Validate() error {
	checks := []func() error{o.validateApps, o.validateNumbers, o.validatePublicURL, o.validateFaults}
	for _, check := range checks {
		if err := check(); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
	}
	return nil
}

func (o Options) validateApps() error {
	seen := make(map[string]bool)
	for _, app := range o.Apps {
		if app.ClientID == "" || app.ClientSecret == "" {
			return errors.New("app needs a client id and a client secret")
		}
		if seen[app.ClientID] {
			return fmt.Errorf("duplicate app %q", app.ClientID)
		}
		seen[app.ClientID] = true
		for _, scope := range app.Scopes {
			if !isKnownScope(scope) {
				return fmt.Errorf("app %q: unknown scope %q", app.ClientID, scope)
			}
		}
	}
	return nil
}

func (o Options) validateNumbers() error {
	switch {
	case o.QuotaWindow < 0:
		return errors.New("negative QuotaWindow")
	case o.TokenLifetime < 0:
		return errors.New("negative TokenLifetime")
	case o.Latency < 0:
		return errors.New("negative Latency")
	case o.Bandwidth < 0:
		return errors.New("negative Bandwidth")
	case o.ListingLag < 0:
		return errors.New("negative ListingLag")
	}
	return nil
}

func (o Options) validatePublicURL() error {
	if o.PublicURL == "" {
		return nil
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil {
		return fmt.Errorf("PublicURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("PublicURL %q: want http(s)://host[:port]", o.PublicURL)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("PublicURL %q: must not have a path, query or fragment", o.PublicURL)
	}
	return nil
}

func (o Options) validateFaults() error {
	for i, rule := range o.Faults {
		if err := rule.validate(); err != nil {
			return fmt.Errorf("fault rule %d: %w", i, err)
		}
	}
	return nil
}

// withDefaults fills zero values.
func (o Options) withDefaults() Options {
	if o.Quota == 0 {
		o.Quota = DefaultQuota
	}
	if o.QuotaWindow == 0 {
		o.QuotaWindow = DefaultQuotaWindow
	}
	if o.TokenLifetime == 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SigningKey == nil {
		o.SigningKey = randomBytes(32)
	}
	return o
}
