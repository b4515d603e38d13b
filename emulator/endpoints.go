package emulator

import "strings"

// Endpoint names. They are used verbatim in Stats.Calls, in FaultRule.Endpoint
// and by the ossfs client's own call counter.
const (
	EndpointToken                = "token"
	EndpointBucketsList          = "buckets.list"
	EndpointBucketsCreate        = "buckets.create"
	EndpointBucketsDetails       = "buckets.details"
	EndpointBucketsDelete        = "buckets.delete"
	EndpointObjectsList          = "objects.list"
	EndpointObjectsDetails       = "objects.details"
	EndpointObjectsDelete        = "objects.delete"
	EndpointObjectsCopyTo        = "objects.copyto"
	EndpointSignedDownload       = "signeds3download"
	EndpointBatchSignedDownload  = "batchsigneds3download"
	EndpointSignedUploadGet      = "signeds3upload.get"
	EndpointSignedUploadComplete = "signeds3upload.complete"
	EndpointBatchSignedUpload    = "batchsigneds3upload"
	EndpointBatchCompleteUpload  = "batchcompleteupload"
	EndpointS3Download           = "s3.download"
	EndpointS3Upload             = "s3.upload"
)

// Endpoint groups accepted by FaultRule.Endpoint in addition to the names.
const (
	EndpointGroupOSS = "oss" // every /oss/v2 endpoint
	EndpointGroupS3  = "s3"  // every signed-URL request
	EndpointGroupAll = "*"   // everything except /emulator/
)

var endpointNames = []string{
	EndpointToken,
	EndpointBucketsList, EndpointBucketsCreate, EndpointBucketsDetails, EndpointBucketsDelete,
	EndpointObjectsList, EndpointObjectsDetails, EndpointObjectsDelete, EndpointObjectsCopyTo,
	EndpointSignedDownload, EndpointBatchSignedDownload,
	EndpointSignedUploadGet, EndpointSignedUploadComplete,
	EndpointBatchSignedUpload, EndpointBatchCompleteUpload,
	EndpointS3Download, EndpointS3Upload,
}

// Endpoints lists every endpoint name, in a fixed order.
func Endpoints() []string {
	return append([]string(nil), endpointNames...)
}

// isOSSEndpoint reports whether name is an /oss/v2 endpoint.
func isOSSEndpoint(name string) bool {
	return name != EndpointToken && !isS3Endpoint(name) && isEndpoint(name)
}

// isS3Endpoint reports whether name is a signed-URL endpoint.
func isS3Endpoint(name string) bool {
	return strings.HasPrefix(name, "s3.")
}

func isEndpoint(name string) bool {
	for _, n := range endpointNames {
		if n == name {
			return true
		}
	}
	return false
}

// endpointScopes lists, per OSS endpoint, the scopes of which a token needs
// at least one (APS-OSS-API.md §2.2). Overwrite checks (data:write) happen in
// the handlers, where the object's existence is known.
var endpointScopes = map[string][]string{
	EndpointBucketsList:          {"bucket:read"},
	EndpointBucketsCreate:        {"bucket:create"},
	EndpointBucketsDetails:       {"bucket:read", "viewables:read"},
	EndpointBucketsDelete:        {"bucket:delete"},
	EndpointObjectsList:          {"data:read"},
	EndpointObjectsDetails:       {"data:read"},
	EndpointObjectsDelete:        {"data:write"},
	EndpointObjectsCopyTo:        {"data:write", "data:create"},
	EndpointSignedDownload:       {"data:read"},
	EndpointBatchSignedDownload:  {"data:read"},
	EndpointSignedUploadGet:      {"data:write", "data:create"},
	EndpointSignedUploadComplete: {"data:write", "data:create"},
	EndpointBatchSignedUpload:    {"data:write", "data:create"},
	EndpointBatchCompleteUpload:  {"data:write", "data:create"},
}

// knownScopes are the scopes the token endpoint grants.
var knownScopes = []string{
	"account:read", "account:write",
	"bucket:create", "bucket:delete", "bucket:read", "bucket:update",
	"code:all",
	"data:create", "data:read", "data:search", "data:write",
	"openid", "user-profile:read", "user:read", "user:write", "viewables:read",
}

func isKnownScope(scope string) bool {
	for _, s := range knownScopes {
		if s == scope {
			return true
		}
	}
	return false
}
