package emulator

import (
	"io"
	"time"
)

// Store keeps the emulator's state: buckets, objects with their bytes, and
// multipart uploads with their parts. Implementations must be safe for
// concurrent use, must never hold a whole object in memory unless they are
// memory stores, and must make every change atomic: a reader sees an object
// either entirely before or entirely after a PutObject, CopyObject or
// CompleteUpload.
//
// A Blob returned by OpenObject stays readable, with the bytes it had when it
// was opened, after the object is replaced or deleted.
//
// NewMemStore and NewDiskStore are the two implementations; the Server does
// all protocol validation, so a Store only keeps data consistent.
type Store interface {
	// CreateBucket adds b; ErrBucketExists if a bucket with b.Key exists.
	CreateBucket(b Bucket) error
	// Bucket returns one bucket or ErrBucketNotFound.
	Bucket(bucketKey string) (Bucket, error)
	// Buckets returns every bucket, in any order.
	Buckets() ([]Bucket, error)
	// DeleteBucket removes a bucket with its objects and uploads.
	DeleteBucket(bucketKey string) error

	// Object returns an object's record, ErrBucketNotFound or ErrObjectNotFound.
	Object(bucketKey, objectKey string) (Object, error)
	// Objects returns the objects whose keys begin with prefix, in any order.
	Objects(bucketKey, prefix string) ([]Object, error)
	// OpenObject returns an object's record and its bytes, consistently.
	OpenObject(bucketKey, objectKey string) (Object, Blob, error)
	// PutObject stores data as o.BucketKey/o.ObjectKey, replacing any
	// previous version. The store fills Size, SHA1, ETag (the MD5) and
	// BlobID, keeps Created of a replaced object, and returns the record.
	PutObject(o Object, data io.Reader) (Object, error)
	// CopyObject copies srcKey to dstKey in one bucket, with its metadata.
	CopyObject(bucketKey, srcKey, dstKey string, at time.Time) (Object, error)
	// DeleteObject removes an object.
	DeleteObject(bucketKey, objectKey string) error
	// TouchObject records a read access; it may be persisted lazily.
	TouchObject(bucketKey, objectKey string, at time.Time)

	// CreateUpload starts a multipart upload session (u.Parts is ignored).
	CreateUpload(u Upload) error
	// Upload returns a session with its current parts, or ErrUploadNotFound.
	Upload(uploadID string) (Upload, error)
	// Uploads returns every session, in any order.
	Uploads() ([]Upload, error)
	// PutPart stores one part, replacing a previous part with that number.
	// It fails with ErrIncompleteBody if the body's length differs from
	// p.Size and with ErrBadDigest if p.MD5 is set and differs.
	PutPart(uploadID string, p PartData) (Part, error)
	// CompleteUpload assembles parts (in order) into the object described
	// by o, atomically replacing any previous version, and ends the
	// session. Each part must still be the one the caller validated
	// (same number, size and ETag), else ErrPartsChanged. The store fills
	// Size, SHA1, ETag (S3 multipart form "<md5>-<n>") and BlobID.
	CompleteUpload(uploadID string, o Object, parts []Part) (Object, error)
	// DeleteUpload ends a session and discards its parts.
	DeleteUpload(uploadID string) error

	// Close releases the store. Blobs already open stay readable.
	Close() error
}

// Bucket is a stored bucket.
type Bucket struct {
	Key         string       `json:"bucketKey"`
	Owner       string       `json:"bucketOwner"`
	PolicyKey   string       `json:"policyKey"`
	Region      string       `json:"region"`
	Created     time.Time    `json:"created"`
	Permissions []Permission `json:"permissions"`
}

// Permission grants an app access to a bucket (kept and reported only:
// the emulator lets the owner alone use a bucket).
type Permission struct {
	AuthID string `json:"authId"`
	Access string `json:"access"`
}

// Object is a stored object's record.
type Object struct {
	BucketKey          string    `json:"bucketKey"`
	ObjectKey          string    `json:"objectKey"`
	Size               int64     `json:"size"`
	SHA1               string    `json:"sha1"` // 40 lowercase hex
	ETag               string    `json:"etag"` // S3 ETag, unquoted
	ContentType        string    `json:"contentType,omitempty"`
	ContentDisposition string    `json:"contentDisposition,omitempty"`
	ContentEncoding    string    `json:"contentEncoding,omitempty"`
	CacheControl       string    `json:"cacheControl,omitempty"`
	UserMetadata       string    `json:"userMetadata,omitempty"`
	Created            time.Time `json:"created"`
	Modified           time.Time `json:"modified"`
	Accessed           time.Time `json:"accessed"`
	BlobID             string    `json:"blob"` // the store's name for the bytes
}

// Upload is a multipart upload session.
type Upload struct {
	ID         string       `json:"id"`         // a UUID; the path segment of part URLs
	Key        string       `json:"uploadKey"`  // the opaque uploadKey handed to clients
	S3UploadID string       `json:"s3UploadId"` // the uploadId query parameter of part URLs
	BucketKey  string       `json:"bucketKey"`
	ObjectKey  string       `json:"objectKey"`
	Started    time.Time    `json:"started"`
	Expires    time.Time    `json:"expires"`
	Parts      map[int]Part `json:"-"`
}

// Part is one uploaded part.
type Part struct {
	Number int    `json:"part"`
	Size   int64  `json:"size"`
	ETag   string `json:"eTag"` // hex MD5, unquoted
}

// PartData is a part being uploaded.
type PartData struct {
	Number int
	Size   int64  // the declared Content-Length
	MD5    []byte // the declared Content-MD5, if any
	Body   io.Reader
}

// Blob is an object's bytes, opened for reading.
type Blob interface {
	io.ReaderAt
	io.Closer
	Size() int64
}
