package spill

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/ossfs/ossfs/transfer"
)

func partNumbers(parts []Part) []int {
	var numbers []int
	for _, p := range parts {
		numbers = append(numbers, p.Number)
	}
	return numbers
}

// TestReadyPartsSequentialWriter: parts become ready as the frontier passes
// them, once each, with the bytes written.
func TestReadyPartsSequentialWriter(t *testing.T) {
	const ps = modelPartSize
	d := testDir(t, ps, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	content := pattern(7, 0, 5*ps+10)
	var handed []int
	for off := int64(0); off < int64(len(content)); off += 10 {
		end := min(off+10, int64(len(content)))
		mustWrite(t, f, content[off:end], off)
		for _, p := range f.ReadyParts(end) {
			if int64(p.Number)*ps > end {
				t.Fatalf("part %d ready at frontier %d", p.Number, end)
			}
			if got, want := partBytes(t, p), content[int64(p.Number-1)*ps:int64(p.Number)*ps]; !bytes.Equal(got, want) {
				t.Fatalf("part %d bytes differ", p.Number)
			}
			handed = append(handed, p.Number)
			f.PartUploaded(p.Number, p.Gen)
		}
	}
	if want := []int{1, 2, 3, 4, 5}; !slices.Equal(handed, want) {
		t.Fatalf("handed out %v, want %v", handed, want)
	}
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if got := partNumbers(plan.Parts); !slices.Equal(got, []int{6}) || plan.Parts[0].Section.Size() != 10 || plan.NewSession {
		t.Fatalf("plan: parts %v (last %d bytes), new session %v; want [6] of 10 bytes in the same session", got, plan.Parts[0].Section.Size(), plan.NewSession)
	}
}

// TestReadyPartsRewrite: a part rewritten after upload is ready again with a
// higher generation; one rewritten while in flight waits for the report; a
// report of an old generation does not cover a newer write.
func TestReadyPartsRewrite(t *testing.T) {
	const ps = modelPartSize
	d := testDir(t, ps, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustWrite(t, f, pattern(8, 0, 3*ps), 0)
	parts := f.ReadyParts(3 * ps)
	if got := partNumbers(parts); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("ready %v, want [1 2 3]", got)
	}
	for _, p := range parts {
		f.PartUploaded(p.Number, p.Gen)
	}
	if again := f.ReadyParts(3 * ps); len(again) != 0 {
		t.Fatalf("uploaded parts ready again: %v", partNumbers(again))
	}

	mustWrite(t, f, []byte("x"), ps+5) // rewrite uploaded part 2
	two := f.ReadyParts(3 * ps)
	if len(two) != 1 || two[0].Number != 2 || two[0].Gen <= parts[1].Gen {
		t.Fatalf("after a rewrite: %v, want part 2 with a generation above %d", two, parts[1].Gen)
	}

	mustWrite(t, f, []byte("y"), ps+6) // rewrite part 2 while in flight
	if inFlight := f.ReadyParts(3 * ps); len(inFlight) != 0 {
		t.Fatalf("part in flight handed out again: %v", partNumbers(inFlight))
	}
	f.PartUploaded(2, two[0].Gen) // the old generation
	three := f.ReadyParts(3 * ps)
	if len(three) != 1 || three[0].Number != 2 || three[0].Gen <= two[0].Gen {
		t.Fatalf("after the old put: %v, want part 2 again", three)
	}
	f.PartUploaded(2, two[0].Gen) // a stale duplicate: part 2 stays in flight
	if _, err := f.PlanCommit(); !errors.Is(err, ErrUploadsInFlight) {
		t.Fatalf("PlanCommit after a stale report: %v, want ErrUploadsInFlight", err)
	}
	f.PartFailed(2, three[0].Gen)
	f.PartUploaded(2, three[0].Gen) // after the failure: ignored
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if got := partNumbers(plan.Parts); !slices.Equal(got, []int{2}) {
		t.Fatalf("plan %v, want [2]: the newest write of part 2 is not uploaded", got)
	}
}

// TestPlanCommitSizes: the parts of 0, PartSize and PartSize+1 bytes, with the
// real minimum part size.
func TestPlanCommitSizes(t *testing.T) {
	d, err := OpenDir(t.TempDir()+"/spill", Options{PartSize: transfer.MinPartSize})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct {
		size  int64
		sizes []int64
	}{
		{0, []int64{0}},
		{transfer.MinPartSize, []int64{transfer.MinPartSize}},
		{transfer.MinPartSize + 1, []int64{transfer.MinPartSize, 1}},
	} {
		f, err := d.New()
		if err != nil {
			t.Fatal(err)
		}
		content := pattern(9, 0, tc.size)
		if tc.size > 0 {
			mustWrite(t, f, content, 0)
		}
		plan, err := f.PlanCommit()
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int64
		var object []byte
		for i, p := range plan.Parts {
			if p.Number != i+1 {
				t.Fatalf("size %d: part %d numbered %d", tc.size, i+1, p.Number)
			}
			sizes = append(sizes, p.Section.Size())
			object = append(object, partBytes(t, p)...)
		}
		if !slices.Equal(sizes, tc.sizes) || plan.Size != tc.size || !bytes.Equal(object, content) {
			t.Fatalf("size %d: part sizes %v, plan size %d; want %v", tc.size, sizes, plan.Size, tc.sizes)
		}
		f.Close()
	}
}

// TestPlanCommitNewSessionAfterCut: a truncate that cuts off parts handed out
// makes the session stale: nothing more is handed out, and the plan starts a
// new session with every part.
func TestPlanCommitNewSessionAfterCut(t *testing.T) {
	const ps = modelPartSize
	d := testDir(t, ps, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustWrite(t, f, pattern(10, 0, 4*ps), 0)
	for _, p := range f.ReadyParts(4 * ps) {
		f.PartUploaded(p.Number, p.Gen)
	}
	if err := f.Truncate(ps + 10); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, pattern(11, 0, 3*ps), ps+10)
	if ready := f.ReadyParts(4 * ps); len(ready) != 0 {
		t.Fatalf("stale session handed out %v", partNumbers(ready))
	}
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if got := partNumbers(plan.Parts); !plan.NewSession || !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("plan: new session %v, parts %v; want a new session with 1..5", plan.NewSession, got)
	}
}

