package fs

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/spill"
	"github.com/ossfs/ossfs/transfer"
)

// wfile is one object being written: its spill file, shared by every handle
// open on it, and the stamp its next commit stores. It lives in FS.wfiles from
// the first open for writing until its last handle is released and its bytes
// are committed (or it is unlinked).
type wfile struct {
	fs   *FS
	file *spill.File

	// commitMu serializes the commits of this file. It is held across the
	// upload on purpose: a second close waits for the first one's upload
	// instead of uploading the same bytes again.
	commitMu sync.Mutex

	mu       sync.Mutex
	key      string    // guarded by mu; the key the next commit goes to
	st       stamp     // guarded by mu; mtime and mode the next commit stores
	handles  int       // guarded by mu; open handles
	pending  bool      // guarded by mu; the last commit failed: kept as a pending upload
	retrying bool      // guarded by mu; a background retry loop runs
	staged   time.Time // guarded by mu; when a close last made it a pending upload (AsyncCommit)
	unlinked bool      // guarded by mu; removed from the namespace: never committed
	broken   error     // guarded by mu; a write or truncate failed half-way: never committed
	node     *fileNode // guarded by mu; the node last opened on it (nil after a restart)

	// Background part uploads of a sequential writer (see wrote).
	sum        *runningSum      // the sha1 of what was written in order from the start; nil: none
	sess       *transfer.Upload // guarded by mu; the session parts go to, nil until one is put
	lastEnd    int64            // guarded by mu; end of the last write: a write there is sequential
	committing bool             // guarded by mu; a commit runs: no parts are handed out
	puts       sync.WaitGroup   // background part uploads in flight
}

// wrote records a write of n bytes at off. For a sequential writer it hands
// the parts it has finished to background uploads on the mount's context, so
// that close waits for little more than the last part.
func (w *wfile) wrote(off int64, n int) {
	w.mu.Lock()
	sequential := off == w.lastEnd
	w.lastEnd = off + int64(n)
	w.st.mtime = time.Now()
	if !sequential || w.committing || w.unlinked {
		w.mu.Unlock()
		return
	}
	parts := w.file.ReadyParts(w.lastEnd)
	if len(parts) == 0 {
		w.mu.Unlock()
		return
	}
	if w.sess == nil {
		w.sess = w.fs.engine.NewUpload(w.fs.opts.Bucket, w.key, transfer.UploadOptions{})
	}
	u := w.sess
	w.puts.Add(len(parts))
	w.mu.Unlock()
	for _, p := range parts {
		go w.putInBackground(u, p)
	}
}

func (w *wfile) putInBackground(u *transfer.Upload, p spill.Part) {
	defer w.puts.Done()
	if err := u.PutPart(w.fs.bg, p.Number, p.Section, p.Section.Size()); err != nil {
		w.file.PartFailed(p.Number, p.Gen) // the commit puts it again
		w.fs.log.Debug("background part upload failed", "op", "write", "part", p.Number, "err", err)
		return
	}
	w.file.PartUploaded(p.Number, p.Gen)
}

// dropSession abandons the session: every part is put again by the next
// commit, in a new one.
func (w *wfile) dropSession() {
	w.mu.Lock()
	w.sess = nil
	w.mu.Unlock()
	w.file.ResetSession()
}

// setNode records the node a commit tells of the new version.
func (w *wfile) setNode(n *fileNode) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.node = n
}

// writable reports whether the mount may change anything.
func (f *FS) writable() bool { return !f.opts.ReadOnly && f.spill != nil }

// wfileOf returns the file being written at key, if any.
func (f *FS) wfileOf(key string) *wfile {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	return f.wfiles[key]
}

// openW returns the file being written at key with one more handle, creating
// it with mk when there is none. trunc empties it.
func (f *FS) openW(key string, trunc bool, mk func() (*spill.File, stamp, error)) (*wfile, error) {
	w := f.holdW(key)
	if w == nil {
		file, st, err := mk()
		if err != nil {
			return nil, err
		}
		f.wmu.Lock()
		if f.wfiles[key] == nil {
			w := &wfile{fs: f, file: file, key: key, st: st}
			if file.Size() == 0 {
				w.sum = newRunningSum()
			}
			f.wfiles[key] = w
			file = nil
		}
		f.wmu.Unlock()
		if file != nil { // another open won the race
			file.Close()
		}
		if w = f.holdW(key); w == nil {
			return nil, fmt.Errorf("%q was unlinked while opened: %w", key, errRetryOpen)
		}
	}
	if trunc {
		if err := w.file.Truncate(0); err != nil {
			w.fail(err)
			w.release()
			return nil, err
		}
		w.emptied()
		w.touch(time.Now())
	}
	return w, nil
}

