package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
)

// FaultRule makes the emulator misbehave on purpose. A rule matches a
// request by endpoint (and optionally key prefix); it fires on matching
// requests chosen by Probability or Every, after skipping the first After,
// at most Times times; when it fires it performs its action. See doc.go for
// the full semantics.
type FaultRule struct {
	Endpoint    string   `json:"endpoint"`              // an endpoint name, or "oss", "s3", "*"
	KeyPrefix   string   `json:"keyPrefix,omitempty"`   // only requests about object keys with this prefix
	Probability float64  `json:"probability,omitempty"` // fire with this probability ...
	Every       int      `json:"every,omitempty"`       // ... or on every Nth matching request (1 = all)
	After       int      `json:"after,omitempty"`       // skip the first N matching requests
	Times       int      `json:"times,omitempty"`       // fire at most this many times; 0 = unlimited
	Status      int      `json:"status,omitempty"`      // answer this status with the service's body for it
	RetryAfter  int      `json:"retryAfter,omitempty"`  // seconds, sent as Retry-After with Status
	Delay       Duration `json:"delay,omitempty"`       // sleep before acting; alone = slow request
	Reset       bool     `json:"reset,omitempty"`       // drop the connection without a response
	Truncate    int64    `json:"truncate,omitempty"`    // s3.download: send this many body bytes, then drop
	ExpireURL   bool     `json:"expireURL,omitempty"`   // signed URL treated as expired
	OmitSHA1    bool     `json:"omitSHA1,omitempty"`    // OSS responses carry no sha1
}

// Duration is a time.Duration that is a Go duration string in JSON ("150ms").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"150ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseFaults parses and validates a JSON array of rules. Unknown fields
// are errors, so a typo never silently disables a rule.
func ParseFaults(data []byte) ([]FaultRule, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rules []FaultRule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("emulator: fault rules: %w", err)
	}
	if dec.More() {
		return nil, errors.New("emulator: fault rules: trailing data after the array")
	}
	for i, rule := range rules {
		if err := rule.validate(); err != nil {
			return nil, fmt.Errorf("emulator: fault rule %d: %w", i, err)
		}
	}
	if rules == nil {
		rules = []FaultRule{}
	}
	return rules, nil
}

// LoadFaults reads a JSON file of rules (see ParseFaults).
func LoadFaults(path string) ([]FaultRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFaults(data)
}

// validate checks one rule.
func (r FaultRule) validate() error {
	checks := []func() error{r.validateSelection, r.validateAction, r.validateScope}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (r FaultRule) validateSelection() error {
	switch {
	case r.Endpoint != EndpointGroupOSS && r.Endpoint != EndpointGroupS3 &&
		r.Endpoint != EndpointGroupAll && !isEndpoint(r.Endpoint):
		return fmt.Errorf("unknown endpoint %q", r.Endpoint)
	case r.Probability < 0 || r.Probability > 1:
		return errors.New("probability must be within 0..1")
	case r.Every < 0 || r.After < 0 || r.Times < 0:
		return errors.New("every, after and times must not be negative")
	case r.Probability > 0 && r.Every > 0:
		return errors.New("set probability or every, not both")
	}
	return nil
}

func (r FaultRule) actionCount() int {
	n := 0
	for _, set := range []bool{r.Status != 0, r.Reset, r.Truncate != 0, r.ExpireURL, r.OmitSHA1} {
		if set {
			n++
		}
	}
	return n
}

func (r FaultRule) validateAction() error {
	switch n := r.actionCount(); {
	case n > 1:
		return errors.New("more than one action (status, reset, truncate, expireURL, omitSHA1)")
	case n == 0 && r.Delay <= 0:
		return errors.New("no action: set status, reset, truncate, expireURL, omitSHA1 or delay")
	case r.Status != 0 && (r.Status < 400 || r.Status > 599):
		return errors.New("status must be within 400..599")
	case r.RetryAfter < 0 || (r.RetryAfter > 0 && r.Status == 0):
		return errors.New("retryAfter needs a status and must not be negative")
	case r.Delay < 0:
		return errors.New("negative delay")
	case r.Truncate < 0:
		return errors.New("negative truncate")
	}
	return nil
}

// validateScope checks that the action can happen on the rule's endpoints.
func (r FaultRule) validateScope() error {
	for _, name := range endpointNames {
		if r.selects(name) && r.appliesTo(name) {
			return nil
		}
	}
	return fmt.Errorf("its action never applies to endpoint %q", r.Endpoint)
}

// selects reports whether the rule's Endpoint covers endpoint.
func (r FaultRule) selects(endpoint string) bool {
	switch r.Endpoint {
	case EndpointGroupAll:
		return true
	case EndpointGroupOSS:
		return isOSSEndpoint(endpoint)
	case EndpointGroupS3:
		return isS3Endpoint(endpoint)
	}
	return r.Endpoint == endpoint
}

// appliesTo reports whether the rule's action makes sense on endpoint.
func (r FaultRule) appliesTo(endpoint string) bool {
	switch {
	case r.Truncate > 0:
		return endpoint == EndpointS3Download
	case r.ExpireURL:
		return isS3Endpoint(endpoint)
	case r.OmitSHA1:
		return isOSSEndpoint(endpoint)
	}
	return true
}

// matches reports whether the rule applies to a request. key is the object
// key the request is about, if known.
func (r FaultRule) matches(endpoint, key string, keyKnown bool) bool {
	if !r.selects(endpoint) || !r.appliesTo(endpoint) {
		return false
	}
	return r.KeyPrefix == "" || (keyKnown && strings.HasPrefix(key, r.KeyPrefix))
}

// faultSet is the live rule set with its counters.
type faultSet struct {
	mu    sync.Mutex
	rules []ruleState // guarded by mu
	rng   *rand.Rand  // guarded by mu
}

type ruleState struct {
	FaultRule
	matched int // matching requests seen
	fired   int
}

func newFaultSet(rules []FaultRule, seed int64) *faultSet {
	if seed == 0 {
		seed = rand.Int64()
	}
	f := &faultSet{rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))}
	f.set(rules)
	return f
}

// set replaces the rules and resets their counters.
func (f *faultSet) set(rules []FaultRule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = make([]ruleState, len(rules))
	for i, r := range rules {
		f.rules[i] = ruleState{FaultRule: r}
	}
}

func (f *faultSet) empty() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rules) == 0
}

func (f *faultSet) list() []FaultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FaultRule, len(f.rules))
	for i, r := range f.rules {
		out[i] = r.FaultRule
	}
	return out
}

// evaluate counts the request against every matching rule and returns the
// first rule that fires. Later rules that would also fire are not used and
// their Times are not consumed.
func (f *faultSet) evaluate(endpoint, key string, keyKnown bool) (FaultRule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var chosen *ruleState
	for i := range f.rules {
		r := &f.rules[i]
		if !r.matches(endpoint, key, keyKnown) {
			continue
		}
		r.matched++
		if chosen == nil && f.firesLocked(r) {
			chosen = r
		}
	}
	if chosen == nil {
		return FaultRule{}, false
	}
	chosen.fired++
	return chosen.FaultRule, true
}

// firesLocked decides whether r fires on its latest matching request.
func (f *faultSet) firesLocked(r *ruleState) bool {
	n := r.matched - r.After
	if n <= 0 || (r.Times > 0 && r.fired >= r.Times) {
		return false
	}
	switch {
	case r.Probability > 0:
		return f.rng.Float64() < r.Probability
	case r.Every > 0:
		return n%r.Every == 0
	}
	return true
}