// TestPlanCommitGrowsParts: a File too large for MaxParts parts is planned
// with larger parts, in a new session.
func TestPlanCommitGrowsParts(t *testing.T) {
	d := testDir(t, 16, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	content := pattern(12, 0, 16*transfer.MaxParts+1)
	mustWrite(t, f, content, 0)
	if ready := f.ReadyParts(f.Size()); len(ready) != transfer.MaxParts {
		t.Fatalf("%d parts ready, want %d", len(ready), transfer.MaxParts)
	} else {
		for _, p := range ready {
			f.PartUploaded(p.Number, p.Gen)
		}
	}
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if !plan.NewSession || len(plan.Parts) != 1 || f.PartSize() != mib || !bytes.Equal(partBytes(t, plan.Parts[0]), content) {
		t.Fatalf("plan: new session %v, %d parts of %d bytes; want one part of 1 MiB in a new session", plan.NewSession, len(plan.Parts), f.PartSize())
	}
}

// TestCommittedKeepsLaterChanges: a change made after the plan keeps the
// File dirty, and the next commit is a new session with every part.
func TestCommittedKeepsLaterChanges(t *testing.T) {
	const ps = modelPartSize
	d := testDir(t, ps, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustWrite(t, f, pattern(13, 0, 2*ps), 0)
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.PlanCommit(); !errors.Is(err, ErrUploadsInFlight) {
		t.Fatalf("PlanCommit with parts out: %v, want ErrUploadsInFlight", err)
	}
	for _, p := range plan.Parts {
		f.PartUploaded(p.Number, p.Gen)
	}
	mustWrite(t, f, []byte("later"), 2*ps)
	if err := f.Committed(plan); err != nil {
		t.Fatal(err)
	}
	if !f.Dirty() {
		t.Fatal("a change made during the commit was forgotten")
	}
	next, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	if got := partNumbers(next.Parts); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("next plan %v, want every part", got)
	}
	for _, p := range next.Parts {
		f.PartUploaded(p.Number, p.Gen)
	}
	if err := f.Committed(next); err != nil || f.Dirty() {
		t.Fatalf("Committed: %v, dirty %v", err, f.Dirty())
	}
}

// TestOpenExistingIsClean: an unchanged existing object is not dirty, a
// new File is.
func TestOpenExistingIsClean(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	f, err := d.OpenExisting(100, newPatternBase(1, 100))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if f.Dirty() || !g.Dirty() {
		t.Fatalf("existing dirty %v, new dirty %v", f.Dirty(), g.Dirty())
	}
	if err := f.Truncate(100); err != nil || f.Dirty() {
		t.Fatalf("truncating to the same size: %v, dirty %v", err, f.Dirty())
	}
}
