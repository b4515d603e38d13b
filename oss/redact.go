package oss

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Secrets never leave the client in logs or error strings: no bearer token,
// client secret or Basic credential, and no query string of any URL (signed
// URLs carry X-Amz-Signature and X-Amz-Security-Token in theirs).

const redacted = "REDACTED"

// redactURL strips user info, query and fragment from a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		if i := strings.Index(raw, "@"); i >= 0 {
			raw = raw[i+1:]
		}
		return raw
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// redactErr strips the query from the URL that net/http (and url.Parse)
// embed in a *url.Error anywhere in err's chain. The *url.Error is fresh for
// each request, so it is edited in place.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return err
}

var signedParamRE = regexp.MustCompile(`(?i)(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"'<>]*`)

// scrubber removes known secrets from server-provided text (error reasons).
type scrubber struct {
	secrets []string // client secret, Basic credential, static token
	current func() string
}

func (s scrubber) scrub(text string) string {
	text = signedParamRE.ReplaceAllString(text, "${1}"+redacted)
	for _, secret := range s.secrets {
		text = replaceSecret(text, secret)
	}
	if s.current != nil {
		text = replaceSecret(text, s.current())
	}
	return text
}

func replaceSecret(text, secret string) string {
	if len(secret) < 4 {
		return text
	}
	return strings.ReplaceAll(text, secret, redacted)
}
