package oss

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if o.Endpoint != DefaultEndpoint || o.CallsPerMinute != 1000 || o.RefreshMargin != 5*time.Minute ||
		o.Retry != (RetryPolicy{MaxAttempts: 6, BaseDelay: 250 * time.Millisecond, MaxDelay: 30 * time.Second, AttemptTimeout: 30 * time.Second}) ||
		strings.Join(o.Scopes, " ") != strings.Join(DefaultScopes, " ") {
		t.Fatalf("DefaultOptions %+v", o)
	}
	o.Scopes[0] = "changed"
	if DefaultScopes[0] == "changed" {
		t.Fatal("DefaultOptions shares DefaultScopes")
	}
}

func TestValidate(t *testing.T) {
	valid := Options{ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string // "" = valid
	}{
		{"client credentials", func(o *Options) {}, ""},
		{"static token", func(o *Options) { *o = Options{AccessToken: "t"} }, ""},
		{"no credentials", func(o *Options) { *o = Options{} }, "no credentials"},
		{"id without secret", func(o *Options) { o.ClientSecret = "" }, "ClientSecret is empty"},
		{"secret without id", func(o *Options) { *o = Options{ClientSecret: "s", AccessToken: "t"} }, "ClientID is empty"},
		{"relative endpoint", func(o *Options) { o.Endpoint = "localhost:8080" }, "absolute"},
		{"endpoint with query", func(o *Options) { o.Endpoint = "http://h/?a=b" }, "query"},
		{"endpoint with prefix", func(o *Options) { o.Endpoint = "http://127.0.0.1:9/aps" }, ""},
		{"negative retry", func(o *Options) { o.Retry.MaxAttempts = -1 }, "negative"},
		{"base above cap", func(o *Options) { o.Retry.BaseDelay, o.Retry.MaxDelay = time.Second, time.Millisecond }, "exceeds"},
		{"scope with space", func(o *Options) { o.Scopes = []string{"data:read data:write"} }, "scope"},
		{"negative margin", func(o *Options) { o.RefreshMargin = -time.Second }, "RefreshMargin"},
	}
	for _, tt := range tests {
		o := valid
		tt.mutate(&o)
		err := o.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
		if _, newErr := New(o); (newErr == nil) != (err == nil) {
			t.Errorf("%s: New disagrees with Validate: %v vs %v", tt.name, newErr, err)
		}
	}
}

func TestNewFillsDefaults(t *testing.T) {
	c, err := New(Options{AccessToken: "t", Retry: RetryPolicy{BaseDelay: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.Endpoint != DefaultEndpoint || o.Retry.MaxAttempts != 6 || o.Retry.MaxDelay != time.Minute ||
		o.Now == nil || o.Logger == nil || o.UserAgent == "" || c.limiter == nil || c.http == nil {
		t.Fatalf("options after New %+v", o)
	}
}
