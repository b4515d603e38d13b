package emulator

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var bucketKeyPattern = regexp.MustCompile(`^[-_.a-z0-9]{3,128}$`)

// regions accepted at bucket creation and listing (APS-OSS-API.md §1).
var regions = []string{"US", "EMEA", "AUS", "CAN", "DEU", "IND", "JPN", "GBR", "APAC"}

var policyKeys = []string{"transient", "temporary", "persistent"}

const (
	reasonBadBucketKey = "Valid field 'bucketKey' must be of the form  [-_.a-z0-9]{3,128}"
	reasonBadPolicyKey = "Valid field 'policyKey' must be one of transient, temporary, persistent"
	maxAllow           = 59
)

// normalizeRegion upper-cases a region and checks it ("" = US).
func normalizeRegion(region string) (string, *apiError) {
	if region == "" {
		return "US", nil
	}
	region = strings.ToUpper(region)
	if !slices.Contains(regions, region) {
		return "", badRequest("Invalid region: " + region)
	}
	return region, nil
}

// newBucket validates a bucket's fields and returns its record.
func (s *Server) newBucket(key, policy, region, owner string, allow []Permission) (Bucket, error) {
	if !bucketKeyPattern.MatchString(key) {
		return Bucket{}, badRequest(reasonBadBucketKey)
	}
	if !slices.Contains(policyKeys, policy) {
		return Bucket{}, badRequest(reasonBadPolicyKey)
	}
	region, rerr := normalizeRegion(region)
	if rerr != nil {
		return Bucket{}, rerr
	}
	if err := checkAllow(allow); err != nil {
		return Bucket{}, err
	}
	perms := append([]Permission{{AuthID: owner, Access: "full"}}, allow...)
	return Bucket{Key: key, Owner: owner, PolicyKey: policy, Region: region,
		Created: s.clock.Now(), Permissions: perms}, nil
}

func checkAllow(allow []Permission) *apiError {
	if len(allow) > maxAllow {
		return badRequest("Too many entries in 'allow': at most 59 apps besides the owner")
	}
	for _, p := range allow {
		if p.AuthID == "" || !slices.Contains([]string{"full", "read", "write"}, p.Access) {
			return badRequest("Invalid 'allow' entry: authId required, access must be full, read or write")
		}
	}
	return nil
}

// bucketBody is the create/details response.
type bucketBody struct {
	BucketKey   string       `json:"bucketKey"`
	BucketOwner string       `json:"bucketOwner"`
	CreatedDate int64        `json:"createdDate"`
	Permissions []Permission `json:"permissions"`
	PolicyKey   string       `json:"policyKey"`
}

func newBucketBody(b Bucket) bucketBody {
	return bucketBody{BucketKey: b.Key, BucketOwner: b.Owner, CreatedDate: b.Created.UnixMilli(),
		Permissions: b.Permissions, PolicyKey: b.PolicyKey}
}

// ownedBucket fetches the call's bucket: 404 if missing, 403 (with the
// given reason) if another app owns it.
func (s *Server) ownedBucket(w http.ResponseWriter, c *call, denied string) (Bucket, bool) {
	b, err := s.store.Bucket(c.bucketKey)
	switch {
	case errors.Is(err, ErrBucketNotFound):
		writeReason(w, http.StatusNotFound, "Bucket not found")
		return Bucket{}, false
	case err != nil:
		writeReason(w, http.StatusInternalServerError, err.Error())
		return Bucket{}, false
	case b.Owner != c.grant.clientID:
		writeReason(w, http.StatusForbidden, denied)
		return Bucket{}, false
	}
	return b, true
}

const (
	noReadAccess  = "No read access"
	noWriteAccess = "No write access"
)

// handleBucketsCreate serves POST /oss/v2/buckets.
func (s *Server) handleBucketsCreate(w http.ResponseWriter, r *http.Request, c *call) {
	var body struct {
		BucketKey string       `json:"bucketKey"`
		PolicyKey string       `json:"policyKey"`
		Allow     []Permission `json:"allow"`
	}
	if err := decodeBody(r, 1<<20, &body); err != nil {
		writeAPIError(w, err.(*apiError))
		return
	}
	region := r.Header.Get("region")
	if region == "" {
		region = r.Header.Get("x-ads-region")
	}
	b, err := s.newBucket(body.BucketKey, body.PolicyKey, region, c.grant.clientID, body.Allow)
	if err == nil {
		err = s.store.CreateBucket(b)
	}
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeAPIError(w, ae)
	case errors.Is(err, ErrBucketExists):
		writeReason(w, http.StatusConflict, "Bucket already exists")
	case err != nil:
		writeReason(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, newBucketBody(b))
	}
}

// handleBucketsDetails serves GET /oss/v2/buckets/:bucketKey/details.
func (s *Server) handleBucketsDetails(w http.ResponseWriter, _ *http.Request, c *call) {
	if b, ok := s.ownedBucket(w, c, noReadAccess); ok {
		writeJSON(w, http.StatusOK, newBucketBody(b))
	}
}

// handleBucketsDelete serves DELETE /oss/v2/buckets/:bucketKey. Unlike APS
// (asynchronous, key not reusable for a while), deletion is immediate.
func (s *Server) handleBucketsDelete(w http.ResponseWriter, _ *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noWriteAccess); !ok {
		return
	}
	if err := s.store.DeleteBucket(c.bucketKey); err != nil {
		writeReason(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeEmpty(w, http.StatusOK)
}

type bucketItem struct {
	BucketKey   string `json:"bucketKey"`
	CreatedDate int64  `json:"createdDate"`
	PolicyKey   string `json:"policyKey"`
}

type listBody[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// handleBucketsList serves GET /oss/v2/buckets: the caller's buckets in one
// region (a region header wins over the query parameter).
func (s *Server) handleBucketsList(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	region := r.Header.Get("region")
	if region == "" {
		region = q.Get("region")
	}
	region, err := normalizeRegion(region)
	if err == nil {
		var limit int
		if limit, err = parseLimit(q); err == nil {
			err = s.listBuckets(w, c, region, limit, q.Get("startAt"))
		}
	}
	if err != nil {
		writeAPIError(w, err)
	}
}

func (s *Server) listBuckets(w http.ResponseWriter, c *call, region string, limit int, startAt string) *apiError {
	all, err := s.store.Buckets()
	if err != nil {
		return &apiError{http.StatusInternalServerError, err.Error()}
	}
	var names []string
	var items []bucketItem
	for _, b := range all {
		if b.Owner == c.grant.clientID && b.Region == region {
			names = append(names, b.Key)
			items = append(items, bucketItem{b.Key, b.Created.UnixMilli(), b.PolicyKey})
		}
	}
	scope := "buckets\x00" + c.grant.clientID + "\x00" + region
	items, cursor, perr := page(s.lister(s.opts.Ordered), scope, names, items, startAt, limit)
	if perr != nil {
		return badRequest("Invalid startAt")
	}
	body := listBody[bucketItem]{Items: items}
	if cursor != "" {
		q := url.Values{"region": {region}, "limit": {strconv.Itoa(limit)}, "startAt": {cursor}}
		body.Next = c.base + "/oss/v2/buckets?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
