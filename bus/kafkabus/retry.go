package kafkabus

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// backoff is a capped exponential delay with jitter. Not safe for
// concurrent use.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the delay before the next attempt: min, then doubling up to
// max, each spread by up to a quarter so that clients do not retry in step.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur *= 2; b.cur > b.max {
		b.cur = b.max
	}
	return b.cur - time.Duration(rand.Int64N(int64(b.cur)/4+1))
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx ends; it reports whether the full delay
// passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// outage logs a failing dependency once when it starts failing and once
// when it works again, with the number of failed attempts in between,
// instead of once per retry. Safe for concurrent use.
type outage struct {
	log  zerolog.Logger
	what string // "producing", "consumer group", ...

	mu       sync.Mutex
	failures int
	since    time.Time
}

// fail records a failed attempt; only the first of an outage is logged.
func (o *outage) fail(err error, hint string) {
	o.mu.Lock()
	o.failures++
	first := o.failures == 1
	if first {
		o.since = time.Now()
	}
	o.mu.Unlock()
	if first {
		o.log.Warn().Err(err).Str("what", o.what).Msg(hint)
	}
}

// ok records a success and logs the end of an outage.
func (o *outage) ok() {
	o.mu.Lock()
	n, since := o.failures, o.since
	o.failures = 0
	o.mu.Unlock()
	if n > 0 {
		o.log.Info().Str("what", o.what).Int("failed_attempts", n).Dur("outage", time.Since(since)).Msg("kafka works again")
	}
}

// transient reports whether err may go away by itself: broker restarts,
// leader elections, network trouble, timeouts.
func transient(err error) bool {
	if err == nil {
		return false
	}
	var ke kafka.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafka.UnknownTopicOrPartition, kafka.NotCoordinatorForGroup, kafka.GroupCoordinatorNotAvailable,
			kafka.GroupLoadInProgress, kafka.RebalanceInProgress, kafka.BrokerNotAvailable,
			kafka.NotEnoughReplicas, kafka.NotEnoughReplicasAfterAppend, kafka.KafkaStorageError:
			return true
		}
		return ke.Temporary()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// kafka-go reports a topic, partition or leader missing from its cached
	// cluster layout with errors of its own; a metadata refresh cures them.
	return errors.Is(err, protocol.ErrNoTopic) || errors.Is(err, protocol.ErrNoPartition) || errors.Is(err, protocol.ErrNoLeader)
}
