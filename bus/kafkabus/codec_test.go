package kafkabus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/stretchr/testify/require"
)

// wireRoundTrip puts msgs through the producer's chunk and record set,
// kafka-go's record batch encoding (with codec) and decoding, and the
// consumer's partition reader, as a broker would pass them on.
func wireRoundTrip(t testing.TB, msgs []Message, attrs protocol.Attributes, maxBatch int) []Message {
	t.Helper()
	var c chunk
	for i := range msgs {
		c.add(&msgs[i])
	}
	var set recordSet
	set.reset([]segment{{c: &c, from: 0, to: len(c.recs)}})
	var wire bytes.Buffer
	_, err := (&protocol.RecordSet{Version: 2, Attributes: attrs, Records: &set}).WriteTo(&wire)
	require.NoError(t, err)

	var decoded protocol.RecordSet
	_, err = decoded.ReadFrom(bufio.NewReader(&wire))
	require.NoError(t, err)

	r := &partitionReader{topic: "t", partition: 3, cur: decoded.Records}
	var out []Message
	for r.cur != nil {
		batch, err := r.next(context.Background(), maxBatch)
		require.NoError(t, err)
		require.LessOrEqual(t, len(batch), maxBatch)
		for i := range batch {
			out = append(out, cloneMessage(&batch[i]))
		}
	}
	return out
}

func TestWireRoundTripKeepsNullsEmptiesAndHeaders(t *testing.T) {
	when := time.UnixMilli(1_700_000_000_123)
	msgs := []Message{
		// Empty before any byte was buffered: still empty, not null.
		{Key: []byte{}, Value: nil, Headers: []Header{{Key: "", Value: []byte{}}}, Time: when},
		{Key: []byte("k1"), Value: []byte("v1"), Time: when},
		{Key: nil, Value: []byte("no key")},
		{Key: []byte{}, Value: []byte{}},
		{Key: []byte("tomb"), Value: nil},
		{Key: []byte("h"), Value: []byte("x"), Headers: []Header{{Key: "type", Value: []byte("event")}, {Key: "null", Value: nil}, {Key: "empty", Value: []byte{}}}},
		{Key: bytes.Repeat([]byte("K"), 300), Value: bytes.Repeat([]byte("V"), 70000)},
	}
	for _, attrs := range []protocol.Attributes{0, protocol.Lz4, protocol.Zstd, protocol.Snappy, protocol.Gzip} {
		out := wireRoundTrip(t, msgs, attrs, 2)
		require.Len(t, out, len(msgs))
		for i, m := range out {
			require.Equal(t, int64(i), m.Offset)
			require.Equal(t, "t", m.Topic)
			require.Equal(t, 3, m.Partition)
			require.Equal(t, msgs[i].Key == nil, m.Key == nil, "null key %d", i)
			require.Equal(t, msgs[i].Value == nil, m.Value == nil, "null value %d", i)
			require.Equal(t, string(msgs[i].Key), string(m.Key))
			require.Equal(t, string(msgs[i].Value), string(m.Value))
			require.Len(t, m.Headers, len(msgs[i].Headers))
			for j, h := range m.Headers {
				require.Equal(t, msgs[i].Headers[j].Key, h.Key)
				require.Equal(t, msgs[i].Headers[j].Value == nil, h.Value == nil)
				require.Equal(t, string(msgs[i].Headers[j].Value), string(h.Value))
			}
		}
		require.Equal(t, when.UnixMilli(), out[0].Time.UnixMilli())
		require.Equal(t, []byte("event"), out[5].Header("type"))
		require.Nil(t, out[5].Header("missing"))
	}
}

func TestPartitionReaderSkipsRecordsBeforeOffset(t *testing.T) {
	recs := make([]kafka.Record, 5)
	for i := range recs {
		recs[i] = kafka.Record{Offset: int64(10 + i), Value: kafka.NewBytes([]byte{byte('a' + i)})}
	}
	r := &partitionReader{topic: "t", cur: kafka.NewRecordReader(recs...), offset: 12}
	got, err := r.next(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, int64(12), got[0].Offset)
	require.Equal(t, "c", string(got[0].Value))
	require.Equal(t, int64(15), r.offset)
}

