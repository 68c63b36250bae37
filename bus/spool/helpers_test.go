package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// errDown is what a failing test sink returns.
var errDown = errors.New("sink down")

// testSink records what it accepted. While failing, it returns errDown
// without accepting anything (a clean failure).
type testSink struct {
	mu      sync.Mutex
	got     []Record
	calls   int
	batches [][]Record // every call's batch, failed ones included, when keepCalls
	failing bool
	// failWhen, when set, decides per call whether to fail.
	failWhen  func(call int, batch []Record) bool
	keepCalls bool
}

func (s *testSink) sink(_ context.Context, recs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.keepCalls {
		s.batches = append(s.batches, cloneRecords(recs))
	}
	if s.failing || (s.failWhen != nil && s.failWhen(s.calls, recs)) {
		return errDown
	}
	s.got = append(s.got, cloneRecords(recs)...)
	return nil
}

func (s *testSink) setFailing(v bool) {
	s.mu.Lock()
	s.failing = v
	s.mu.Unlock()
}

func (s *testSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func (s *testSink) records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneRecords(s.got)
}

func (s *testSink) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func cloneRecords(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = Record{Key: clone(r.Key), Value: clone(r.Value)}
	}
	return out
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// rec builds record i: key "k<i%7>", value i as 8 bytes then padding up
// to size bytes.
func rec(i, size int) Record {
	v := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(v, uint64(i))
	for j := 8; j < len(v); j++ {
		v[j] = byte('a' + (i+j)%26)
	}
	return Record{Key: []byte{'k', byte('0' + i%7)}, Value: v}
}

func recs(from, n, size int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = rec(from+i, size)
	}
	return out
}

func seqOf(r Record) int { return int(binary.BigEndian.Uint64(r.Value)) }

// requireSeq asserts got holds records want[0]..want[n-1] exactly, in
// order, with the bytes rec gives them.
func requireSeq(t testing.TB, got []Record, from, n, size int) {
	t.Helper()
	require.Len(t, got, n, "record count")
	for i, r := range got {
		require.Equal(t, rec(from+i, size), r, "record %d", i)
	}
}

type testBuffer struct {
	*Buffer
	sink *testSink
	reg  *prometheus.Registry
}

func openTest(t testing.TB, opts Options, s *testSink) *testBuffer {
	t.Helper()
	if s == nil {
		s = &testSink{}
	}
	reg := prometheus.NewRegistry()
	opts.Sink = s.sink
	opts.Registerer = reg
	if opts.RetryMin == 0 {
		opts.RetryMin = time.Millisecond
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 5 * time.Millisecond
	}
	b, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Tests that need Close to deliver call it themselves.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_ = b.Close(ctx)
	})
	return &testBuffer{Buffer: b, sink: s, reg: reg}
}

func (b *testBuffer) publish(t testing.TB, rs []Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, b.Publish(ctx, rs))
}

// closeNow closes giving up on delivery at once.
func (b *testBuffer) closeNow(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, b.Close(ctx))
}

func (b *testBuffer) corrupt() float64 { return value(b.met.corrupt) }

// value reads a gauge's or counter's current value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// series counts the series of a metric family in reg.
func series(t testing.TB, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// crash stops the buffer as a killed process would leave it: the memory
// tier is dropped, nothing is synced, and files stay as written.
func (b *testBuffer) crash(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	b.closed = true
	close(b.closing)
	b.mu.Unlock()
	b.cancelRun()
	<-b.delivDone
	if b.syncStop != nil {
		close(b.syncStop)
		<-b.syncDone
	}
	b.mu.Lock()
	if d := b.disk; d != nil {
		if d.w != nil {
			require.NoError(t, d.w.Close())
			d.w, d.wseg = nil, nil
		}
		d.release()
	}
	b.mu.Unlock()
	close(b.closeDone)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, time.Millisecond, what)
}

// segFiles lists the segment files in dir with their sizes.
func segFiles(t testing.TB, dir string) map[string]int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), segSuffix) {
			fi, err := e.Info()
			if errors.Is(err, os.ErrNotExist) {
				continue // delivered and deleted since ReadDir
			}
			require.NoError(t, err)
			out[e.Name()] = fi.Size()
		}
	}
	return out
}

func segBytesOnDisk(t testing.TB, dir string) int64 {
	var n int64
	for _, s := range segFiles(t, dir) {
		n += s
	}
	return n
}

// onlySeg returns the path of the one segment file in dir.
func onlySeg(t testing.TB, dir string) string {
	t.Helper()
	files := segFiles(t, dir)
	require.Len(t, files, 1)
	for name := range files {
		return filepath.Join(dir, name)
	}
	return ""
}
