// Package transfer is the data plane of ossfs: it moves bytes over APS's signed
// S3 URLs as fast as the link allows and never loses or corrupts any. The mount
// and the CLI read and write objects only through it.
//
// # Downloads
//
// An Engine keeps one signed download URL per object for its lifetime (one
// signeds3download per object per URL lifetime, refreshed a quarter-lifetime
// ahead of expiry and when S3 answers 403; concurrent misses share one call;
// Prime fetches many with the batch endpoint). A Reader reads ranges of one
// version of an object: large reads split into RangeSize GETs run concurrently,
// a body that breaks off resumes from the last byte received, and every response
// is checked against the version first seen (size, sha1, S3 ETag) so that a
// replaced object fails with ErrStale instead of mixing two versions. DownloadTo
// streams a whole object in order with a bounded window and checks its sha1.
//
// # Uploads
//
// An Upload is one multipart session: parts are handed over as they become
// complete, URLs are asked for lazily (at most 25 per call, the same uploadKey
// every time, again when S3 refuses one), PUTs run under the Engine's concurrency
// limit, the last put of a part number wins, and Complete finalizes with size and
// eTags. A part under MinPartSize is sent with its Content-MD5, so S3 checks its
// bytes; Complete then trusts the caller's sha1 of a one-part upload, and checks
// that of a larger one against the sha1 APS reports (one details call). Its State can be saved and resumed in another process within the
// uploadKey's lifetime. UploadFrom uploads a file section with parts read into a
// bounded buffer pool, hashing as it reads, and refuses to complete when the
// source changed size. UploadSmall uploads many objects under MinPartSize
// through the batch endpoints: 2 OSS calls per 25 objects.
//
// # Errors and retries
//
// The oss client retries transient failures of each request (1xx, 429, 5xx,
// resets) until response headers arrive. This package adds what spans requests:
// a new URL after a 403 (MaxURLRefreshes per range or part), resuming a broken
// body (MaxResumes per range), identity checks (ErrStale), checksums
// (ErrChecksum), and source checks (ErrSourceChanged). A URL request that
// failed after its retries fails the parts that waited for it too, rather
// than being made again, with every retry, once per waiting part.
//
// # Concurrency
//
// Every type is safe for concurrent use. Lock order: partRecord.putMu, then
// Upload.fetchMu, then Upload.mu; Reader.mu, then urlCache.mu. No lock is held
// across a network call except fetchMu (it exists to make concurrent parts share
// one URL request, and its failure) and putMu (it orders PUTs of one part number).
package transfer