// errRetryOpen reports an open that lost a race with an unlink.
var errRetryOpen = errors.New("file removed while opened")

// holdW returns the file being written at key with one more handle, or nil.
func (f *FS) holdW(key string) *wfile {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	w := f.wfiles[key]
	if w != nil {
		w.mu.Lock()
		w.handles++
		w.mu.Unlock()
	}
	return w
}

// touch sets the mtime the next commit stores.
func (w *wfile) touch(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.mtime = t
}

func (w *wfile) setMode(mode uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.mode = mode
}

func (w *wfile) snapshot() (string, stamp) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.key, w.st
}

// release drops one handle. The last one closes the spill file unless it is a
// pending upload, which the retry loop closes once committed.
func (w *wfile) release() {
	w.mu.Lock()
	w.handles--
	done := w.handles == 0 && (!w.pending || w.unlinked || w.broken != nil)
	w.mu.Unlock()
	if done {
		w.drop()
	}
}

// drop forgets the file and deletes its spill file, unless it still needs a
// commit.
func (w *wfile) drop() {
	f := w.fs
	f.wmu.Lock()
	w.mu.Lock()
	key, abandoned, broken, node := w.key, w.unlinked || w.broken != nil, w.broken != nil && !w.unlinked, w.node
	if w.handles > 0 { // opened again meanwhile
		w.mu.Unlock()
		f.wmu.Unlock()
		return
	}
	w.mu.Unlock()
	if f.wfiles[key] == w {
		delete(f.wfiles, key)
	}
	f.wmu.Unlock()
	if abandoned {
		if broken && node != nil && node.keyOf() == key {
			node.forgetChanges()
		}
		w.file.Remove()
		return
	}
	w.file.Close()
}

// fail records a write or truncate of the spill file that failed half-way
// (ENOSPC, EIO): the file no longer holds what its writer meant, so none of
// its changes are committed; the last release deletes the spill file and the
// object keeps its last committed version. Emptying the file (O_TRUNC,
// truncate to 0) starts it afresh.
func (w *wfile) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken == nil {
		w.broken = err
	}
}

// emptied records that the file was truncated to zero bytes: whatever an
// earlier failed write left is gone.
func (w *wfile) emptied() {
	w.mu.Lock()
	w.broken = nil
	w.mu.Unlock()
	w.sum.truncated(0)
}

// unlink abandons the file's changes: open handles keep their spill file, but
// nothing is committed.
func (w *wfile) unlink() {
	f := w.fs
	w.mu.Lock()
	w.unlinked = true
	key, idle := w.key, w.handles == 0
	w.mu.Unlock()
	f.wmu.Lock()
	if f.wfiles[key] == w {
		delete(f.wfiles, key)
	}
	f.wmu.Unlock()
	if idle {
		w.file.Remove()
	}
}

// commit uploads the file if it changed since its last commit. It is a
// pending upload (spill.Persist) from before its first byte goes up until it
// is committed, so a mount that dies meanwhile leaves it to the next one. On
// failure it stays pending, is retried in the background on the mount's
// context, and the error is returned.
func (w *wfile) commit(ctx context.Context) error {
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	return w.commitLocked(ctx)
}

// commitLocked is commit with commitMu held.
func (w *wfile) commitLocked(ctx context.Context) error {
	if ok, err := w.toCommit(); !ok {
		return err
	}
	err := w.upload(ctx)
	w.mu.Lock()
	w.pending = err != nil
	w.mu.Unlock()
	if err != nil {
		w.persist() // again: a rename may have changed the key
		w.startRetry(retryBackoff.first)
	}
	return err
}

// toCommit reports whether the file has changes to commit: false for an
// unlinked or clean file, false and the error for a broken one (clean or
// not). Called with commitMu held.
func (w *wfile) toCommit() (bool, error) {
	w.mu.Lock()
	unlinked, broken, key := w.unlinked, w.broken, w.key
	w.mu.Unlock()
	switch {
	case unlinked:
		return false, nil
	case broken != nil: // even if no byte of the failed write landed
		return false, fmt.Errorf("%q is not committed: a write to its spill file failed: %w", key, broken)
	case !w.file.Dirty():
		return false, nil
	}
	return true, nil
}

