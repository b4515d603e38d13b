package emulator

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// backend is where an indexStore keeps bytes and persists records. The
// index itself (every record) lives in memory; the backend makes it durable
// (diskBackend) or not (memBackend).
//
// Record methods (save*, remove*, commitPart) are called with the index
// lock held; stage, commitBlob, open* and removeBlob/removePart may be
// called without it.
type backend interface {
	saveBucket(b Bucket) error
	removeBucket(bucketKey string) error
	saveObject(o Object) error
	removeObject(bucketKey, objectKey string) error
	saveUpload(u Upload) error
	removeUpload(uploadID string) error

	// stage writes r to a private place, hashing it.
	stage(r io.Reader, want digests) (*staged, error)
	discard(st *staged)
	commitBlob(st *staged) (blobID string, err error)
	openBlob(blobID string) (Blob, error)
	removeBlob(blobID string)
	commitPart(uploadID string, number int, st *staged) (ref string, err error)
	openPart(uploadID, ref string) (io.ReadCloser, error)
	removePart(uploadID, ref string)
	close() error
}

// digests says which hashes backend.stage computes: each costs a pass of CPU
// over every byte, so parts take only MD5 (their ETag) and completions only
// SHA-1 (the object's sha1; a multipart ETag comes from the parts' MD5s).
type digests uint8

const (
	digestMD5 digests = 1 << iota
	digestSHA1
)

// hashers returns the writers for want and a function that fills st's sums.
func hashers(want digests) (io.Writer, func(st *staged)) {
	var ws []io.Writer
	h5, h1 := md5.New(), sha1.New()
	if want&digestMD5 != 0 {
		ws = append(ws, h5)
	}
	if want&digestSHA1 != 0 {
		ws = append(ws, h1)
	}
	return io.MultiWriter(ws...), func(st *staged) {
		if want&digestMD5 != 0 {
			st.md5 = h5.Sum(nil)
		}
		if want&digestSHA1 != 0 {
			st.sha1 = h1.Sum(nil)
		}
	}
}

// staged is data written by backend.stage, not yet committed.
type staged struct {
	size int64
	md5  []byte
	sha1 []byte
	path string // diskBackend
	data []byte // memBackend
}

// indexStore implements Store over a backend.
type indexStore struct {
	back backend

	mu      sync.Mutex
	buckets map[string]*bucketEntry // guarded by mu
	uploads map[string]*uploadEntry // guarded by mu
	refs    map[string]int          // blob id -> objects using it; guarded by mu
}

type bucketEntry struct {
	bucket  Bucket
	objects map[string]Object
}

type uploadEntry struct {
	upload Upload
	parts  map[int]partEntry
}

type partEntry struct {
	part Part
	ref  string // the backend's name for the part's bytes
}

func newIndexStore(b backend) *indexStore {
	return &indexStore{
		back:    b,
		buckets: make(map[string]*bucketEntry),
		uploads: make(map[string]*uploadEntry),
		refs:    make(map[string]int),
	}
}

// CreateBucket implements Store.
func (s *indexStore) CreateBucket(b Bucket) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[b.Key]; ok {
		return ErrBucketExists
	}
	if err := s.back.saveBucket(b); err != nil {
		return err
	}
	s.buckets[b.Key] = &bucketEntry{bucket: b, objects: make(map[string]Object)}
	return nil
}

// Bucket implements Store.
func (s *indexStore) Bucket(bucketKey string) (Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.buckets[bucketKey]
	if !ok {
		return Bucket{}, ErrBucketNotFound
	}
	return e.bucket, nil
}

// Buckets implements Store.
func (s *indexStore) Buckets() ([]Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Bucket, 0, len(s.buckets))
	for _, e := range s.buckets {
		out = append(out, e.bucket)
	}
	return out, nil
}

