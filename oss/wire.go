package oss

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// JSON shapes on the wire (APS-OSS-API.md §2–§6). They stay unexported: the
// public types are the decoded, typed forms.

type wireToken struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
}

type wirePermission struct {
	AuthID string `json:"authId"`
	Access string `json:"access"`
}

type wireBucket struct {
	BucketKey   string           `json:"bucketKey"`
	BucketOwner string           `json:"bucketOwner"`
	CreatedDate wireTime         `json:"createdDate"`
	PolicyKey   string           `json:"policyKey"`
	Permissions []wirePermission `json:"permissions"`
}

type wireBucketList struct {
	Items []wireBucket `json:"items"`
	Next  string       `json:"next"`
}

type wireCreateBucket struct {
	BucketKey string           `json:"bucketKey"`
	PolicyKey string           `json:"policyKey"`
	Allow     []wirePermission `json:"allow,omitempty"`
}

// wireObject is an object record (list item, details, copy and completion
// answers). Status, Reason and Parts are set only on failed completions.
type wireObject struct {
	BucketKey        string       `json:"bucketKey"`
	ObjectKey        string       `json:"objectKey"`
	ObjectID         string       `json:"objectId"`
	SHA1             string       `json:"sha1"`
	Size             wireSize     `json:"size"`
	ContentType      string       `json:"contentType"`
	Location         string       `json:"location"`
	CreatedDate      wireTime     `json:"createdDate"`
	LastModifiedDate wireTime     `json:"lastModifiedDate"`
	LastAccessedDate wireTime     `json:"lastAccessedDate"`
	UserMetadata     wireMetadata `json:"userDefinedMetadata"`
	Status           string       `json:"status"`
	Reason           string       `json:"reason"`
	Parts            []wirePart   `json:"parts"`
}

type wireObjectList struct {
	Items []wireObject `json:"items"`
	Next  string       `json:"next"`
}

type wirePart struct {
	Part   int    `json:"part"`
	Size   int64  `json:"size"`
	ETag   string `json:"eTag"`
	Status string `json:"status"`
}

// wireError covers OSS ({reason}), gateway ({developerMessage, errorCode})
// and completion failure bodies.
type wireError struct {
	Reason           string     `json:"reason"`
	DeveloperMessage string     `json:"developerMessage"`
	ErrorCode        string     `json:"errorCode"`
	Status           string     `json:"status"`
	Size             wireSize   `json:"size"`
	Parts            []wirePart `json:"parts"`
}

type wireSignedDownload struct {
	Status string            `json:"status"`
	URL    string            `json:"url"`
	Params map[string]string `json:"params"`
	Size   wireSize          `json:"size"`
	SHA1   string            `json:"sha1"`
	Reason string            `json:"reason"`
}

type wireBatchDownloadItem struct {
	ObjectKey          string `json:"objectKey"`
	ContentType        string `json:"response-content-type,omitempty"`
	ContentDisposition string `json:"response-content-disposition,omitempty"`
	CacheControl       string `json:"response-cache-control,omitempty"`
	IfNoneMatch        string `json:"If-None-Match,omitempty"`
}

type wireSignedUpload struct {
	UploadKey        string   `json:"uploadKey"`
	UploadExpiration wireTime `json:"uploadExpiration"`
	URLExpiration    wireTime `json:"urlExpiration"`
	URLs             []string `json:"urls"`
	Status           string   `json:"status"`
	Reason           string   `json:"reason"`
}

type wireBatchUploadItem struct {
	ObjectKey string `json:"objectKey"`
	Parts     int    `json:"parts,omitempty"`
	FirstPart int    `json:"firstPart,omitempty"`
	UploadKey string `json:"uploadKey,omitempty"`
}

type wireComplete struct {
	UploadKey string   `json:"uploadKey"`
	Size      *int64   `json:"size,omitempty"`
	ETags     []string `json:"eTags,omitempty"`
}

type wireBatchCompleteItem struct {
	ObjectKey string `json:"objectKey"`
	wireComplete
	ContentType        string `json:"x-ads-meta-Content-Type,omitempty"`
	ContentDisposition string `json:"x-ads-meta-Content-Disposition,omitempty"`
	ContentEncoding    string `json:"x-ads-meta-Content-Encoding,omitempty"`
	CacheControl       string `json:"x-ads-meta-Cache-Control,omitempty"`
	UserMetadata       string `json:"x-ads-user-defined-metadata,omitempty"`
}

// wireBatchRequest is the body of every batch endpoint.
type wireBatchRequest[T any] struct {
	Requests []T `json:"requests"`
}

// wireBatchResults is the answer of every batch endpoint; items are decoded
// one by one because a failed item has a different shape.
type wireBatchResults struct {
	Results map[string]json.RawMessage `json:"results"`
}

// wireTime decodes epoch seconds or milliseconds (told apart by magnitude),
// as a number or a numeric string, or an RFC 3339 string. null is zero.
type wireTime struct{ time.Time }

func (t *wireTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		if parsed, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = parsed
			return nil
		}
		b = []byte(s)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("oss: bad timestamp %q", b)
	}
	t.Time = fromEpoch(v)
	return nil
}

// epochMillisThreshold separates seconds from milliseconds: as seconds it is
// the year 5138, as milliseconds March 1973.
const epochMillisThreshold = 1e11

func fromEpoch(v float64) time.Time {
	switch {
	case v == 0:
		return time.Time{}
	case math.Abs(v) < epochMillisThreshold:
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9))
	default:
		return time.UnixMilli(int64(v))
	}
}

// wireSize is a completion's size: an integer on success, or
// {"expected": n, "detected": m} on a size mismatch.
type wireSize struct {
	Value              int64
	Expected, Detected int64
}

func (s *wireSize) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '{' {
		var report struct {
			Expected json.Number `json:"expected"`
			Detected json.Number `json:"detected"`
		}
		if err := json.Unmarshal(b, &report); err != nil {
			return err
		}
		s.Expected, _ = numberInt(report.Expected)
		s.Detected, _ = numberInt(report.Detected)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	v, err := numberInt(n)
	s.Value = v
	return err
}

// numberInt converts a JSON number that may be written as a float.
func numberInt(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	if v, err := n.Int64(); err == nil {
		return v, nil
	}
	f, err := n.Float64()
	return int64(f), err
}

// wireMetadata is userDefinedMetadata: documented as a JSON string holding a
// JSON object; an inline object is accepted too and kept as compact JSON.
type wireMetadata string

func (m *wireMetadata) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*m = wireMetadata(s)
		return err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*m = wireMetadata(buf.String())
	return nil
}

// expiresIn decodes the token lifetime in seconds (a number or numeric string).
func expiresIn(raw json.RawMessage) time.Duration {
	s := string(bytes.Trim(bytes.TrimSpace(raw), `"`))
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0
	}
	return time.Duration(v * float64(time.Second))
}
