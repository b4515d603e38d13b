package spill

import (
	"slices"
	"sort"
)

// span is the byte range [lo, hi).
type span struct{ lo, hi int64 }

// spanSet is a set of bytes kept as sorted, disjoint, non-adjacent, non-empty
// spans.
type spanSet []span

// add inserts [lo, hi), merging it with the spans it overlaps or touches.
func (s *spanSet) add(lo, hi int64) {
	if lo >= hi {
		return
	}
	v := *s
	i := sort.Search(len(v), func(i int) bool { return v[i].hi >= lo })
	j := sort.Search(len(v), func(j int) bool { return v[j].lo > hi })
	if i < j {
		lo, hi = min(lo, v[i].lo), max(hi, v[j-1].hi)
	}
	*s = slices.Replace(v, i, j, span{lo, hi})
}

// remove deletes [lo, hi) from the set.
func (s *spanSet) remove(lo, hi int64) {
	if lo >= hi {
		return
	}
	v := *s
	i := sort.Search(len(v), func(i int) bool { return v[i].hi > lo })
	j := sort.Search(len(v), func(j int) bool { return v[j].lo >= hi })
	if i >= j {
		return
	}
	var keep []span
	if v[i].lo < lo {
		keep = append(keep, span{v[i].lo, lo})
	}
	if v[j-1].hi > hi {
		keep = append(keep, span{hi, v[j-1].hi})
	}
	*s = slices.Replace(v, i, j, keep...)
}

// covers reports whether every byte of [lo, hi) is in the set.
func (s spanSet) covers(lo, hi int64) bool {
	if lo >= hi {
		return true
	}
	i := sort.Search(len(s), func(i int) bool { return s[i].hi > lo })
	return i < len(s) && s[i].lo <= lo && s[i].hi >= hi
}

// gaps returns the parts of [lo, hi) that are not in the set, in order.
func (s spanSet) gaps(lo, hi int64) []span {
	var out []span
	i := sort.Search(len(s), func(i int) bool { return s[i].hi > lo })
	for ; lo < hi; i++ {
		if i == len(s) || s[i].lo >= hi {
			out = append(out, span{lo, hi})
			break
		}
		if s[i].lo > lo {
			out = append(out, span{lo, s[i].lo})
		}
		lo = s[i].hi
	}
	return out
}

// subtract returns the parts of list (sorted, disjoint spans) outside t.
func subtract(list []span, t span) []span {
	var out []span
	for _, s := range list {
		if s.hi <= t.lo || s.lo >= t.hi {
			out = append(out, s)
			continue
		}
		if s.lo < t.lo {
			out = append(out, span{s.lo, t.lo})
		}
		if s.hi > t.hi {
			out = append(out, span{t.hi, s.hi})
		}
	}
	return out
}
