package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signed URLs look like S3 SigV4 presigned URLs and point at the emulator.
// The signature is an HMAC-SHA256, under the server's signing key, of the
// method, the path and every other query parameter, so any change to the
// URL (or using it with another method) breaks it.

const (
	amzDateFormat  = "20060102T150405Z"
	paramSignature = "X-Amz-Signature"
	paramDate      = "X-Amz-Date"
	paramExpires   = "X-Amz-Expires"
)

var errBadSignature = errors.New("signature does not match")

// signer signs and verifies URLs.
type signer struct {
	key   []byte
	token string // the X-Amz-Security-Token of every URL
}

func newSigner(key []byte) *signer {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("security-token"))
	seed := mac.Sum(nil)
	token := base64.StdEncoding.EncodeToString(append(append(seed, seed...), seed[:16]...))
	return &signer{key: key, token: "IQoJb3JpZ2luX2VjE" + token}
}

// sign returns base+path with params and the X-Amz-* parameters for a URL
// valid from now for expires, for method.
func (sg *signer) sign(method, base, path string, params url.Values, now time.Time, expires time.Duration) string {
	q := url.Values{}
	for k, v := range params {
		q[k] = append([]string(nil), v...)
	}
	now = now.UTC()
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", "EMULATOR/"+now.Format("20060102")+"/us-east-1/s3/aws4_request")
	q.Set(paramDate, now.Format(amzDateFormat))
	q.Set(paramExpires, strconv.FormatInt(int64(expires/time.Second), 10))
	q.Set("X-Amz-SignedHeaders", "host")
	q.Set("X-Amz-Security-Token", sg.token)
	return base + path + "?" + encodeQuery(q) + "&" + paramSignature + "=" + sg.mac(method, path, q)
}

// encodeQuery encodes like url.Values.Encode but with %20 for spaces, as
// S3 presigned URLs do.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}

func (sg *signer) mac(method, path string, q url.Values) string {
	m := hmac.New(sha256.New, sg.key)
	m.Write([]byte(method + "\n" + path + "\n" + q.Encode()))
	return hex.EncodeToString(m.Sum(nil))
}

// verify checks a request's signature and returns the URL's validity window.
func (sg *signer) verify(method, path string, query url.Values) (signed time.Time, expires time.Duration, err error) {
	got := query.Get(paramSignature)
	q := url.Values{}
	for k, v := range query {
		if k != paramSignature {
			q[k] = v
		}
	}
	want := sg.mac(method, path, q)
	if len(query[paramSignature]) != 1 || !hmac.Equal([]byte(got), []byte(want)) {
		return time.Time{}, 0, errBadSignature
	}
	signed, err = time.Parse(amzDateFormat, q.Get(paramDate))
	if err != nil {
		return time.Time{}, 0, errBadSignature
	}
	secs, err := strconv.ParseInt(q.Get(paramExpires), 10, 64)
	if err != nil {
		return time.Time{}, 0, errBadSignature
	}
	return signed, time.Duration(secs) * time.Second, nil
}

// downloadID names an object in a download URL path.
func downloadID(bucketKey, objectKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(bucketKey + "/" + objectKey))
}

// parseDownloadID reverses downloadID.
func parseDownloadID(id string) (bucketKey, objectKey string, ok bool) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", "", false
	}
	bucketKey, objectKey, ok = strings.Cut(string(raw), "/")
	return bucketKey, objectKey, ok && objectKey != ""
}
