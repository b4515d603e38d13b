package emulator

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// The WAN profile makes loopback behave like a network: Options.Latency is
// slept before each request is handled, and Options.Bandwidth paces request
// body reads and response body writes with token buckets (one per
// direction). The buckets belong to the connection when the http.Server
// was built with ConnContext: s.ConnContext, and to the request otherwise
// (equivalent for HTTP/1.1, where a connection carries one request at a
// time).

type paceKey struct{}

// pace holds the token buckets of one connection (or request).
type pace struct {
	in, out *rate.Limiter
}

func newPace(bandwidth int64) *pace {
	burst := int(min(bandwidth, 32<<10))
	return &pace{
		in:  rate.NewLimiter(rate.Limit(bandwidth), burst),
		out: rate.NewLimiter(rate.Limit(bandwidth), burst),
	}
}

// ConnContext gives each connection its own bandwidth budget. Use it as
// http.Server.ConnContext when serving the emulator; without it the budget
// is per request.
func (s *Server) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	if s.opts.Bandwidth <= 0 {
		return ctx
	}
	return context.WithValue(ctx, paceKey{}, newPace(s.opts.Bandwidth))
}

// applyWAN sleeps the latency and wraps body and writer with pacing.
func (s *Server) applyWAN(w *responseWriter, r *http.Request) error {
	if err := sleepCtx(r.Context(), s.opts.Latency); err != nil {
		return err
	}
	if s.opts.Bandwidth <= 0 {
		return nil
	}
	p, _ := r.Context().Value(paceKey{}).(*pace)
	if p == nil {
		p = newPace(s.opts.Bandwidth)
	}
	w.pace = p.out
	if r.Body != nil {
		r.Body = &pacedBody{ReadCloser: r.Body, lim: p.in, ctx: r.Context()}
	}
	return nil
}

// sleepCtx sleeps d (real time) unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pacedBody reads at most the limiter's burst at a time and waits for the
// bytes it read.
type pacedBody struct {
	io.ReadCloser
	lim *rate.Limiter
	ctx context.Context
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if len(p) > b.lim.Burst() {
		p = p[:b.lim.Burst()]
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		if werr := b.lim.WaitN(b.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// pacedWrite writes p through lim in burst-sized chunks.
func pacedWrite(ctx context.Context, lim *rate.Limiter, w io.Writer, p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), lim.Burst())]
		if err := lim.WaitN(ctx, len(chunk)); err != nil {
			return written, err
		}
		n, err := w.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