// DeleteBucket implements Store.
func (s *indexStore) DeleteBucket(bucketKey string) error {
	s.mu.Lock()
	garbage, err := s.deleteBucketLocked(bucketKey)
	s.mu.Unlock()
	s.collect(garbage)
	return err
}

func (s *indexStore) deleteBucketLocked(bucketKey string) ([]string, error) {
	e, ok := s.buckets[bucketKey]
	if !ok {
		return nil, ErrBucketNotFound
	}
	if err := s.back.removeBucket(bucketKey); err != nil {
		return nil, err
	}
	delete(s.buckets, bucketKey)
	var garbage []string
	for key, o := range e.objects {
		_ = s.back.removeObject(bucketKey, key)
		garbage = s.unrefLocked(o.BlobID, garbage)
	}
	for id, u := range s.uploads {
		if u.upload.BucketKey == bucketKey {
			_ = s.back.removeUpload(id)
			delete(s.uploads, id)
		}
	}
	return garbage, nil
}

// Object implements Store.
func (s *indexStore) Object(bucketKey, objectKey string) (Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objectLocked(bucketKey, objectKey)
}

func (s *indexStore) objectLocked(bucketKey, objectKey string) (Object, error) {
	e, ok := s.buckets[bucketKey]
	if !ok {
		return Object{}, ErrBucketNotFound
	}
	o, ok := e.objects[objectKey]
	if !ok {
		return Object{}, ErrObjectNotFound
	}
	return o, nil
}

// Objects implements Store.
func (s *indexStore) Objects(bucketKey, prefix string) ([]Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.buckets[bucketKey]
	if !ok {
		return nil, ErrBucketNotFound
	}
	out := make([]Object, 0, len(e.objects))
	for key, o := range e.objects {
		if strings.HasPrefix(key, prefix) {
			out = append(out, o)
		}
	}
	return out, nil
}

// OpenObject implements Store.
func (s *indexStore) OpenObject(bucketKey, objectKey string) (Object, Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.objectLocked(bucketKey, objectKey)
	if err != nil {
		return Object{}, nil, err
	}
	blob, err := s.back.openBlob(o.BlobID)
	if err != nil {
		return Object{}, nil, fmt.Errorf("emulator: open %s/%s: %w", bucketKey, objectKey, err)
	}
	return o, blob, nil
}

// PutObject implements Store.
func (s *indexStore) PutObject(o Object, data io.Reader) (Object, error) {
	st, err := s.back.stage(data, digestMD5|digestSHA1)
	if err != nil {
		return Object{}, err
	}
	o.Size, o.SHA1, o.ETag = st.size, hex.EncodeToString(st.sha1), hex.EncodeToString(st.md5)
	return s.commitStaged(o, st)
}

// commitStaged turns staged bytes into o's blob and commits o.
func (s *indexStore) commitStaged(o Object, st *staged) (Object, error) {
	id, err := s.back.commitBlob(st)
	if err != nil {
		s.back.discard(st)
		return Object{}, err
	}
	o.BlobID = id
	s.mu.Lock()
	o, garbage, err := s.commitObjectLocked(o)
	s.mu.Unlock()
	if err != nil {
		s.back.removeBlob(id)
	}
	s.collect(garbage)
	return o, err
}

// commitObjectLocked makes o the current version of its key and returns the
// blobs no object uses any more.
func (s *indexStore) commitObjectLocked(o Object) (Object, []string, error) {
	e, ok := s.buckets[o.BucketKey]
	if !ok {
		return Object{}, nil, ErrBucketNotFound
	}
	old, replacing := e.objects[o.ObjectKey]
	if replacing {
		o.Created = old.Created
	}
	if err := s.back.saveObject(o); err != nil {
		return Object{}, nil, err
	}
	e.objects[o.ObjectKey] = o
	s.refs[o.BlobID]++
	var garbage []string
	if replacing {
		garbage = s.unrefLocked(old.BlobID, garbage)
	}
	return o, garbage, nil
}

