package spill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// modelRun drives a File with a seeded random sequence of writes, truncates,
// reads, background part uploads and commits, next to an in-memory model of
// its bytes and a fake upload session (the last put of a part wins; a put
// reads the data file when it runs, as transfer.Upload does). After every
// step the File's state must match the model; every commit must assemble,
// from the session, exactly the model's bytes.
type modelRun struct {
	t                            *testing.T
	rng                          *rand.Rand
	d                            *Dir
	f                            *File
	base                         *patternBase
	model                        []byte
	session                      map[int][]byte
	inflight                     []Part
	limit                        int64 // the smallest size so far: the original is never read past it
	handed, commits, newSessions int
	fetchCalls, reopens          int
	fetched                      int64
}

const modelPartSize = 64

func TestRandomOpsAgainstModel(t *testing.T) {
	for seed := range int64(24) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			// Even seeds read the whole File after every step, which fetches
			// everything; odd ones leave bytes missing across steps.
			newModelRun(t, seed).run(400, seed%2 == 0)
		})
	}
}

func newModelRun(t *testing.T, seed int64) *modelRun {
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	m := &modelRun{t: t, rng: rng, d: testDir(t, modelPartSize, 48), session: map[int][]byte{}}
	m.open(pattern(seed, 0, rng.Int64N(12*modelPartSize)))
	t.Cleanup(func() { m.f.Close() })
	return m
}

// open starts over with a File for an existing object of these bytes, as
// the next open for writing of a committed object does.
func (m *modelRun) open(object []byte) {
	if m.f != nil {
		if err := m.f.Close(); err != nil {
			m.t.Fatal(err)
		}
		m.countFetches()
		m.reopens++
	}
	m.base = &patternBase{content: object, limit: -1}
	f, err := m.d.OpenExisting(int64(len(object)), m.base)
	if err != nil {
		m.t.Fatal(err)
	}
	m.f, m.model, m.limit = f, slices.Clone(object), int64(len(object))
}

func (m *modelRun) run(steps int, readEveryStep bool) {
	for step := range steps {
		op := m.step()
		m.checkState(fmt.Sprintf("step %d (%s)", step, op))
		if readEveryStep || step%50 == 49 {
			checkContent(m.t, m.f, m.model)
		}
	}
	checkContent(m.t, m.f, m.model)
	m.commit(false)
	m.countFetches()
	m.t.Logf("%d parts handed out in the background, %d commits (%d in a new session), %d reopens, %d bytes fetched in %d calls",
		m.handed, m.commits, m.newSessions, m.reopens, m.fetched, m.fetchCalls)
}

func (m *modelRun) countFetches() {
	calls, n := m.base.stats()
	m.fetchCalls += calls
	m.fetched += n
}

func (m *modelRun) step() string {
	switch r := m.rng.IntN(20); {
	case r < 7:
		m.write()
		return "write"
	case r < 10:
		m.truncate()
		return "truncate"
	case r < 13:
		m.read()
		return "read"
	case r < 15:
		m.readyParts()
		return "ready parts"
	case r < 17:
		m.finishSome()
		return "finish uploads"
	case r < 18:
		if err := m.f.FillAll(context.Background()); err != nil {
			m.t.Fatal(err)
		}
		return "fill all"
	default:
		m.commit(m.rng.IntN(4) == 0)
		return "commit"
	}
}

func (m *modelRun) write() {
	off := m.rng.Int64N(int64(len(m.model)) + 100)
	p := make([]byte, 1+m.rng.IntN(150))
	for i := range p {
		p[i] = byte(m.rng.Uint32())
	}
	mustWrite(m.t, m.f, p, off)
	if end := off + int64(len(p)); end > int64(len(m.model)) {
		m.model = append(m.model, make([]byte, end-int64(len(m.model)))...)
	}
	copy(m.model[off:], p)
	m.wantDirty()
}

func (m *modelRun) truncate() {
	n := m.rng.Int64N(int64(len(m.model)) + 150)
	if err := m.f.Truncate(n); err != nil {
		m.t.Fatal(err)
	}
	changed := n != int64(len(m.model))
	if n < int64(len(m.model)) {
		m.model = m.model[:n]
	} else {
		m.model = append(m.model, make([]byte, n-int64(len(m.model)))...)
	}
	m.limit = min(m.limit, n)
	m.base.mu.Lock()
	m.base.limit = m.limit
	m.base.mu.Unlock()
	if changed {
		m.wantDirty()
	}
}

func (m *modelRun) wantDirty() {
	if !m.f.Dirty() {
		m.t.Fatal("a changed File is not dirty")
	}
}

func (m *modelRun) read() {
	size := int64(len(m.model))
	off := m.rng.Int64N(size + 10)
	buf := make([]byte, m.rng.IntN(200))
	n, err := m.f.ReadAt(context.Background(), buf, off)
	want := m.model[min(off, size):min(off+int64(len(buf)), size)]
	if !bytes.Equal(buf[:n], want) || (n < len(buf)) != (err != nil) {
		m.t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d bytes", len(buf), off, n, err, len(want))
	}
}

