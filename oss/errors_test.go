package oss

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAPIErrorIs(t *testing.T) {
	all := []error{ErrNotFound, ErrAccessDenied, ErrUnauthorized, ErrThrottled, ErrURLExpired, ErrConflict,
		ErrNotModified, ErrInvalidUploadKey, ErrInvalidParts, ErrBadRequest}
	tests := []struct {
		err  *APIError
		want []error
	}{
		{&APIError{Op: OpObjectsDetails, Status: 404}, []error{ErrNotFound}},
		{&APIError{Op: OpS3Upload, Status: 404, Code: "NoSuchUpload"}, []error{ErrNotFound}},
		{&APIError{Op: OpObjectsList, Status: 401}, []error{ErrUnauthorized}},
		{&APIError{Op: OpObjectsList, Status: 403}, []error{ErrAccessDenied}},
		{&APIError{Op: OpS3Download, Status: 403}, []error{ErrURLExpired}},
		{&APIError{Op: OpS3Upload, Status: 403}, []error{ErrURLExpired}},
		{&APIError{Op: OpBucketsCreate, Status: 409}, []error{ErrConflict}},
		{&APIError{Op: OpSignedS3UploadGet, Status: 429}, []error{ErrThrottled}},
		{&APIError{Op: OpS3Download, Status: 503, Code: "SlowDown"}, []error{ErrThrottled}},
		{&APIError{Op: OpObjectsDetails, Status: 304}, []error{ErrNotModified}},
		{&APIError{Op: OpObjectsList, Status: 400}, []error{ErrBadRequest}},
		{&APIError{Op: OpSignedS3UploadComplete, Status: 200, Code: "MissingOrInvalidParts"}, []error{ErrInvalidParts}},
		{&APIError{Op: OpSignedS3UploadComplete, Status: 400, Code: "MissingOrInvalidParts"}, []error{ErrInvalidParts, ErrBadRequest}},
		{&APIError{Op: OpBatchCompleteUpload, Code: "InvalidUploadKey"}, []error{ErrInvalidUploadKey}},
		{&APIError{Op: OpObjectsList, Status: 500}, nil},
	}
	for _, tt := range tests {
		for _, sentinel := range all {
			want := false
			for _, w := range tt.want {
				want = want || w == sentinel
			}
			if got := errors.Is(tt.err, sentinel); got != want {
				t.Errorf("%s %d %q: Is(%v) = %t, want %t", tt.err.Op, tt.err.Status, tt.err.Code, sentinel, got, want)
			}
		}
	}
}

func TestGatewayErrorParsed(t *testing.T) {
	srv := newAPSServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "25")
		w.Header().Set("x-ads-request-id", "rid-7")
		writeJSON(w, 429, `{"developerMessage":"Quota limit exceeded.","userMessage":"","errorCode":"","more info":"https://x"}`)
	})
	c := newTestClient(t, srv.URL, func(o *Options) { o.Retry.MaxAttempts = 1 })
	_, err := c.ObjectDetails(bg(), "bkt", "a", DetailsOptions{})
	var ae *APIError
	if !errors.As(err, &ae) || !errors.Is(err, ErrThrottled) {
		t.Fatalf("err %v", err)
	}
	if ae.Reason != "Quota limit exceeded." || ae.RetryAfter != 25*time.Second || ae.RequestID != "rid-7" || ae.Op != OpObjectsDetails {
		t.Fatalf("APIError %+v", ae)
	}
	msg := err.Error()
	for _, want := range []string{"objects.details", "429", "Quota limit exceeded.", "rid-7", "25s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestRetryAfterFormats(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-3":                            0,
		"Wed, 01 Jan 2025 00:00:30 GMT": 30 * time.Second,
		"Tue, 31 Dec 2024 23:00:00 GMT": 0,
		"soon":                          0,
	} {
		h := http.Header{}
		h.Set("Retry-After", v)
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}

func TestUnparsedBodyBecomesShortReason(t *testing.T) {
	e := &APIError{}
	fillFromBody(e, []byte("<html><body>"+strings.Repeat("gateway timeout ", 50)+"</body></html>"))
	if len(e.Reason) > 210 || e.Reason == "" {
		t.Fatalf("reason %d bytes: %q", len(e.Reason), e.Reason)
	}
	e = &APIError{}
	fillFromBody(e, []byte(`{"reason":"Valid field 'bucketKey' must be of the form  [-_.a-z0-9]{3,128}"}`))
	if e.Code != "" || !strings.HasPrefix(e.Reason, "Valid field") {
		t.Fatalf("sentence reason taken as a code: %+v", e)
	}
}
