package oss

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"
)

// newLimiter returns a token bucket that refills perMinute tokens a minute
// and holds a minute's worth, so the quota is spent in bursts rather than as
// an even drip. perMinute < 0 disables limiting (nil).
func newLimiter(perMinute int) *rate.Limiter {
	if perMinute < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(float64(perMinute)/60), perMinute)
}

// limit waits for the OSS call budget. A wait that cannot end before ctx's
// deadline fails at once with an error matching context.DeadlineExceeded.
func (c *Client) limit(ctx context.Context, op string) error {
	if c.limiter == nil {
		return nil
	}
	if err := c.limiter.Wait(ctx); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("oss: %s: rate limit wait exceeds the deadline: %w", op, context.DeadlineExceeded)
	}
	return nil
}
