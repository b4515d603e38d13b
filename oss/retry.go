package oss

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	retry "github.com/sethvargo/go-retry"
)

const (
	// maxRetryAfter bounds how long one Retry-After can hold an operation.
	maxRetryAfter = 2 * time.Minute
	// jitterPercent spreads each backoff delay by ±20%.
	jitterPercent = 20
)

// errAttemptTimeout is the cause when an S3 attempt outlives AttemptTimeout
// before its response headers arrive.
var errAttemptTimeout = errors.New("oss: attempt timed out")

// finalError marks an error that must not be retried whatever it wraps: a
// token failure that already went through its own retries, a limiter wait
// beyond the deadline, a request that cannot be built.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

func final(err error) error {
	var fe *finalError
	if err == nil || errors.As(err, &fe) {
		return err
	}
	return &finalError{err}
}

// withRetry runs attempt until it succeeds, fails in a way that is not
// retryable, or the operation's fresh backoff gives up; n counts attempts
// from 1. It returns the last error.
func (c *Client) withRetry(ctx context.Context, op, key string, attempt func(ctx context.Context, n int) error) error {
	var (
		n       int
		hint    time.Duration // Retry-After of the last failure
		lastErr error
	)
	b := c.backoff(ctx, op, key, &hint, &lastErr)
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		n++
		err := attempt(ctx, n)
		if err == nil || ctx.Err() != nil {
			return err
		}
		ok, after := retryable(err)
		if !ok {
			return err
		}
		hint, lastErr = after, err
		return retry.RetryableError(err)
	})
	if fe, ok := err.(*finalError); ok {
		return fe.err
	}
	return err
}

// backoff builds one operation's backoff: exponential from BaseDelay,
// ±20% jitter, capped at MaxDelay, MaxAttempts-1 retries. A Retry-After
// lengthens the next wait (up to maxRetryAfter, beyond MaxDelay if need be).
// A wait that would outlast ctx's deadline ends the operation at once with
// the last error.
func (c *Client) backoff(ctx context.Context, op, key string, hint *time.Duration, lastErr *error) retry.Backoff {
	p := c.opts.Retry
	next := retry.NewExponential(p.BaseDelay)
	next = retry.WithJitterPercent(jitterPercent, next)
	next = retry.WithCappedDuration(p.MaxDelay, next)
	next = retry.WithMaxRetries(uint64(max(p.MaxAttempts-1, 0)), next)
	return retry.BackoffFunc(func() (time.Duration, bool) {
		wait, stop := next.Next()
		if stop {
			return 0, true
		}
		wait = max(wait, min(*hint, maxRetryAfter))
		*hint = 0
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return 0, true
		}
		c.log.InfoContext(ctx, "oss retry", "op", op, "key", key, "wait", wait, "err", *lastErr)
		if c.waitHook != nil {
			wait = c.waitHook(op, wait)
		}
		return wait, false
	})
}

// retryable classifies a failed attempt: 1xx, 408, 429 and 5xx answers,
// resets, EOFs and timeouts are worth another attempt; other answers are
// not. It also returns the server's Retry-After.
func retryable(err error) (bool, time.Duration) {
	var fe *finalError
	if errors.As(err, &fe) {
		return false, 0
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return retryableStatus(ae.Status), ae.RetryAfter
	}
	return transient(err), 0
}

// transient reports network failures that a new attempt may not meet.
func transient(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errAttemptTimeout):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