// upload sends every byte as one new multipart session and completes it with
// the size, the sha1 of the whole content and the stamp as user metadata.
func (w *wfile) upload(ctx context.Context) error {
	w.mu.Lock()
	w.committing = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.committing = false
		w.mu.Unlock()
	}()
	w.puts.Wait() // the spill file plans no commit while parts are out
	err := w.uploadOnce(ctx)
	if err != nil && !sessionSurvives(err) {
		w.dropSession()
	}
	return err
}

// sessionSurvives reports whether an upload that failed with err may go on in
// the same session, putting only the parts it lacks: the failure was the
// network's or the service's load (resets, 5xx, 429, timeouts) or local, not
// a refusal of the session or of its parts.
func sessionSurvives(err error) bool {
	for _, dead := range []error{
		oss.ErrInvalidUploadKey, oss.ErrInvalidParts, oss.ErrBadRequest, oss.ErrURLExpired,
		oss.ErrAccessDenied, oss.ErrNotFound, oss.ErrConflict, oss.ErrUnauthorized,
		transfer.ErrUploadIncomplete, transfer.ErrChecksum,
	} {
		if errors.Is(err, dead) {
			return false
		}
	}
	return true
}

// sessionMargin is how long before its uploadExpiration (24 hours after it
// began) a session is given up for a new one.
const sessionMargin = time.Hour

// dropExpiringSession abandons a session about to expire before the commit
// plans which parts it needs.
func (w *wfile) dropExpiringSession() {
	w.mu.Lock()
	u := w.sess
	w.mu.Unlock()
	if u == nil {
		return
	}
	if exp := u.State().UploadExpiration; !exp.IsZero() && time.Until(exp) < sessionMargin {
		w.dropSession()
	}
}

