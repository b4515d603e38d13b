// Package emulator is a local, faithful implementation of the Autodesk
// Platform Services (APS) Data Management OSS v2 API and its 2-legged
// Authentication v2 token endpoint, including the S3 presigned URLs that
// OSS hands out for direct-to-S3 transfers. Every ossfs test runs against
// it, `ossfs emulator` and `ossfs mount --emulator` serve it, and it is
// meant to be useful to anyone building against APS OSS. It is a product,
// not a mock: where the real service has a rule, a limit or a quirk, the
// emulator has it too. The wire protocol it follows is
// /work/shared/APS-OSS-API.md (cited below as §n); where this comment and
// that document disagree, the document wins.
//
// The package imports nothing of ossfs.
//
// # Use
//
//	srv, err := emulator.New(emulator.Options{
//		Apps: []emulator.App{{ClientID: "id", ClientSecret: "secret"}},
//		Store: store, // emulator.NewDiskStore(dir) for durable data; nil = memory
//	})
//	httpSrv := &http.Server{Handler: srv, ConnContext: srv.ConnContext}
//
// Server is an http.Handler. Point an APS client's base URL at it (for
// example http://127.0.0.1:8080) instead of https://developer.api.autodesk.com.
// CreateBucket, PutObject and DeleteObject change the state directly,
// bypassing HTTP, auth and quota; Stats, ResetStats, SetFaults and Faults
// do what /emulator/ does. Tests use a FakeClock to cross token expiry,
// signed-URL expiry, quota windows and the 24 h upload deadline without
// sleeping.
//
// # Endpoints
//
// Each request is routed on its raw path (r.URL.EscapedPath()), so an
// object key arrives as one percent-encoded segment ("%2F" is a "/" inside
// the key, "+" is a plus) and is decoded by the emulator. Leading slashes
// are collapsed ("//oss/v2/..." as sent by real SDKs is served, never
// redirected). The endpoint names are the constants Endpoint*; they name
// the counters in Stats.Calls and the targets of fault rules.
//
//	token                    POST   /authentication/v2/token
//	buckets.list             GET    /oss/v2/buckets
//	buckets.create           POST   /oss/v2/buckets
//	buckets.details          GET    /oss/v2/buckets/:bucketKey/details
//	buckets.delete           DELETE /oss/v2/buckets/:bucketKey
//	objects.list             GET    /oss/v2/buckets/:bucketKey/objects
//	objects.details          GET    /oss/v2/buckets/:bucketKey/objects/:objectKey/details
//	objects.delete           DELETE /oss/v2/buckets/:bucketKey/objects/:objectKey
//	objects.copyto           PUT    /oss/v2/buckets/:bucketKey/objects/:objectKey/copyto/:newObjectKey
//	signeds3download         GET    /oss/v2/buckets/:bucketKey/objects/:objectKey/signeds3download
//	batchsigneds3download    POST   /oss/v2/buckets/:bucketKey/objects/batchsigneds3download
//	signeds3upload.get       GET    /oss/v2/buckets/:bucketKey/objects/:objectKey/signeds3upload
//	signeds3upload.complete  POST   /oss/v2/buckets/:bucketKey/objects/:objectKey/signeds3upload
//	batchsigneds3upload      POST   /oss/v2/buckets/:bucketKey/objects/batchsigneds3upload
//	batchcompleteupload      POST   /oss/v2/buckets/:bucketKey/objects/batchcompleteupload
//	s3.download              GET    /s3/download/<id>?response-...&X-Amz-...
//	s3.upload                PUT    /s3/upload/signed-url-uploads/<uuid>?uploadId=..&partNumber=N&X-Amz-...
//
// and, without auth, never counted, faulted or slowed:
//
//	GET    /emulator/health        {"status":"ok"}
//	GET    /emulator/stats         Stats as JSON
//	POST   /emulator/stats/reset   204
//	GET    /emulator/faults        the fault rules, a JSON array
//	POST   /emulator/faults        replace the rules with a JSON array (400 if invalid)
//	DELETE /emulator/faults        remove every rule (204)
//
// Legacy endpoints (proxied GET/PUT of objects, resumable uploads, OSS
// signed resources, authentication v1) are not served.
//
// # Authentication, scopes, quota
//
// The token endpoint takes a form body with grant_type=client_credentials
// and a space-separated scope, and the credentials either as
// "Basic base64(id:secret)" ("Basic" capitalised) or as client_id and
// client_secret in the body; both at once is 400, a non-form content type
// is 415 (AUTH-007), missing credentials 400 (AUTH-008), wrong ones 401.
// An unknown scope is 400; a scope the App may not have is 403. Tokens are
// opaque random strings remembered in memory (so they do not survive a
// restart) with client id, scopes and expiry (Options.TokenLifetime).
//
// Every /oss/v2 call is checked in this order: bearer token (401 with a
// gateway body whose developerMessage is "Access token provided is invalid
// or expired."), scope per §2.2 (403, gateway body, errorCode AUTH-010),
// then the quota (429, Retry-After, {"developerMessage":"Quota limit
// exceeded."}). Calls refused by the first two checks do not use quota.
// Overwriting an existing object (upload, completion, copyto destination)
// additionally needs data:write; creating needs data:write or data:create.
// Only the bucket's owner may use a bucket (403 {"reason":"No read access"}
// or "No write access"); "allow" entries are stored and reported only.
//
// The quota is a sliding window per client id: a call is admitted when
// fewer than Options.Quota calls were admitted in the preceding
// Options.QuotaWindow; Retry-After is the whole seconds until the oldest of
// them leaves the window. It covers /oss/v2 only: the token endpoint and
// signed URLs are free (the real token endpoint's own 500/min limit is not
// emulated).
//
// # Listings
//
// limit is 1..100 (else 400 {"reason":"Invalid limit"}), default 10. By
// default items come in an arbitrary order: sorted by an HMAC of the name
// under a per-server key, like APS since 2018; Options.Ordered sorts them
// lexically. startAt is an opaque cursor: the sort position of the last
// item served plus a MAC binding it to the bucket (or, for buckets, the
// client and region). A tampered or foreign cursor is 400. The next page
// starts strictly after that position, so a listing that runs while keys
// are added and deleted never repeats a key and never misses one that
// existed throughout. next is present only when more items exist and is an
// absolute URL (Options.PublicURL, else the request's scheme and Host) that
// carries startAt, limit and beginsWith. Object items have bucketKey,
// objectKey, objectId, sha1, size, location and contentType; no dates.
// Options.ListingLag hides objects younger than the lag from listings.
//
// # Signed URLs
//
// Download and part URLs look like S3 SigV4 presigned URLs
// (X-Amz-Algorithm, X-Amz-Credential=EMULATOR/<yyyymmdd>/us-east-1/s3/
// aws4_request, X-Amz-Date, X-Amz-Expires = minutesExpiration*60,
// X-Amz-SignedHeaders=host, X-Amz-Security-Token, X-Amz-Signature) but
// point at the emulator. X-Amz-Signature is an HMAC-SHA256, under
// Options.SigningKey, of the method, the path and every other query
// parameter: any change to the URL, or another method (HEAD included), is
// 403 SignatureDoesNotMatch. A request that starts after X-Amz-Date +
// X-Amz-Expires is 403 AccessDenied "Request has expired" with
// X-Amz-Expires, Expires, ServerTime, RequestId and HostId; a transfer that
// started in time may run past expiry. With a random SigningKey (the
// default) URLs, like listing cursors, die with the process.
//
// A download URL names bucket and key (base64url in the path), not a
// version: like S3, it serves whatever the object is when it is used (new
// bytes and ETag after a replace, 404 NoSuchKey after a delete).
// response-content-type and response-content-disposition are always baked
// in (request value, else stored value, else application/octet-stream and
// attachment; filename="<objectKey>"), response-cache-control when asked
// for. GET honours one Range (bytes=a-b, a-, -n; 206 with Content-Range,
// end clamped to size-1; unsatisfiable 416 InvalidRange, and any range on
// an empty object is unsatisfiable; several ranges or a malformed header
// are ignored and the whole object is sent), If-Match (412) and
// If-None-Match (304) on the ETag, and sends Content-Length, Content-Type,
// Content-Disposition, Cache-Control, Content-Encoding (stored), ETag,
// Last-Modified and Accept-Ranges. The ETag is S3's: "<md5>" for objects
// put directly, "<md5 of the concatenated binary part md5s>-<n>" for
// objects assembled from n parts (a one-part upload too).
//
// # Uploads
//
// signeds3upload GET answers an uploadKey (268 characters of padded
// URL-safe base64 that name the session; it ends in "="), uploadExpiration
// (24 h after the session started) and urlExpiration, and urls[i] for part
// firstPart+i. parts is 1..25, firstPart ≥ 1 with the last part ≤ 10000,
// minutesExpiration 1..60 (default 2), useAcceleration and other boolean
// parameters must be "true" or "false"; anything else is 400. Without
// uploadKey a new session starts; with one the same session continues and
// the key is echoed. An unknown, completed, expired or foreign uploadKey is
// 400 {"reason":"InvalidUploadKey"}.
//
// A part PUT needs a Content-Length (chunked is 501 NotImplemented, none is
// 411 MissingContentLength), at most 5 GiB (400 EntityTooLarge), a part
// number 1..10000, and a matching Content-MD5 if one is sent (400
// BadDigest); it stores the part (replacing an earlier part with that
// number) and answers 200 with ETag "<hex md5>". A session that is
// completed, expired or unknown is 404 NoSuchUpload.
//
// Completion (Content-Type must be application/json) takes uploadKey, an
// optional size and optional eTags (quotes are ignored). With eTags the
// object is parts 1..len(eTags); without, parts 1..highest uploaded. Parts
// are checked per §6.3: Pending (missing), Unexpected (eTag differs),
// TooSmall (under 5 MiB and not last), Unexpected+TooSmall, Ok; and size
// against the detected total. Any problem is HTTP 400 with
// {uploadKey, status:"error", reason:"MissingOrInvalidParts", size, parts}
// where size is the detected total, or {expected, detected} when it does
// not match. x-ads-user-defined-metadata must be a JSON object under 100
// bytes. Success replaces the object atomically, stores the x-ads-meta-*
// headers (default content type application/octet-stream) and answers
// {bucketKey, objectId, objectKey, size, contentType, location} without
// sha1 (details has it). The uploadKey is then spent: a second completion
// is 400 InvalidUploadKey (clients must confirm through details, §9), and
// part PUTs are 404 NoSuchUpload. Expired sessions are deleted lazily.
//
// Batch endpoints take at most 25 requests (batchsigneds3upload: at most 25
// URLs in total) and answer {"results": {"<objectKey>": item}} where a
// failed item is {status:"error", reason, ...}; batchsigneds3download also
// answers {status:"skipped", reason:"Not modified"} for If-None-Match (sha1)
// or If-Modified-Since hits, and refuses inline HTML like OSS.
//
// Other choices where APS is silent: a deleted bucket's key is free at once
// (APS deletes asynchronously); an overwritten object keeps its createdDate
// (lastModifiedDate changes); copyto copies bytes and stored metadata and
// gives the copy new dates; dates are epoch milliseconds; lastAccessedDate
// moves on signed-URL downloads and is persisted lazily; the retention
// policies (transient 24 h, temporary 30 days) are recorded but not
// enforced; location URLs percent-encode the key.
//
// # Fault rules
//
// Rules are data, given in Options.Faults, by SetFaults or by POST
// /emulator/faults, as a JSON array:
//
//	[{"endpoint": "s3.download", "every": 5, "status": 503, "retryAfter": 1},
//	 {"endpoint": "oss", "probability": 0.1, "reset": true},
//	 {"endpoint": "s3.download", "keyPrefix": "big/", "times": 1, "truncate": 65536},
//	 {"endpoint": "s3", "after": 100, "times": 3, "expireURL": true},
//	 {"endpoint": "objects.details", "omitSHA1": true},
//	 {"endpoint": "*", "delay": "150ms"}]
//
// Selection: endpoint is an endpoint name, "oss" (every /oss/v2 endpoint),
// "s3" (every signed URL) or "*" (all but /emulator/). keyPrefix limits a
// rule to requests about an object key with that prefix: the key in the
// path, the object of a download URL, or the object of the upload a part
// URL belongs to; bucket, token and batch requests have no key and never
// match a keyPrefix. A request matches a rule when both select it and the
// rule's action applies to the endpoint (truncate: s3.download; expireURL:
// signed URLs; omitSHA1: /oss/v2). Of the matching requests, the first
// "after" are skipped; then the rule fires on every "every"-th one, or with
// "probability" (random, seeded by Options.FaultSeed for reproducible
// tests), or, with neither, on all; at most "times" times (0 = no limit).
// Every matching rule counts the request; the first rule (in order) that
// fires acts, and the others neither act nor use up their times.
//
// Actions (exactly one, or delay alone): status answers that status (400..
// 599) with the body the real service sends on that side: S3 XML on signed
// URLs (503 and 429 SlowDown, 500 InternalError, 404 NoSuchKey or
// NoSuchUpload, ...), gateway JSON for 401, 403 (AUTH-010) and 429 ("Quota
// limit exceeded.") and on the token endpoint, {"reason": ...} otherwise;
// retryAfter adds Retry-After. reset drops the connection without an
// answer. truncate sends the headers of a full answer (Content-Length of the
// whole range) and that many body bytes, then drops the connection.
// expireURL treats a valid signed URL as expired. omitSHA1 removes sha1
// from the request's OSS answers. delay (a Go duration string) sleeps in
// real time before the action, or alone makes a slow request. Faults are
// evaluated after routing, so faulted requests are counted in Stats, and
// before auth and quota. ParseFaults rejects unknown fields, unknown
// endpoints, several actions, actions that can never apply, and the
// combination of probability and every.
//
// # WAN profile
//
// Options.Latency is slept (real time, not the Clock) before each request;
// Options.Bandwidth paces request and response bodies with token buckets
// (golang.org/x/time/rate, one per direction). The buckets are per
// connection when the http.Server is built with ConnContext: srv.ConnContext,
// and per request otherwise (the same thing for HTTP/1.1, where a
// connection carries one request at a time).
//
// # Store
//
// A Store keeps buckets, objects and uploads; the Server does all protocol
// validation. NewMemStore keeps everything in memory (tests). NewDiskStore
// keeps everything in a directory and survives restarts: buckets, objects,
// open uploads and their parts. Its records are small JSON files named by
// hashes, and object bytes are immutable blob files named by random ids;
// object keys are never file names. Every write goes to a temp file, is
// fsynced, renamed into place, and its directory fsynced. Large bodies are
// streamed (parts to disk as they arrive; completion concatenates part
// files into a new blob with io.Copy while hashing), never held in memory.
// A dir is locked by one process at a time. Loading removes what a crash
// can leave behind (staging files, records whose bucket is gone, blobs no
// record uses, superseded part files).
//
// # Invariants
//
//   - An object exists only after a successful completion (or PutObject or
//     copyto); until then the previous version, if any, is what every
//     endpoint sees.
//   - Replacing an object is atomic: a new blob is written completely
//     outside the store lock, then one record swap makes it current. A
//     reader that opened the old blob keeps reading the old bytes; old
//     blobs are unlinked once no record uses them.
//   - Writes (part uploads, completions, PutObject) never hold the store
//     lock while moving bytes, so they do not block reads of other objects.
//   - Each part number of a session maps to exactly one stored part; a
//     completion assembles exactly the parts it validated, or fails
//     (re-validating up to three times if parts change under it).
//   - Tokens, signatures and query strings never appear in logs.
package emulator