// unrefLocked drops one use of a blob, appending it to garbage when unused.
func (s *indexStore) unrefLocked(blobID string, garbage []string) []string {
	s.refs[blobID]--
	if s.refs[blobID] > 0 {
		return garbage
	}
	delete(s.refs, blobID)
	return append(garbage, blobID)
}

// collect removes unused blobs. Readers that opened them keep reading.
func (s *indexStore) collect(garbage []string) {
	for _, id := range garbage {
		s.back.removeBlob(id)
	}
}

// CopyObject implements Store.
func (s *indexStore) CopyObject(bucketKey, srcKey, dstKey string, at time.Time) (Object, error) {
	s.mu.Lock()
	src, err := s.objectLocked(bucketKey, srcKey)
	if err != nil {
		s.mu.Unlock()
		return Object{}, err
	}
	dst := src
	dst.ObjectKey, dst.Created, dst.Modified, dst.Accessed = dstKey, at, at, at
	dst, garbage, err := s.commitObjectLocked(dst)
	s.mu.Unlock()
	s.collect(garbage)
	return dst, err
}

// DeleteObject implements Store.
func (s *indexStore) DeleteObject(bucketKey, objectKey string) error {
	s.mu.Lock()
	o, err := s.objectLocked(bucketKey, objectKey)
	var garbage []string
	if err == nil {
		err = s.back.removeObject(bucketKey, objectKey)
	}
	if err == nil {
		delete(s.buckets[bucketKey].objects, objectKey)
		garbage = s.unrefLocked(o.BlobID, nil)
	}
	s.mu.Unlock()
	s.collect(garbage)
	return err
}

// TouchObject implements Store. The access time is kept in memory and
// persisted with the object's next change.
func (s *indexStore) TouchObject(bucketKey, objectKey string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.buckets[bucketKey]; ok {
		if o, ok := e.objects[objectKey]; ok {
			o.Accessed = at
			e.objects[objectKey] = o
		}
	}
}

// CreateUpload implements Store.
func (s *indexStore) CreateUpload(u Upload) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[u.BucketKey]; !ok {
		return ErrBucketNotFound
	}
	if _, ok := s.uploads[u.ID]; ok {
		return fmt.Errorf("emulator: upload %s exists", u.ID)
	}
	u.Parts = nil
	if err := s.back.saveUpload(u); err != nil {
		return err
	}
	s.uploads[u.ID] = &uploadEntry{upload: u, parts: make(map[int]partEntry)}
	return nil
}

// Upload implements Store.
func (s *indexStore) Upload(uploadID string) (Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.uploads[uploadID]
	if !ok {
		return Upload{}, ErrUploadNotFound
	}
	return e.snapshot(), nil
}

func (e *uploadEntry) snapshot() Upload {
	u := e.upload
	u.Parts = make(map[int]Part, len(e.parts))
	for n, p := range e.parts {
		u.Parts[n] = p.part
	}
	return u
}

// Uploads implements Store.
func (s *indexStore) Uploads() ([]Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.uploads))
	for _, e := range s.uploads {
		out = append(out, e.snapshot())
	}
	return out, nil
}

// PutPart implements Store.
func (s *indexStore) PutPart(uploadID string, p PartData) (Part, error) {
	st, err := s.back.stage(p.Body, digestMD5)
	if err != nil {
		return Part{}, err
	}
	if err := checkStagedPart(st, p); err != nil {
		s.back.discard(st)
		return Part{}, err
	}
	part := Part{Number: p.Number, Size: st.size, ETag: hex.EncodeToString(st.md5)}
	s.mu.Lock()
	old, err := s.commitPartLocked(uploadID, part, st)
	s.mu.Unlock()
	if err != nil {
		s.back.discard(st)
		return Part{}, err
	}
	if old != "" {
		s.back.removePart(uploadID, old)
	}
	return part, nil
}

