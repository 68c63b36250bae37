// Package kafkabus is tocsin's bus on Apache Kafka: a producer that returns
// once the brokers acknowledged a batch, topic creation, and a consumer
// group that hands each assigned partition to its own consumer and commits
// only the offsets that consumer reports as done.
package kafkabus

import (
	"context"
	"time"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is one Kafka record. Producers fill Topic (or leave it empty for
// the producer's default topic), Key, Value and Headers, and Partition
// with Direct to choose the partition instead of the key; consumers
// receive every field but Direct.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Time      time.Time
	// Direct sends a produced message to Partition rather than to the
	// partition of its key.
	Direct bool
}

// Header returns the value of the first header named key, or nil.
func (m *Message) Header(key string) []byte {
	for i := range m.Headers {
		if m.Headers[i].Key == key {
			return m.Headers[i].Value
		}
	}
	return nil
}

// Offsets a PartitionHandler may return from Assign besides a real offset.
const (
	// FirstOffset starts at the oldest record the partition still holds.
	FirstOffset int64 = -2
	// LastOffset starts after the newest record.
	LastOffset int64 = -1
)

// PartitionHandler is told about every partition the group assigns to
// this member.
type PartitionHandler interface {
	// Assign is called when topic/partition is assigned to this member.
	// committed is the group's committed offset for it (the next offset to
	// read), or FirstOffset when the group never committed one. It returns
	// the consumer for the partition and the offset to start reading at,
	// which may be below committed (to replay records after a checkpoint).
	// An error ends the member's session; the group retries.
	Assign(ctx context.Context, topic string, partition int, committed int64) (PartitionConsumer, int64, error)
}

// PartitionConsumer consumes the records of one partition, in offset order.
// Its methods are called from one goroutine.
type PartitionConsumer interface {
	// Handle processes msgs and returns the offset to commit: the offset
	// after the last record whose effects are durable (produced to Kafka or
	// stored), or -1 to commit nothing new. The slice and the byte slices
	// in it are reused after Handle returns. An error stops consumption of
	// the partition; the group leaves and rejoins, and the records after
	// the last committed offset are delivered again.
	Handle(ctx context.Context, msgs []Message) (int64, error)
	// Revoke is called once when the partition is taken away, the session
	// ends or the group closes, after the last Handle. It may save state;
	// the consumer is not used again.
	Revoke(ctx context.Context)
}

// AssignmentObserver is implemented by a PartitionHandler that wants to
// know a generation's whole assignment before its partitions' Assign
// calls: Assigned gets, per topic, the partitions this member was given.
type AssignmentObserver interface {
	Assigned(ctx context.Context, partitions map[string][]int)
}

// Idler is implemented by a PartitionConsumer that acts while its
// partition has no new records: Idle is called, from Handle's goroutine,
// after each fetch that found nothing (at most every GroupOptions.MaxWait
// while the partition is caught up). It returns the offset to commit, as
// Handle does, or -1; an error is treated as Handle's.
type Idler interface {
	Idle(ctx context.Context) (int64, error)
}