// readyParts hands out the finished parts below a random frontier.
func (m *modelRun) readyParts() {
	frontier := m.rng.Int64N(int64(len(m.model)) + modelPartSize)
	for _, p := range m.f.ReadyParts(frontier) {
		end := int64(p.Number) * modelPartSize
		if end > min(frontier, int64(len(m.model))) || p.Section.Size() != modelPartSize {
			m.t.Fatalf("part %d (%d bytes) handed out with frontier %d, size %d", p.Number, p.Section.Size(), frontier, len(m.model))
		}
		if slices.ContainsFunc(m.inflight, func(q Part) bool { return q.Number == p.Number }) {
			m.t.Fatalf("part %d handed out while in flight", p.Number)
		}
		m.inflight = append(m.inflight, p)
		m.handed++
	}
}

// finishSome runs about half of the puts in flight; a quarter of those fail.
func (m *modelRun) finishSome() {
	var left []Part
	for _, p := range m.inflight {
		if m.rng.IntN(2) == 0 {
			left = append(left, p)
			continue
		}
		m.put(p, m.rng.IntN(4) != 0)
	}
	m.inflight = left
}

// put plays a PutPart: it reads the part's Section now; a short read (the
// File shrank) fails the put.
func (m *modelRun) put(p Part, ok bool) {
	b := partBytes(m.t, p)
	if !ok || int64(len(b)) != p.Section.Size() {
		m.f.PartFailed(p.Number, p.Gen)
		return
	}
	m.session[p.Number] = b
	m.f.PartUploaded(p.Number, p.Gen)
}

// commit waits for the puts in flight, fills, plans and puts the plan's
// parts. Unless it is to fail midway, it then completes from the session as
// S3 would and marks the File committed.
func (m *modelRun) commit(fail bool) {
	for _, p := range m.inflight {
		m.put(p, true)
	}
	m.inflight = nil
	if !m.f.AllLocal() {
		if _, err := m.f.PlanCommit(); !errors.Is(err, ErrNotLocal) {
			m.t.Fatalf("PlanCommit with bytes missing: %v, want ErrNotLocal", err)
		}
		if err := m.f.FillAll(context.Background()); err != nil {
			m.t.Fatal(err)
		}
	}
	plan, err := m.f.PlanCommit()
	if err != nil {
		m.t.Fatal(err)
	}
	if plan.NewSession {
		clear(m.session)
		m.newSessions++
	}
	for i, p := range plan.Parts {
		m.put(p, !fail || i%2 == 0)
	}
	if fail {
		return
	}
	m.complete(plan)
	m.commits++
	if err := m.f.Committed(plan); err != nil {
		m.t.Fatal(err)
	}
	if m.f.Dirty() {
		m.t.Fatal("dirty after Committed")
	}
	clear(m.session) // the next commit is a new session
	if m.rng.IntN(2) == 0 {
		m.open(m.model)
	}
}

// complete checks what the session holds, as CompleteUpload would: parts
// 1..N, all but the last full, nothing beyond, adding up to the model.
func (m *modelRun) complete(plan CommitPlan) {
	if plan.Size != int64(len(m.model)) {
		m.t.Fatalf("plan of %d bytes, model has %d", plan.Size, len(m.model))
	}
	ps := m.f.PartSize()
	n := partCount(plan.Size, ps)
	var object []byte
	for number := 1; number <= n; number++ {
		b, ok := m.session[number]
		if !ok || (number < n && int64(len(b)) != ps) {
			m.t.Fatalf("session: part %d of %d missing or short (%d bytes)", number, n, len(b))
		}
		object = append(object, b...)
	}
	for number := range m.session {
		if number > n {
			m.t.Fatalf("session holds part %d beyond the last (%d)", number, n)
		}
	}
	if !bytes.Equal(object, m.model) {
		m.t.Fatalf("committed object differs from the model at %d", firstDiff(object, m.model))
	}
}

// checkState compares the File with the model without fetching anything:
// a byte the File takes from the original must be the original's in the
// model, every other byte must be in the data file; the original is never
// read twice at a byte, nor past the smallest size.
func (m *modelRun) checkState(where string) {
	f := m.f
	f.mu.Lock()
	size, baseSize, present := f.size, f.baseSize, slices.Clone(f.present)
	f.mu.Unlock()
	if size != int64(len(m.model)) {
		m.t.Fatalf("%s: size %d, model %d", where, size, len(m.model))
	}
	if fi, err := f.data.Stat(); err != nil || fi.Size() != size {
		m.t.Fatalf("%s: data file length %v (%v), size %d", where, fi.Size(), err, size)
	}
	local := make([]byte, size)
	if _, err := f.data.ReadAt(local, 0); err != nil && size > 0 {
		m.t.Fatal(err)
	}
	for _, g := range present.gaps(0, baseSize) {
		copy(local[g.lo:g.hi], m.base.content[g.lo:g.hi])
	}
	if !bytes.Equal(local, m.model) {
		m.t.Fatalf("%s: File differs from the model at %d", where, firstDiff(local, m.model))
	}
	m.base.mu.Lock()
	defer m.base.mu.Unlock()
	if m.base.twice || m.base.beyond {
		m.t.Fatalf("%s: the original was read twice at a byte (%v) or past a shrink (%v)", where, m.base.twice, m.base.beyond)
	}
}
