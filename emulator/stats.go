package emulator

import (
	"sync"
	"sync/atomic"
)

// Stats counts what the emulator received.
type Stats struct {
	Calls    map[string]int64 `json:"calls"`    // per endpoint name, every request received (incl. faulted/429ed)
	BytesIn  int64            `json:"bytesIn"`  // request body bytes received on signed-URL PUTs
	BytesOut int64            `json:"bytesOut"` // response body bytes sent on signed-URL GETs
}

// stats is the live, concurrent version of Stats.
type stats struct {
	mu       sync.Mutex
	calls    map[string]int64 // guarded by mu
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
}

func newStats() *stats {
	return &stats{calls: make(map[string]int64)}
}

func (s *stats) count(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[endpoint]++
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Calls: make(map[string]int64, len(s.calls)),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load()}
	for k, v := range s.calls {
		out.Calls[k] = v
	}
	return out
}

func (s *stats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = make(map[string]int64)
	s.bytesIn.Store(0)
	s.bytesOut.Store(0)
}
