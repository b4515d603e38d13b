package emulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sort"
	"sync"
)

// Listings are ordered by a sort key: by default an HMAC of the name under
// a per-server key (an arbitrary but stable order, like APS since 2018), or
// the name itself with Options.Ordered. A cursor (startAt) is the sort key
// of the last item returned, with a MAC binding it to the listing's scope
// (bucket, or client and region): opaque, tamper-evident, and stable under
// inserts and deletes between pages (the next page starts strictly after
// that position, wherever the neighbours went).

var errBadCursor = errors.New("invalid startAt")

const cursorMACLen = 16

// lister orders listings and issues cursors.
type lister struct {
	key     []byte
	ordered bool
	memo    *sortKeys
}

// sortKeys remembers the sort keys of names already listed: a listing of n keys
// in pages of 100 would otherwise compute n HMACs per page.
type sortKeys struct {
	mu sync.Mutex
	m  map[string][]byte // guarded by mu; by scope + "\x00" + name
}

// maxSortKeys bounds the memo; past it the memo starts again empty.
const maxSortKeys = 1 << 20

func newLister(signingKey []byte) func(ordered bool) *lister {
	m := hmac.New(sha256.New, signingKey)
	m.Write([]byte("listing"))
	key := m.Sum(nil)
	memo := &sortKeys{m: map[string][]byte{}}
	return func(ordered bool) *lister { return &lister{key: key, ordered: ordered, memo: memo} }
}

func (l *lister) sortKey(scope, name string) []byte {
	if l.ordered {
		return []byte(name)
	}
	id := scope + "\x00" + name
	l.memo.mu.Lock()
	k, ok := l.memo.m[id]
	l.memo.mu.Unlock()
	if ok {
		return k
	}
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(id))
	k = m.Sum(nil)
	l.memo.mu.Lock()
	if len(l.memo.m) >= maxSortKeys {
		clear(l.memo.m)
	}
	l.memo.m[id] = k
	l.memo.mu.Unlock()
	return k
}

func (l *lister) cursorMAC(scope string, pos []byte) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("cursor\x00" + scope + "\x00"))
	m.Write(pos)
	return m.Sum(nil)[:cursorMACLen]
}

func (l *lister) encodeCursor(scope string, pos []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), pos...), l.cursorMAC(scope, pos)...))
}

func (l *lister) decodeCursor(scope, cursor string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) < cursorMACLen {
		return nil, errBadCursor
	}
	pos, mac := raw[:len(raw)-cursorMACLen], raw[len(raw)-cursorMACLen:]
	if !hmac.Equal(mac, l.cursorMAC(scope, pos)) {
		return nil, errBadCursor
	}
	return pos, nil
}

// page returns the limit items after startAt (all from the start when
// startAt is "") and the cursor for the next page ("" when none remain).
// names[i] names items[i].
func page[T any](l *lister, scope string, names []string, items []T, startAt string, limit int) ([]T, string, error) {
	var after []byte
	if startAt != "" {
		var err error
		if after, err = l.decodeCursor(scope, startAt); err != nil {
			return nil, "", err
		}
	}
	type entry struct {
		key  []byte
		item T
	}
	entries := make([]entry, 0, len(items))
	for i, name := range names {
		k := l.sortKey(scope, name)
		if after == nil || bytes.Compare(k, after) > 0 {
			entries = append(entries, entry{k, items[i]})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return bytes.Compare(entries[i].key, entries[j].key) < 0 })
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		next = l.encodeCursor(scope, entries[limit-1].key)
	}
	out := make([]T, len(entries))
	for i, e := range entries {
		out[i] = e.item
	}
	return out, next, nil
}
