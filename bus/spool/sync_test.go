package spool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
)

var _ bus.Syncer = (*Buffer)(nil)

// syncAsync runs Sync in the background and returns its result channel.
func syncAsync(b *Buffer, ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- b.Sync(ctx) }()
	return done
}

// result waits for a Sync started by syncAsync, failing the test when it
// does not return within 10 seconds.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Sync did not return")
		return nil
	}
}

func TestSyncWaitsForTheSinkDownThenUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"memory", Options{MaxBatch: 8}},
		{"memory and disk", Options{MemoryRecords: 10, MaxBatch: 8, SegmentBytes: 4096, MaxBytes: 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.MaxBytes > 0 {
				tc.opts.Dir = t.TempDir()
			}
			s := &testSink{failing: true}
			b := openTest(t, tc.opts, s)
			b.publish(t, recs(0, 40, 64))
			if tc.opts.Dir != "" {
				require.Equal(t, int64(30), b.Stats().DiskRecords, "30 of 40 spilled to disk")
			}

			// While the sink is down, Sync waits and gives up with its
			// context, saying how much is left.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			err := b.Sync(ctx)
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorContains(t, err, "40 records not yet accepted by the sink")
			require.ErrorContains(t, err, "the sink has been failing since")
			require.Zero(t, s.count())

			done := syncAsync(b.Buffer, context.Background())
			select {
			case err := <-done:
				t.Fatalf("Sync returned %v with the sink down", err)
			case <-time.After(20 * time.Millisecond):
			}
			s.setFailing(false)
			require.NoError(t, result(t, done))
			// Everything published before the call was accepted when Sync
			// returned, not merely soon after.
			require.Equal(t, 40, s.count())
			requireSeq(t, s.records(), 0, 40, 64)
		})
	}
}

func TestSyncOnEmptyBufferReturnsAtOnce(t *testing.T) {
	s := &testSink{failing: true}
	b := openTest(t, Options{}, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, b.Sync(ctx), "nothing was published, so nothing is waited for")
}

// TestSyncIgnoresLaterRecords checks that a record published after Sync
// began does not hold it up: the sink takes record 0 once released and
// refuses record 1 throughout.
func TestSyncIgnoresLaterRecords(t *testing.T) {
	release := make(chan struct{})
	s := &testSink{failWhen: func(call int, batch []Record) bool {
		if seqOf(batch[0]) == 0 {
			<-release
			return false
		}
		return true
	}}
	b := openTest(t, Options{MaxBatch: 1}, s)
	b.publish(t, recs(0, 1, 16))
	done := syncAsync(b.Buffer, context.Background())
	// Give Sync time to take its mark before record 1 arrives; were it
	// late, it would wait for record 1 and the test would fail.
	time.Sleep(50 * time.Millisecond)
	b.publish(t, recs(1, 1, 16))
	close(release)
	require.NoError(t, result(t, done))
	requireSeq(t, s.records(), 0, 1, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.Sync(ctx), context.DeadlineExceeded, "a Sync begun after record 1 waits for it")
}

func TestSyncAfterCloseWithBacklog(t *testing.T) {
	dir := t.TempDir()
	s := &testSink{failing: true}
	b := openTest(t, Options{Dir: dir, MaxBytes: 1 << 20}, s)
	b.publish(t, recs(0, 5, 32))
	done := syncAsync(b.Buffer, context.Background())
	b.closeNow(t)
	err := result(t, done)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorContains(t, err, "closed with 5 of the records to sync undelivered")
	require.True(t, errors.Is(b.Sync(context.Background()), ErrClosed), "a later Sync says the same")
}