func TestChunkSegmentsFollowBatchLimits(t *testing.T) {
	p := &Producer{opts: ProducerOptions{BatchSize: 3, BatchBytes: 1 << 20}}
	s := &sender{p: p}
	a, b := &chunk{call: &produceCall{}}, &chunk{call: &produceCall{}}
	for i := 0; i < 2; i++ {
		a.add(&Message{Value: []byte("a")})
	}
	for i := 0; i < 4; i++ {
		b.add(&Message{Value: []byte("b")})
	}
	s.pending = []*chunk{a, b}
	require.True(t, s.full())
	require.Equal(t, 3, s.build())
	require.Equal(t, []segment{{c: a, from: 0, to: 2}, {c: b, from: 0, to: 1}}, s.segs)

	p.opts.BatchSize = 100
	p.opts.BatchBytes = 2 * (recordOverhead + 1)
	require.Equal(t, 2, s.build(), "bytes limit")
	p.opts.BatchBytes = 1
	require.Equal(t, 1, s.build(), "one message always fits")
}

// FuzzWireRoundTrip builds messages from the input and checks that they
// come back from the consumer side as they went into the producer side.
func FuzzWireRoundTrip(f *testing.F) {
	f.Add([]byte{3, 0, 1, 2, 'a', 'b', 5, 'h', 'e', 'l', 'l', 'o', 0}, uint8(0), uint8(2))
	f.Add([]byte{0xff, 0xfe, 0, 0, 0, 1}, uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, codec uint8, maxBatch uint8) {
		var msgs []Message
		take := func() []byte {
			if len(data) == 0 {
				return nil
			}
			n := int(data[0])
			data = data[1:]
			if n == 0xff {
				return nil
			}
			n = min(n, len(data))
			b := data[:n:n]
			data = data[n:]
			return b
		}
		for len(data) > 0 && len(msgs) < 64 {
			m := Message{Key: take(), Value: take()}
			if len(data) > 0 && data[0]&1 == 1 {
				data = data[1:]
				m.Headers = []Header{{Key: string(take()), Value: take()}}
			}
			if len(data) >= 8 {
				ms := int64(binary.BigEndian.Uint64(data) % (1 << 41))
				data = data[8:]
				if ms > 0 {
					m.Time = time.UnixMilli(ms)
				}
			}
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			return
		}
		attrs := []protocol.Attributes{0, protocol.Lz4, protocol.Zstd, protocol.Snappy, protocol.Gzip}[codec%5]
		out := wireRoundTrip(t, msgs, attrs, int(maxBatch%8)+1)
		if len(out) != len(msgs) {
			t.Fatalf("%d messages in, %d out", len(msgs), len(out))
		}
		for i := range msgs {
			in, o := msgs[i], out[i]
			if (in.Key == nil) != (o.Key == nil) || !bytes.Equal(in.Key, o.Key) ||
				(in.Value == nil) != (o.Value == nil) || !bytes.Equal(in.Value, o.Value) ||
				len(in.Headers) != len(o.Headers) || o.Offset != int64(i) {
				t.Fatalf("message %d: in %+v out %+v", i, in, o)
			}
			for j := range in.Headers {
				if in.Headers[j].Key != o.Headers[j].Key || !bytes.Equal(in.Headers[j].Value, o.Headers[j].Value) ||
					(in.Headers[j].Value == nil) != (o.Headers[j].Value == nil) {
					t.Fatalf("message %d header %d: in %+v out %+v", i, j, in.Headers[j], o.Headers[j])
				}
			}
			if !in.Time.IsZero() && in.Time.UnixMilli() != o.Time.UnixMilli() {
				t.Fatalf("message %d: time %v became %v", i, in.Time, o.Time)
			}
		}
	})
}
