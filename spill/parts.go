package spill

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ossfs/ossfs/transfer"
)

// ErrUploadsInFlight reports a PlanCommit while parts handed out have not
// been reported back.
var ErrUploadsInFlight = errors.New("spill: parts handed out for upload are not reported back")

// ErrNotLocal reports a PlanCommit or Persist while bytes of the original
// are not local (FillAll first).
var ErrNotLocal = errors.New("spill: bytes of the original are not local")

// partState is what is known of one part in the current upload session.
// Generations are values of File.clock, so they never repeat within a File.
type partState struct {
	gen      uint64 // the part's generation: the clock of its last change
	handed   uint64 // the generation last handed out this session; 0: none
	uploaded uint64 // the generation last reported uploaded this session; 0: none
	inflight bool   // handed out and not reported back yet
}

// Part is one part handed out for upload. Report its fate with PartUploaded
// or PartFailed, passing Gen back.
type Part struct {
	Number  int               // 1-based part number
	Gen     uint64            // the part's generation when handed out
	Section *io.SectionReader // the part's bytes in the data file, read when uploaded
}

// CommitPlan is what one commit uploads.
type CommitPlan struct {
	Size int64 // the object's size
	// Parts are every part of Size whose current generation the session
	// does not hold, in order; the last may be short, a zero-byte object is
	// one empty part.
	Parts []Part
	// NewSession says that the upload session the File's parts went to so
	// far cannot finish at this size (parts were cut off, or the parts grew
	// to fit transfer.MaxParts): start a new one. Parts then lists every part.
	NewSession bool
	version    uint64 // File.edits when planned
}

// ReadyParts hands out the parts a sequential writer has finished: parts
// wholly below frontier (and the size), all local, changed since they were
// last handed out, and not in flight. Each is in flight until reported back.
// It hands out nothing while the session is stale (a truncate cut off parts
// handed out): the next PlanCommit starts a new one.
func (f *File) ReadyParts(frontier int64) []Part {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.usableLocked() != nil || f.staleSession {
		return nil
	}
	limit := min(frontier, f.size)
	var ready []Part
	for idx := range f.candidates {
		p := &f.parts[idx]
		switch {
		case int64(idx+1)*f.partSize > limit || idx >= transfer.MaxParts || p.inflight:
			// not finished, not a valid part number, or ready once reported
		case p.gen == p.handed || p.gen == p.uploaded:
			delete(f.candidates, idx)
		case f.localLocked(f.partSpan(idx)):
			delete(f.candidates, idx)
			ready = append(ready, f.handOutLocked(idx))
		}
	}
	slices.SortFunc(ready, func(a, b Part) int { return a.Number - b.Number })
	return ready
}

// PartUploaded records that the session holds the part at generation gen.
// A report of a generation not handed out this session is ignored.
func (f *File) PartUploaded(number int, gen uint64) { f.report(number, gen, true) }

// PartFailed records that the part handed out at generation gen was not
// uploaded; the commit will upload it.
func (f *File) PartFailed(number int, gen uint64) { f.report(number, gen, false) }

func (f *File) report(number int, gen uint64, uploaded bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	idx := number - 1
	if idx < 0 || idx >= len(f.parts) {
		return
	}
	p := &f.parts[idx]
	if !p.inflight || p.handed != gen {
		return
	}
	p.inflight = false
	if uploaded {
		p.uploaded = gen
	}
}

// PlanCommit hands out every part the session still needs for the current
// size. It fails with ErrUploadsInFlight while parts handed out are not
// reported back, with ErrNotLocal while bytes are missing, and with the
// error of a failed write (ENOSPC, say) while bytes of it are unwritten.
func (f *File) PlanCommit() (CommitPlan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.committableLocked(); err != nil {
		return CommitPlan{}, err
	}
	if slices.ContainsFunc(f.parts, func(p partState) bool { return p.inflight }) {
		return CommitPlan{}, ErrUploadsInFlight
	}
	if partCount(f.size, f.partSize) > transfer.MaxParts {
		f.partSize = partSizeFor(f.size, f.partSize)
		f.staleSession = true
	}
	plan := CommitPlan{Size: f.size, NewSession: f.staleSession, version: f.edits}
	if plan.NewSession {
		f.resetSessionLocked()
	}
	for idx, p := range f.parts {
		if p.gen != p.uploaded {
			plan.Parts = append(plan.Parts, f.handOutLocked(idx))
		}
	}
	return plan, nil
}

// committableLocked reports what keeps the File from being uploaded whole.
func (f *File) committableLocked() error {
	if err := f.usableLocked(); err != nil {
		return err
	}
	if f.baseSize > 0 {
		return ErrNotLocal
	}
	if len(f.torn) > 0 {
		return fmt.Errorf("spill: bytes %d-%d were never written: %w", f.torn[0].lo, f.torn[len(f.torn)-1].hi, f.tornErr)
	}
	return nil
}

// Committed records that the object was finalized from plan: the File is
// clean unless it changed since plan was made, and its session is over (a
// later commit starts a new one). A pending upload's sidecar is removed (or,
// if the File changed since, no longer names the finished session).
func (f *File) Committed(plan CommitPlan) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	clean := f.edits == plan.version
	f.resetSessionLocked()
	if !clean {
		return f.unsealLocked()
	}
	f.dirty = false
	if f.pending == nil {
		return nil
	}
	f.pending = nil
	return f.d.remove(f.name + sidecarSuffix)
}

// ResetSession forgets what was handed out and uploaded, as when the upload
// session is abandoned for a new one: every part is to be uploaded again.
func (f *File) ResetSession() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resetSessionLocked()
}

// resetSessionLocked gives every part a new generation, so that late reports
// from the old session match nothing.
func (f *File) resetSessionLocked() {
	f.clock++
	f.parts = make([]partState, partCount(f.size, f.partSize))
	clear(f.candidates)
	for idx := range f.parts {
		f.parts[idx].gen = f.clock
		f.candidates[idx] = struct{}{}
	}
	f.staleSession = false
}

// localLocked reports whether every byte of s is local.
func (f *File) localLocked(s span) bool {
	return f.present.covers(s.lo, min(s.hi, f.baseSize))
}

// handOutLocked marks part idx in flight at its generation.
func (f *File) handOutLocked(idx int) Part {
	p := &f.parts[idx]
	p.handed, p.inflight = p.gen, true
	s := f.partSpan(idx)
	return Part{Number: idx + 1, Gen: p.gen, Section: io.NewSectionReader(f.data, s.lo, s.hi-s.lo)}
}

// partSpan is the bytes of part idx at the current size.
func (f *File) partSpan(idx int) span {
	lo := int64(idx) * f.partSize
	return span{lo, min(lo+f.partSize, f.size)}
}

// touchLocked gives the parts overlapping [lo, hi) the current generation.
func (f *File) touchLocked(lo, hi int64) {
	for idx := int(lo / f.partSize); idx < len(f.parts) && int64(idx)*f.partSize < hi; idx++ {
		f.parts[idx].gen = f.clock
		f.candidates[idx] = struct{}{}
	}
}

// resizePartsLocked fits the parts to the size: parts cut off that were
// handed out this session make it stale, new parts are of this generation.
func (f *File) resizePartsLocked() {
	n := partCount(f.size, f.partSize)
	if n < len(f.parts) {
		for idx := n; idx < len(f.parts); idx++ {
			f.staleSession = f.staleSession || f.parts[idx].handed != 0
			delete(f.candidates, idx)
		}
		f.parts = f.parts[:n]
	}
	for len(f.parts) < n {
		f.parts = append(f.parts, partState{gen: f.clock})
	}
}