// uploadOnce puts the parts the session lacks (every part, in a new session,
// when none was started or the plan says so) and completes it with the size,
// the sha1 of the whole content and the stamp as user metadata.
func (w *wfile) uploadOnce(ctx context.Context) error {
	f := w.fs
	key, st := w.snapshot()
	if err := w.file.FillAll(ctx); err != nil {
		return err
	}
	// A pending upload before the first byte goes up: if the mount dies
	// during the upload, the next one commits it (Committed forgets it).
	w.persist()
	w.dropExpiringSession()
	plan, err := w.file.PlanCommit()
	if err != nil {
		return err
	}
	var sum string
	if plan.Size < transfer.MinPartSize && len(plan.Parts) == 1 {
		// One small part: hash the very bytes that go up, as transfer checks
		// them only by their MD5 (Upload.Complete), then send those.
		buf, err := w.readSmall(plan)
		if err != nil {
			return err
		}
		h := sha1.Sum(buf)
		sum = hex.EncodeToString(h[:])
		plan.Parts[0].Section = io.NewSectionReader(bytes.NewReader(buf), 0, plan.Size)
	} else if sum, err = w.sha1(ctx, plan.Size); err != nil {
		reportAll(w.file, plan.Parts, false)
		return err
	}
	w.mu.Lock()
	if w.sess == nil || plan.NewSession {
		w.sess = f.engine.NewUpload(f.opts.Bucket, key, transfer.UploadOptions{PartsHint: len(plan.Parts)})
	}
	u := w.sess
	w.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, p := range plan.Parts {
		g.Go(func() error {
			err := u.PutPart(gctx, p.Number, p.Section, p.Section.Size())
			if err != nil {
				w.file.PartFailed(p.Number, p.Gen)
				return err
			}
			w.file.PartUploaded(p.Number, p.Gen)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if plan.Size >= transfer.MinPartSize {
		// Every part is up: a mount that dies during the completion leaves
		// the next one only the completion to do.
		w.persist()
	}
	meta, _ := json.Marshal(st.userMeta())
	u.SetUserMetadata(string(meta))
	obj, err := u.Complete(ctx, plan.Size, sum)
	if err != nil {
		return err
	}
	if err := w.file.Committed(plan); err != nil {
		f.log.Warn("spill: forgetting a committed pending upload failed", "op", "commit", "key", key, "err", err)
	}
	w.mu.Lock()
	w.sess = nil
	w.mu.Unlock()
	obj.Key = key
	w.committed(*obj, st)
	return nil
}

// committed records that the file's version obj was committed with stamp
// st: the namespace, the kernel's node and the date store learn it. A stamp
// set while the commit ran (rsync's chmod and utimes after close, under
// --async-commit) did not go into the object's metadata: it is kept for the
// new version.
func (w *wfile) committed(obj oss.Object, st stamp) {
	f := w.fs
	f.committed(obj, st)
	w.mu.Lock()
	node, cur := w.node, w.st
	w.mu.Unlock()
	if node != nil && node.keyOf() == obj.Key {
		node.seen(obj)
	}
	if cur != st {
		if err := f.dates.keep(obj, cur); err != nil {
			f.log.Error("a stamp is kept in memory only", "op", "commit", "key", obj.Key, "err", err)
		}
	}
}

// readSmall reads the one part of a plan under MinPartSize into memory; on
// failure the part is reported not uploaded.
func (w *wfile) readSmall(plan spill.CommitPlan) ([]byte, error) {
	buf := make([]byte, plan.Size)
	if _, err := plan.Parts[0].Section.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		reportAll(w.file, plan.Parts, false)
		return nil, fmt.Errorf("reading the spill file: %w", err)
	}
	return buf, nil
}

func reportAll(file *spill.File, parts []spill.Part, uploaded bool) {
	for _, p := range parts {
		if uploaded {
			file.PartUploaded(p.Number, p.Gen)
		} else {
			file.PartFailed(p.Number, p.Gen)
		}
	}
}

// sha1 hashes the first size bytes of the spill file: what the running sum
// did not see, or all of them.
func (w *wfile) sha1(ctx context.Context, size int64) (string, error) {
	h, off := w.sum.prefix(size)
	if h == nil {
		h, off = sha1.New(), 0
	}
	buf := make([]byte, 1<<20)
	for off < size {
		n, err := w.file.ReadAt(ctx, buf[:min(int64(len(buf)), size-off)], off)
		h.Write(buf[:n])
		off += int64(n)
		if err != nil && !(errors.Is(err, io.EOF) && off == size) {
			return "", fmt.Errorf("hashing the spill file: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// userMeta is what a stamp stores in an object's user-defined metadata.
func (s stamp) userMeta() userMeta {
	m := userMeta{Mode: s.mode}
	if !s.mtime.IsZero() {
		m.MTimeMillis = s.mtime.UnixMilli()
	}
	return m
}

// committed records a new version: the namespace and the kernel see it, and
// its stamp is known.
func (f *FS) committed(o oss.Object, st stamp) {
	if st.mtime.IsZero() {
		st.mtime = time.Now()
	}
	if err := f.dates.set(o, st); err != nil {
		f.log.Warn("stamp log", "op", "commit", "key", o.Key, "err", err)
	}
	f.ns.putFile(o.Key, o)
}

// persist keeps the file as a pending upload that survives a restart, with
// its upload session, if one holds parts, for the next mount to resume.
func (w *wfile) persist() error {
	key, st := w.snapshot()
	attrs, _ := json.Marshal(st.userMeta())
	meta := spill.Meta{Key: key, Attrs: string(attrs)}
	w.mu.Lock()
	u := w.sess
	w.mu.Unlock()
	if u != nil {
		if us := u.State(); us.UploadKey != "" && us.Key == key {
			meta.Upload, _ = json.Marshal(us)
		}
	}
	if err := w.file.Persist(meta); err != nil {
		w.fs.log.Error("keeping a failed upload as pending failed; it stays in memory only", "op", "commit", "key", key, "err", err)
		return err
	}
	return nil
}

// retryBackoff bounds the pending-upload retry loop.
var retryBackoff = struct{ first, max time.Duration }{time.Second, time.Minute}

// startRetry starts the background loop that commits a pending upload after
// first, unless one runs.
func (w *wfile) startRetry(first time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.retrying {
		return
	}
	w.retrying = true
	go w.retryLoop(w.fs.bg, first)
}

// retryLoop commits the pending upload, first after delay, then with a capped
// exponential backoff until it succeeds, is unlinked, or the mount ends.
func (w *wfile) retryLoop(ctx context.Context, delay time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		err := w.commit(ctx)
		w.mu.Lock()
		done := err == nil || w.unlinked || w.broken != nil
		if done {
			w.retrying = false
		}
		idle := done && w.handles == 0
		key := w.key
		w.mu.Unlock()
		if done {
			if err == nil {
				w.fs.log.Info("pending upload committed", "op", "commit", "key", key)
			}
			if idle {
				w.drop()
			}
			return
		}
		delay = min(max(2*delay, retryBackoff.first), retryBackoff.max)
		w.fs.log.Warn("pending upload failed again; retrying", "op", "commit", "key", key, "err", err, "in", delay)
	}
}

// loadPending takes up the pending uploads a previous mount left in the spill
// directory and commits them in the background.
func (f *FS) loadPending() error {
	found, err := f.spill.LoadPending()
	if err != nil {
		return err
	}
	for _, p := range found {
		file, err := p.Open()
		if err != nil {
			f.log.Error("a pending upload cannot be opened", "op", "pending", "key", p.Key, "err", err)
			continue
		}
		var m userMeta
		json.Unmarshal([]byte(p.Attrs), &m)
		st := stamp{mode: m.Mode}
		if m.MTimeMillis != 0 {
			st.mtime = time.UnixMilli(m.MTimeMillis)
		}
		w := &wfile{fs: f, file: file, key: p.Key, st: st, pending: true}
		w.sess = f.resumeSession(p.Key, p.Upload)
		if w.sess == nil {
			file.ResetSession() // every part goes up again, in a new session
		}
		f.wmu.Lock()
		f.wfiles[p.Key] = w
		f.wmu.Unlock()
		f.log.Info("pending upload found; committing it in the background", "op", "pending", "key", p.Key, "size", p.Size)
		f.committer.add(w)
	}
	return nil
}

// stage makes the file's changes a pending upload, synced to the spill
// directory, and hands it to the committer (Options.AsyncCommit): close then
// returns without waiting for APS. Its errors are local (a full spill disk, a
// failed fetch of the original's bytes).
func (w *wfile) stage(ctx context.Context) error {
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	if ok, err := w.toCommit(); !ok {
		return err
	}
	// The original's bytes are fetched now: it may be replaced before the
	// commit runs. A file that cannot be staged (the original unreachable,
	// the spill disk too full for its sidecar) is committed now instead,
	// with the errors, pending upload and retries of a commit.
	if err := w.file.FillAll(ctx); err != nil {
		key, _ := w.snapshot()
		w.fs.log.Warn("a closed file cannot be staged; committing it now", "op", "commit", "key", key, "err", err)
		return w.commitLocked(ctx)
	}
	if err := w.persist(); err != nil {
		return w.commitLocked(ctx)
	}
	w.mu.Lock()
	w.pending, w.staged = true, time.Now()
	w.mu.Unlock()
	w.fs.committer.add(w)
	return nil
}

// settled is called when a pending upload may need nothing more: committed,
// unlinked or broken. With no handle open and no retry loop it is forgotten,
// unless it changed again, when it is queued again.
func (w *wfile) settled() {
	dirty := w.file.Dirty()
	w.mu.Lock()
	if !dirty || w.unlinked || w.broken != nil {
		w.pending = false
	}
	idle, again := w.handles == 0 && !w.retrying, w.pending
	w.mu.Unlock()
	switch {
	case idle && again:
		w.fs.committer.add(w)
	case idle:
		w.drop()
	}
}

// resumeSession returns the upload session a pending upload saved, or nil
// when it saved none or one that does not fit.
func (f *FS) resumeSession(key string, saved []byte) *transfer.Upload {
	if saved == nil {
		return nil
	}
	var us transfer.UploadState
	if err := json.Unmarshal(saved, &us); err != nil || us.UploadKey == "" || us.Bucket != f.opts.Bucket || us.Key != key {
		f.log.Warn("a pending upload's saved session is unusable; starting a new one", "op", "pending", "key", key, "err", err)
		return nil
	}
	return f.engine.ResumeUpload(us)
}

// Pending lists the keys of uploads not committed yet.
func (f *FS) Pending() []string {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	var keys []string
	for k, w := range f.wfiles {
		w.mu.Lock()
		if w.pending && !w.unlinked {
			keys = append(keys, k)
		}
		w.mu.Unlock()
	}
	return keys
}