func checkStagedPart(st *staged, p PartData) error {
	if st.size != p.Size {
		return ErrIncompleteBody
	}
	if p.MD5 != nil && hex.EncodeToString(p.MD5) != hex.EncodeToString(st.md5) {
		return ErrBadDigest
	}
	return nil
}

// commitPartLocked stores a staged part and returns the ref it replaced.
func (s *indexStore) commitPartLocked(uploadID string, part Part, st *staged) (string, error) {
	e, ok := s.uploads[uploadID]
	if !ok {
		return "", ErrUploadNotFound
	}
	ref, err := s.back.commitPart(uploadID, part.Number, st)
	if err != nil {
		return "", err
	}
	old := e.parts[part.Number].ref
	e.parts[part.Number] = partEntry{part: part, ref: ref}
	return old, nil
}

// CompleteUpload implements Store.
func (s *indexStore) CompleteUpload(uploadID string, o Object, parts []Part) (Object, error) {
	readers, err := s.openParts(uploadID, parts)
	if err != nil {
		return Object{}, err
	}
	st, err := s.back.stage(io.MultiReader(readerList(readers)...), digestSHA1)
	closeAll(readers)
	if err != nil {
		return Object{}, err
	}
	o.Size, o.SHA1, o.ETag = st.size, hex.EncodeToString(st.sha1), multipartETag(parts)
	id, err := s.back.commitBlob(st)
	if err != nil {
		s.back.discard(st)
		return Object{}, err
	}
	o.BlobID = id
	return s.finishUpload(uploadID, o)
}

// openParts checks that parts are still current and opens them in order.
func (s *indexStore) openParts(uploadID string, parts []Part) ([]io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.uploads[uploadID]
	if !ok {
		return nil, ErrUploadNotFound
	}
	readers := make([]io.ReadCloser, 0, len(parts))
	for _, p := range parts {
		cur, ok := e.parts[p.Number]
		if !ok || cur.part != p {
			closeAll(readers)
			return nil, ErrPartsChanged
		}
		rc, err := s.back.openPart(uploadID, cur.ref)
		if err != nil {
			closeAll(readers)
			return nil, err
		}
		readers = append(readers, rc)
	}
	return readers, nil
}

// finishUpload commits the assembled object and ends the session, unless a
// concurrent completion or deletion ended it first.
func (s *indexStore) finishUpload(uploadID string, o Object) (Object, error) {
	s.mu.Lock()
	var garbage []string
	_, ok := s.uploads[uploadID]
	err := ErrUploadNotFound
	if ok {
		o, garbage, err = s.commitObjectLocked(o)
	}
	if err == nil {
		_ = s.back.removeUpload(uploadID)
		delete(s.uploads, uploadID)
	}
	s.mu.Unlock()
	if err != nil {
		s.back.removeBlob(o.BlobID)
	}
	s.collect(garbage)
	return o, err
}

// DeleteUpload implements Store.
func (s *indexStore) DeleteUpload(uploadID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.uploads[uploadID]; !ok {
		return ErrUploadNotFound
	}
	delete(s.uploads, uploadID)
	return s.back.removeUpload(uploadID)
}

// Close implements Store.
func (s *indexStore) Close() error {
	return s.back.close()
}

// multipartETag is S3's ETag of a multipart object: the MD5 of the
// concatenated binary part MD5s, a dash, and the number of parts.
func multipartETag(parts []Part) string {
	h := md5.New()
	for _, p := range parts {
		b, _ := hex.DecodeString(p.ETag)
		h.Write(b)
	}
	return fmt.Sprintf("%x-%d", h.Sum(nil), len(parts))
}

func readerList(rcs []io.ReadCloser) []io.Reader {
	out := make([]io.Reader, len(rcs))
	for i, rc := range rcs {
		out[i] = rc
	}
	return out
}

func closeAll(rcs []io.ReadCloser) {
	for _, rc := range rcs {
		_ = rc.Close()
	}
}
