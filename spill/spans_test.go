package spill

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSpanSetModel checks the span set against a bitmap under random adds
// and removes: its spans, covers and gaps.
func TestSpanSetModel(t *testing.T) {
	const size = 120
	rng := rand.New(rand.NewPCG(7, 7))
	var s spanSet
	var model [size]bool
	for step := range 5000 {
		lo := rng.Int64N(size)
		hi := lo + rng.Int64N(size-lo+1)
		add := rng.IntN(2) == 0
		if add {
			s.add(lo, hi)
		} else {
			s.remove(lo, hi)
		}
		for i := lo; i < hi; i++ {
			model[i] = add
		}
		if want := modelSpans(model[:], 0, size, true); !slices.Equal(s, spanSet(want)) {
			t.Fatalf("step %d: set %v, want %v", step, s, want)
		}
		qlo := rng.Int64N(size)
		qhi := qlo + rng.Int64N(size-qlo+1)
		if got, want := s.gaps(qlo, qhi), modelSpans(model[:], qlo, qhi, false); !slices.Equal(got, want) {
			t.Fatalf("step %d: gaps(%d, %d) = %v, want %v", step, qlo, qhi, got, want)
		}
		if got, want := s.covers(qlo, qhi), len(modelSpans(model[:], qlo, qhi, false)) == 0; got != want {
			t.Fatalf("step %d: covers(%d, %d) = %v, want %v", step, qlo, qhi, got, want)
		}
	}
}

// modelSpans returns the maximal runs of [lo, hi) whose bits equal v.
func modelSpans(bits []bool, lo, hi int64, v bool) []span {
	var out []span
	for i := lo; i < hi; i++ {
		if bits[i] != v {
			continue
		}
		if n := len(out); n > 0 && out[n-1].hi == i {
			out[n-1].hi++
		} else {
			out = append(out, span{i, i + 1})
		}
	}
	return out
}

func TestSubtract(t *testing.T) {
	list := []span{{0, 10}, {20, 30}, {40, 50}}
	got := subtract(list, span{5, 45})
	if want := []span{{0, 5}, {45, 50}}; !slices.Equal(got, want) {
		t.Fatalf("subtract = %v, want %v", got, want)
	}
	got = subtract(list, span{22, 25})
	if want := []span{{0, 10}, {20, 22}, {25, 30}, {40, 50}}; !slices.Equal(got, want) {
		t.Fatalf("subtract = %v, want %v", got, want)
	}
}
