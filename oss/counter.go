package oss

import "sync"

// counter counts HTTP attempts per endpoint name.
type counter struct {
	mu    sync.Mutex
	calls map[string]int64 // guarded by mu
}

func (c *counter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = make(map[string]int64)
	}
	c.calls[op]++
}

func (c *counter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.calls))
	for op, n := range c.calls {
		out[op] = n
	}
	return out
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}

// Calls returns a snapshot of the HTTP attempts made per endpoint name (the
// Op* constants): every attempt counts, retries and 401 replays included.
// Calls held back by the limiter or rejected before sending do not.
func (c *Client) Calls() map[string]int64 { return c.calls.snapshot() }

// ResetCalls sets every call count back to zero.
func (c *Client) ResetCalls() { c.calls.reset() }
