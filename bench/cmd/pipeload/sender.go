package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// sender writes the corpus over TCP connections, newline-framed, at a
// fixed rate or as fast as the receiver reads. Connections claim chunks
// of line numbers from one counter, so together they send the stream in
// order of claim; a rate is kept by sleeping until a chunk's first line
// is due. A sender that fell behind (the receiver pushing back) sends at
// once and does not make up the difference later by bursting above the
// receiver's pace.
type sender struct {
	c     *corpus
	addr  string
	rate  float64 // lines per second; 0 for as fast as accepted
	chunk int

	start      time.Time
	next       atomic.Uint64 // next line number to claim
	sent       atomic.Uint64 // lines fully written
	bytes      atomic.Uint64
	writeErrs  atomic.Uint64
	lostLines  atomic.Uint64 // claimed but not written (a failed write)
	lastErrMsg atomic.Value  // string
}

// chunkFor picks how many lines one write carries: about 10 ms of
// traffic at the target rate, between 1 and 512.
func chunkFor(rate float64) int {
	if rate <= 0 {
		return 512
	}
	return max(1, min(512, int(rate/100)))
}

// run sends on one connection until ctx ends. It reconnects after a
// failed write, waiting 100 ms, doubling up to 2 s.
func (s *sender) run(ctx context.Context) error {
	var conn net.Conn
	unwatch := func() bool { return false }
	hangUp := func() {
		unwatch()
		conn.Close()
		conn = nil
	}
	defer func() {
		if conn != nil {
			hangUp()
		}
	}()
	buf := make([]byte, 0, s.chunk*256)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if conn == nil {
			c, err := dial(ctx, s.addr)
			if err != nil {
				s.fail(err)
				if !sleepCtx(ctx, backoff) {
					return nil
				}
				backoff = min(2*backoff, 2*time.Second)
				continue
			}
			conn = c
			// A write blocked by back-pressure ends when the run does.
			unwatch = context.AfterFunc(ctx, func() { c.Close() })
		}
		first := s.next.Add(uint64(s.chunk)) - uint64(s.chunk)
		if s.rate > 0 {
			due := s.start.Add(time.Duration(float64(first) / s.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 && !sleepCtx(ctx, d) {
				return nil
			}
		}
		st := makeStamps(time.Now())
		buf = buf[:0]
		for i := range uint64(s.chunk) {
			buf = s.c.appendLine(buf, first+i, &st)
		}
		n, err := conn.Write(buf)
		lines := uint64(bytes.Count(buf[:n], []byte{'\n'}))
		s.sent.Add(lines)
		s.bytes.Add(uint64(n))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.lostLines.Add(uint64(s.chunk) - lines)
			s.fail(err)
			hangUp()
			continue
		}
		backoff = 100 * time.Millisecond
	}
	return nil
}

func (s *sender) fail(err error) {
	s.writeErrs.Add(1)
	s.lastErrMsg.Store(err.Error())
}

func (s *sender) lastErr() string {
	v, _ := s.lastErrMsg.Load().(string)
	return v
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the syslog listener %s: %w", addr, err)
	}
	return c, nil
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
