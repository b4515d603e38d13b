package fs

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ossfs/ossfs/spill"
	"github.com/ossfs/ossfs/transfer"
)

// The committer waits for more files to share a batch's calls while they
// keep coming: until batchSize are queued, or none came for batchGap, or
// batchLinger passed since the first. A writer closing file after file (cp
// -r, tar x) hands over one every few milliseconds.
const (
	batchGap    = 50 * time.Millisecond
	batchLinger = 500 * time.Millisecond
)

// batchSettle is how long a file closed under AsyncCommit is left alone
// before its commit: what a program does right after close (rsync: chmod,
// utimes, rename of its temporary file) then still goes into the commit
// instead of costing a copy, and a stamp another machine would not see.
const batchSettle = 10 * time.Millisecond

// batchSize is how many small files one round of batch calls commits.
const batchSize = 25

// committer commits pending uploads in the background: files under one part
// 25 at a time through the batch endpoints (transfer.UploadSmall, 2 OSS calls
// per batch), larger ones each by its retry loop. A file whose batch commit
// fails goes to its retry loop too.
type committer struct {
	fs   *FS
	wake chan struct{} // 1-buffered: something was queued

	mu    sync.Mutex
	queue []*wfile // guarded by mu
}

func newCommitter(f *FS) *committer {
	return &committer{fs: f, wake: make(chan struct{}, 1)}
}

// add queues a pending upload.
func (c *committer) add(w *wfile) {
	c.mu.Lock()
	c.queue = append(c.queue, w)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take removes up to n queued files, without duplicates.
func (c *committer) take(n int) []*wfile {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[*wfile]bool{}
	var out []*wfile
	i := 0
	for ; i < len(c.queue) && len(out) < n; i++ {
		if w := c.queue[i]; !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	c.queue = c.queue[i:]
	return out
}

func (c *committer) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// run commits what is queued until the mount ends.
func (c *committer) run(ctx context.Context) {
	for {
		if c.queued() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-c.wake:
			}
		}
		if !c.gather(ctx) {
			return
		}
		if batch := c.take(batchSize); len(batch) > 0 {
			c.commit(ctx, batch)
		}
	}
}

// gather waits while files keep coming (see batchGap); false when the mount
// ended.
func (c *committer) gather(ctx context.Context) bool {
	linger := time.NewTimer(batchLinger)
	defer linger.Stop()
	gap := time.NewTimer(batchGap)
	defer gap.Stop()
	for c.queued() < batchSize {
		select {
		case <-ctx.Done():
			return false
		case <-c.wake:
			gap.Reset(batchGap)
		case <-gap.C:
			return true
		case <-linger.C:
			return true
		}
	}
	return true
}

// staged is one small file of a batch: its commit lock is held.
type staged struct {
	w    *wfile
	key  string
	st   stamp
	plan spill.CommitPlan
}

// commit commits a batch: the small files together, the others each by its
// retry loop.
func (c *committer) commit(ctx context.Context, batch []*wfile) {
	var small []staged
	var items []transfer.SmallUpload
	var later []*wfile
	for _, w := range batch {
		w.mu.Lock()
		fresh := time.Since(w.staged) < batchSettle
		w.mu.Unlock()
		if fresh {
			later = append(later, w)
			continue
		}
		s, item, ok := c.prepare(ctx, w)
		if ok {
			small, items = append(small, s), append(items, item)
		}
	}
	defer func() {
		for _, w := range later {
			c.add(w)
		}
	}()
	if len(small) == 0 {
		return
	}
	res := c.fs.engine.UploadSmall(ctx, c.fs.opts.Bucket, items)
	for i, s := range small {
		c.finish(s, res[i])
	}
}

// prepare takes w's commit lock and plans its commit when it is a small file
// with changes to commit. Otherwise w goes to its retry loop (or needs
// nothing) and ok is false.
func (c *committer) prepare(ctx context.Context, w *wfile) (staged, transfer.SmallUpload, bool) {
	if !w.commitMu.TryLock() { // a commit of it runs: let the retry loop follow it
		w.startRetry(0)
		return staged{}, transfer.SmallUpload{}, false
	}
	if ok, _ := w.toCommit(); !ok {
		w.commitMu.Unlock()
		w.settled()
		return staged{}, transfer.SmallUpload{}, false
	}
	if w.file.Size() >= transfer.MinPartSize {
		w.commitMu.Unlock()
		w.startRetry(0)
		return staged{}, transfer.SmallUpload{}, false
	}
	key, st := w.snapshot()
	data, plan, err := w.smallPlan(ctx)
	if err != nil {
		w.commitMu.Unlock()
		c.fs.log.Warn("a pending upload cannot be planned; retrying it alone", "op", "commit", "key", key, "err", err)
		w.startRetry(retryBackoff.first)
		return staged{}, transfer.SmallUpload{}, false
	}
	meta, _ := json.Marshal(st.userMeta())
	h := sha1.Sum(data)
	sum := hex.EncodeToString(h[:])
	item := transfer.SmallUpload{Key: key, Data: data, SHA1: sum, Options: transfer.UploadOptions{UserMetadata: string(meta)}}
	return staged{w: w, key: key, st: st, plan: plan}, item, true
}

// smallPlan plans the commit of a file under one part and reads its bytes.
func (w *wfile) smallPlan(ctx context.Context) ([]byte, spill.CommitPlan, error) {
	if err := w.file.FillAll(ctx); err != nil {
		return nil, spill.CommitPlan{}, err
	}
	plan, err := w.file.PlanCommit()
	if err != nil {
		return nil, plan, err
	}
	if plan.Size >= transfer.MinPartSize || len(plan.Parts) != 1 {
		reportAll(w.file, plan.Parts, false)
		return nil, plan, fmt.Errorf("%d bytes in %d parts to upload: not one small part", plan.Size, len(plan.Parts))
	}
	data, err := w.readSmall(plan)
	return data, plan, err
}

// finish records the outcome of one small file's batch commit and releases
// its commit lock.
func (c *committer) finish(s staged, r transfer.SmallResult) {
	w, f := s.w, c.fs
	if r.Err != nil {
		reportAll(w.file, s.plan.Parts, false)
		w.commitMu.Unlock()
		f.log.Warn("a batched commit failed; retrying it alone", "op", "commit", "key", s.key, "err", r.Err)
		w.startRetry(retryBackoff.first)
		return
	}
	reportAll(w.file, s.plan.Parts, true)
	if err := w.file.Committed(s.plan); err != nil {
		f.log.Warn("spill: forgetting a committed pending upload failed", "op", "commit", "key", s.key, "err", err)
	}
	obj := *r.Object
	obj.Key = s.key
	w.committed(obj, s.st)
	w.commitMu.Unlock()
	w.settled()
}
