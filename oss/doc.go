// Package oss is a typed client for the Autodesk Platform Services (APS)
// Object Storage Service v2 and for 2-legged APS Authentication. Every other
// ossfs layer reaches APS through it; it owns wire formats, status codes,
// retries, the call budget and redaction. The protocol it speaks is
// specified in APS-OSS-API.md; where code and that file disagree, the file
// is right and the code is a bug.
//
// # What it covers
//
//   - Authentication: POST /authentication/v2/token with client credentials
//     in a Basic header (never in the body), or a static AccessToken.
//   - Buckets: list (all pages or one), create, details, delete.
//   - Objects: list (one page, all pages, or streamed), details (optional
//     fields through With*, conditional through If-Modified-Since), delete,
//     copyto.
//   - Direct-to-S3: signed download URLs (single and batch), signed upload
//     URLs (single and batch), completion (single and batch).
//   - The signed-URL data plane: Download (ranged GET) and UploadPart (PUT).
//
// Object keys are sent percent-encoded as one path segment (EncodeKey: "/"
// becomes %2F) and the escaped form reaches the wire unchanged. Bucket keys
// are checked against [-_.a-z0-9]{3,128} before use. Listing cursors (the
// `next` URLs) are opaque: only their path and query are used, resolved
// against the configured Endpoint (so a token never follows a cursor to
// another host), with beginsWith, limit and region re-added when missing.
// No cursor is ever built from a key.
//
// # Error contract
//
// HTTP answers are turned into errors once, here. Every non-2xx answer is an
// *APIError carrying Op (the endpoint name, one of the Op* constants),
// Status, Reason, Code, RequestID and Retry-After; completion failures also
// carry Parts and the expected/detected sizes. Callers match with errors.Is
// against the sentinels and with errors.As for details, never on strings:
//
//	404               ErrNotFound (also: upload not completed yet)
//	401               ErrUnauthorized (after one refresh and replay)
//	403 from OSS      ErrAccessDenied
//	403 from S3       ErrURLExpired (fetch a fresh signed URL)
//	409               ErrConflict
//	429, S3 SlowDown  ErrThrottled
//	304               ErrNotModified
//	400               ErrBadRequest (also: invalid arguments, before sending)
//	code MissingOrInvalidParts  ErrInvalidParts
//	code InvalidUploadKey       ErrInvalidUploadKey
//
// A completion whose body says status "error" fails whatever its HTTP
// status. Batch calls return an error only for a request that failed as a
// whole; per-object failures are typed *APIError values in each result's
// Err, with a synthesised Status (404 when the reason says the object is
// missing, 304 for "skipped"). A signed download whose status is not
// "complete" matches errors.ErrUnsupported. A limiter wait that cannot end
// before the context's deadline matches context.DeadlineExceeded.
//
// Error strings and log lines never contain a bearer token, the client
// secret, a Basic credential or the query string of any URL (signed URLs
// carry their signature there): URLs embedded by net/http in *url.Error are
// stripped, and server text is scrubbed of X-Amz-Signature,
// X-Amz-Credential, X-Amz-Security-Token and known secrets.
//
// # Retry policy
//
// Every operation builds a fresh go-retry backoff: exponential from
// RetryPolicy.BaseDelay (250ms), ±20% jitter, each wait capped at MaxDelay
// (30s), at most MaxAttempts attempts (6). Retryable: 1xx, 408, 429, 5xx,
// connection resets, EOFs and timeouts. Not retryable: other 4xx, a caller
// context that ended, argument errors, a token endpoint that kept failing.
// A Retry-After makes the next wait at least that long (beyond MaxDelay if
// need be, at most 2 minutes); a wait that would outlast the caller's
// deadline ends the operation at once with the last error.
//
// Each attempt of an OSS JSON call has its own timeout (AttemptTimeout),
// separate from the caller's context. On the data plane the timeout covers
// only the wait for response headers (and, for uploads, stalls while the
// body is sent); a download body is read under the caller's context alone,
// and a body that breaks midway is the caller's to resume with a new range.
//
// A 401 on an OSS call invalidates the token, fetches a new one and replays
// the call once; a second 401 is returned. A static AccessToken cannot be
// refreshed, so its 401 is returned at once.
//
// Non-idempotent calls are made safe by checking, never by guessing. If a
// retried completion fails with a 4xx or a status "error" body, its first
// attempt may have succeeded with the answer lost: the object's details are
// read and a matching size (and sha1 when both sides have one) is success.
// A retried DeleteObject that meets 404, or a retried DeleteBucket that
// meets 404 or 409, succeeded earlier. A retried CreateBucket that meets 409
// returns the bucket if its details (owner only) can be read.
//
// # Budget and counting
//
// All OSS calls (not the token endpoint, not signed URLs) pass one
// golang.org/x/time/rate limiter: CallsPerMinute per minute with a burst of a
// whole minute, spent in bursts. Every HTTP attempt — retries and 401
// replays included, token and S3 calls too — is counted per endpoint name;
// Calls returns a snapshot. One gap is net/http's own: it may silently re-send
// an idempotent request (GET) when a reused keep-alive connection turns out
// to be closed; a server sees that request twice, the counter once.
//
// # Concurrency
//
// A Client is safe for concurrent use by any number of goroutines and holds
// no lock across a network call. Concurrent callers that need a token share
// one refresh (singleflight); the refresh is detached from any one caller's
// cancellation and each caller stops waiting when its own context ends.
// Tokens are refreshed RefreshMargin (or half their lifetime, if shorter)
// before they expire; if the refresh fails while the old token still lives,
// the old token is used. Options.Now is the clock for token and URL expiry
// (tests share a fake one with the emulator); backoff waits and the limiter
// use the real clock.
//
// Logging goes to the Options.Logger with fields op and key (or url,
// without its query): one debug line per HTTP attempt with status and
// duration, one info line per retry.
package oss
