package emulator

import (
	"sync"
	"time"
)

// quota enforces at most limit OSS calls per client id in any window of
// the given length (a sliding log: a call is admitted when fewer than limit
// admitted calls happened in the preceding window). Rejected calls are not
// logged, so a client that backs off recovers as soon as old calls age out.
type quota struct {
	limit  int // <0 = unlimited
	window time.Duration
	clock  Clock

	mu    sync.Mutex
	calls map[string]*callLog // guarded by mu
}

// callLog holds the admission times of one client, oldest first.
type callLog struct {
	times []time.Time
}

func newQuota(limit int, window time.Duration, clock Clock) *quota {
	return &quota{limit: limit, window: window, clock: clock, calls: make(map[string]*callLog)}
}

// admit records a call by clientID, or reports how long until one would be
// admitted.
func (q *quota) admit(clientID string) (ok bool, retryAfter time.Duration) {
	if q.limit < 0 {
		return true, 0
	}
	now := q.clock.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	log := q.calls[clientID]
	if log == nil {
		log = &callLog{}
		q.calls[clientID] = log
	}
	log.expire(now.Add(-q.window))
	if len(log.times) >= q.limit {
		return false, log.times[0].Add(q.window).Sub(now)
	}
	log.times = append(log.times, now)
	return true, 0
}

// expire drops calls at or before cutoff.
func (l *callLog) expire(cutoff time.Time) {
	i := 0
	for i < len(l.times) && !l.times[i].After(cutoff) {
		i++
	}
	if i > 0 {
		l.times = append(l.times[:0], l.times[i:]...)
	}
}

// retryAfterSeconds rounds d up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
