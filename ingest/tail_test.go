package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// newTail returns a tailer on a pipeline whose parser keeps each line as
// the event's Original. Tests drive it with poll and a clock of their own.
func newTail(t *testing.T, tp *testPipeline, opts TailOptions) *Tailer {
	t.Helper()
	if tp.parser != (nopParser{}) {
		tp.parser = nopParser{}
	}
	tl, err := NewTailer(tp.Pipeline, opts)
	require.NoError(t, err)
	t.Cleanup(tl.closeAll)
	return tl
}

func appendTo(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	_, err = f.WriteString(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// tailed returns the Originals published so far.
func tailed(tp *testPipeline) []string {
	evs, _ := tp.sink.snapshot()
	return originals(evs)
}

func TestTailAppendFromEnd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	appendTo(t, path, "old 1\nold 2\n")
	tp := newTestPipeline(t, nil)
	tl := newTail(t, tp, TailOptions{Paths: []string{path}})
	ctx, now := context.Background(), time.Now()

	tl.poll(ctx, now, false)
	require.Empty(t, tailed(tp), "a file never seen is read from its end")
	appendTo(t, path, "new 1\r\nnew 2\n\nnew 4\n")
	tl.poll(ctx, now, false)
	require.Equal(t, []string{"new 1", "new 2", "new 4"}, tailed(tp))

	evs, _ := tp.sink.snapshot()
	tf := tl.order[0]
	name := tf.streamName()
	// IDs come from the file's identity and each line's byte offset.
	require.Equal(t, EventID(name, 12+1), evs[0].ID)
	require.Equal(t, EventID(name, 19+1), evs[1].ID)
	require.Equal(t, EventID(name, 26+1), evs[2].ID)
	require.Equal(t, "file:"+path, evs[0].Log.Source.Address)
	require.Equal(t, int64(32), tf.offset)
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_blank_lines_total", "source", "tail"))
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_tail_files"))
	require.Equal(t, float64(0), tp.metric(t, "tocsin_ingest_tail_lag_bytes"))
}

func TestTailFromStartAndUnfinishedLastLine(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendTo(t, a, "a1\na2\n")
	appendTo(t, b, "b1\nb2 unfinish")
	tp := newTestPipeline(t, nil)
	tl := newTail(t, tp, TailOptions{Paths: []string{a}, FromStart: true})
	tl.poll(context.Background(), time.Now(), false)
	require.Equal(t, []string{"a1", "a2"}, tailed(tp))

	// From the end, a file whose last line is unfinished is read from the
	// start of that line.
	tp2 := newTestPipeline(t, nil)
	tl2 := newTail(t, tp2, TailOptions{Paths: []string{b}})
	now := time.Now()
	tl2.poll(context.Background(), now, false)
	appendTo(t, b, "ed\n")
	tl2.poll(context.Background(), now, false)
	require.Equal(t, []string{"b2 unfinished"}, tailed(tp2))
}

func TestTailPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "")
	tp := newTestPipeline(t, nil)
	delay := 2 * time.Second
	tl := newTail(t, tp, TailOptions{Paths: []string{path}, PartialLineDelay: delay})
	ctx, now := context.Background(), time.Now()
	tl.poll(ctx, now, false)

	appendTo(t, path, "abc")
	tl.poll(ctx, now, false)
	tl.poll(ctx, now.Add(delay/2), false)
	require.Empty(t, tailed(tp), "held while the newline may still come")
	appendTo(t, path, "def\nxyz")
	tl.poll(ctx, now.Add(delay/2), false)
	require.Equal(t, []string{"abcdef"}, tailed(tp))
	require.Equal(t, int64(7), tl.order[0].offset, "the held line is not saved as read")

	tl.poll(ctx, now.Add(delay), false)
	require.Equal(t, []string{"abcdef"}, tailed(tp))
	tl.poll(ctx, now.Add(delay/2+delay), false)
	require.Equal(t, []string{"abcdef", "xyz"}, tailed(tp), "taken as it is after the delay")
	require.Equal(t, int64(10), tl.order[0].offset)
	appendTo(t, path, "\nnext\n")
	tl.poll(ctx, now.Add(2*delay), false)
	require.Equal(t, []string{"abcdef", "xyz", "next"}, tailed(tp), "the late newline ends an empty line")
}

func TestTailLongLineIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "")
	tp := newTestPipeline(t, nil)
	tl := newTail(t, tp, TailOptions{Paths: []string{path}, MaxLineSize: 1000})
	ctx, now := context.Background(), time.Now()
	tl.poll(ctx, now, false)
	long := strings.Repeat("0123456789", 20000) // 200,000 bytes: several read chunks
	appendTo(t, path, "before\n"+long+"\r\nafter\n"+long[:1000]+"\n")
	tl.poll(ctx, now, false)
	evs, fails := tp.sink.snapshot()
	require.Equal(t, []string{"before", "after", long[:1000]}, originals(evs), "a line of exactly the limit is whole")
	require.Len(t, fails, 1)
	require.Equal(t, ReasonTooLong, fails[0].Reason)
	require.Equal(t, long[:1000], string(fails[0].Raw))
	require.Contains(t, fails[0].Detail, "line of 200001 bytes") // the CR counts
	require.Equal(t, "tail", fails[0].Source)
	require.Equal(t, "file:"+path, fails[0].Address)
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_oversize_total", "source", "tail"))
}

func TestTailRenameRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	appendTo(t, path, "")
	tp := newTestPipeline(t, nil)
	delay := time.Second
	tl := newTail(t, tp, TailOptions{Paths: []string{path}, PartialLineDelay: delay})
	ctx, now := context.Background(), time.Now()
	tl.poll(ctx, now, false)

	appendTo(t, path, "old 1\n")
	tl.poll(ctx, now, false)
	appendTo(t, path, "old 2\n")
	require.NoError(t, os.Rename(path, path+".1"))
	appendTo(t, path, "new 1\nnew 2\n")
	// The daemon writes once more to the old file before it reopens.
	appendTo(t, path+".1", "old 3\n")
	tl.poll(ctx, now, false)
	require.Equal(t, []string{"old 1", "old 2", "old 3", "new 1", "new 2"}, tailed(tp),
		"the old file is finished, then the new one read from its start")
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_tail_rotations_total", "how", "rename"))
	require.Len(t, tl.order, 2)

	appendTo(t, path+".1", "old 4\n")
	appendTo(t, path, "new 3\n")
	tl.poll(ctx, now.Add(delay/2), false)
	require.Equal(t, []string{"old 1", "old 2", "old 3", "new 1", "new 2", "old 4", "new 3"}, tailed(tp))
	tl.poll(ctx, now.Add(2*delay), false)
	require.Len(t, tl.order, 1, "the old file is closed once quiet")
	require.Equal(t, path, tl.order[0].path)
	require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_tail_files"))
}

func TestTailCopyTruncate(t *testing.T) {
	for _, tc := range []struct {
		name, after string
	}{
		{"shorter after", "n1\n"},
		// Written past the old size before the poll: only the changed
		// first bytes tell.
		{"longer after", "a new first line, longer than all the old ones together\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			appendTo(t, path, "")
			tp := newTestPipeline(t, nil)
			tl := newTail(t, tp, TailOptions{Paths: []string{path}})
			ctx, now := context.Background(), time.Now()
			tl.poll(ctx, now, false)
			appendTo(t, path, "o1\no2\no3\n")
			tl.poll(ctx, now, false)
			require.NoError(t, os.Truncate(path, 0))
			appendTo(t, path, tc.after)
			tl.poll(ctx, now.Add(time.Millisecond), false)
			evs, _ := tp.sink.snapshot()
			require.Equal(t, []string{"o1", "o2", "o3", strings.TrimSuffix(tc.after, "\n")}, originals(evs))
			require.NotEqual(t, evs[0].ID, evs[3].ID, "the new first line does not take the old one's ID")
			require.Equal(t, float64(1), tp.metric(t, "tocsin_ingest_tail_rotations_total", "how", "truncate"))
			require.Equal(t, int64(len(tc.after)), tl.order[0].offset)
		})
	}
}

func TestTailGlobPicksUpNewFiles(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "a.log"), "a1\n")
	appendTo(t, filepath.Join(dir, "skip.txt"), "no\n")
	tp := newTestPipeline(t, nil)
	tl := newTail(t, tp, TailOptions{Paths: []string{filepath.Join(dir, "*.log*")}})
	ctx, now := context.Background(), time.Now()
	tl.poll(ctx, now, false)
	require.Empty(t, tailed(tp))
	appendTo(t, filepath.Join(dir, "b.log"), "b1\nb2\n")
	appendTo(t, filepath.Join(dir, "c.log.gz"), "\x1f\x8b compressed, skipped\n")
	tl.poll(ctx, now, false)
	require.Equal(t, []string{"b1", "b2"}, tailed(tp), "a file that appears later is read from its start")
	require.Len(t, tl.order, 2)
}

// failingSync makes every Sync fail, as a Kafka buffer that cannot reach
// the broker in time.
type failingSync struct{ bus.Publisher[*schemas.Event] }

func (failingSync) Sync(context.Context) error { return errors.New("broker unreachable") }

func TestTailRestartRereadsUnsyncedLinesWithSameIDs(t *testing.T) {
	dir := t.TempDir()
	path, state := filepath.Join(dir, "auth.log"), filepath.Join(dir, "tail.state")
	appendTo(t, path, "")
	ctx, now := context.Background(), time.Now()

	tpA := newTestPipeline(t, func(o *PipelineOptions) { o.Events = failingSync{o.Events} })
	a := newTail(t, tpA, TailOptions{Paths: []string{path}, StateFile: state})
	a.poll(ctx, now, false)
	appendTo(t, path, "l1\nl2\n")
	a.poll(ctx, now, false)
	first, _ := tpA.sink.snapshot()
	require.Len(t, first, 2, "published, but never confirmed safe")
	require.Equal(t, int64(0), a.order[0].offset)
	require.Contains(t, tpA.logs.String(), "broker unreachable")
	a.closeAll() // a crash: the state file says offset 0

	tpB := newTestPipeline(t, nil)
	b := newTail(t, tpB, TailOptions{Paths: []string{path}, StateFile: state})
	b.poll(ctx, now, false)
	again, _ := tpB.sink.snapshot()
	require.Equal(t, originals(first), originals(again))
	require.Equal(t, first[0].ID, again[0].ID, "a line read again keeps its event ID")
	require.Equal(t, first[1].ID, again[1].ID)
}

func TestTailRestartNoLineLostOrRepeated(t *testing.T) {
	dir := t.TempDir()
	path, state := filepath.Join(dir, "auth.log"), filepath.Join(dir, "state", "tail.json")
	appendTo(t, path, "")
	tp := newTestPipeline(t, nil)
	tp.parser = nopParser{}
	opts := TailOptions{Paths: []string{path}, StateFile: state, PollInterval: 5 * time.Millisecond,
		PartialLineDelay: 50 * time.Millisecond}
	n := 0
	write := func(k int) {
		var sb strings.Builder
		for range k {
			n++
			sb.WriteString("line " + strconv.Itoa(n) + "\n")
		}
		appendTo(t, path, sb.String())
	}
	run := func(during func()) {
		tl, err := NewTailer(tp.Pipeline, opts)
		require.NoError(t, err)
		require.NoError(t, tl.Start(context.Background()))
		during()
		require.NoError(t, tl.Stop(context.Background()))
	}
	wait := func(total int) {
		require.Eventually(t, func() bool { return len(tailed(tp)) >= total }, 10*time.Second, time.Millisecond)
	}

	run(func() {
		for range 10 {
			write(100)
			time.Sleep(2 * time.Millisecond)
		}
		wait(n)
	})
	write(250) // while tocsin is down
	run(func() {
		write(250)
		wait(n)
		// Stopped in the middle of a line: it is read whole after the
		// restart.
		n++
		appendTo(t, path, "line "+strconv.Itoa(n))
	})
	appendTo(t, path, "\n")
	// Down again: more lines, then a rotation, then lines in the new file.
	write(100)
	require.NoError(t, os.Rename(path, path+".1"))
	write(100)
	run(func() { wait(n) })

	got := tailed(tp)
	require.Len(t, got, n, "every line once")
	seen := map[string]bool{}
	for _, l := range got {
		require.False(t, seen[l], "repeated: %s", l)
		seen[l] = true
	}
	for i := 1; i <= n; i++ {
		require.True(t, seen["line "+strconv.Itoa(i)], "lost: line %d", i)
	}
	var st tailState
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &st))
	require.Equal(t, tailStateVersion, st.Version)
	leftovers, err := filepath.Glob(state + ".*.tmp")
	require.NoError(t, err)
	require.Empty(t, leftovers, "the state file is replaced by rename")
}

func TestTailStateFingerprintSpotsInodeReuse(t *testing.T) {
	dir := t.TempDir()
	path, state := filepath.Join(dir, "auth.log"), filepath.Join(dir, "tail.state")
	appendTo(t, path, "fresh content, never read\nsecond\n")
	st, err := os.Stat(path)
	require.NoError(t, err)
	key := keyOf(path, st)
	// The state file knows this device and inode, with another file's
	// first bytes and a position within them.
	require.NoError(t, writeTailState(state, []tailEntry{{Path: path, Dev: key.dev, Inode: key.ino, Offset: 20,
		Birth: 1, FingerprintLen: 9, Fingerprint: "1234"}}))
	tp := newTestPipeline(t, nil)
	tl := newTail(t, tp, TailOptions{Paths: []string{path}, StateFile: state})
	tl.poll(context.Background(), time.Now(), false)
	require.Equal(t, []string{"fresh content, never read", "second"}, tailed(tp),
		"a new file under a known path is read from its start, not from the old file's position")
}

func TestTailUnreadableStateIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	path, state := filepath.Join(dir, "auth.log"), filepath.Join(dir, "tail.state")
	appendTo(t, path, "x\n")
	require.NoError(t, os.WriteFile(state, []byte("{not json"), 0o600))
	tp := newTestPipeline(t, nil)
	tl := newTail(t, tp, TailOptions{Paths: []string{path}, StateFile: state})
	require.FileExists(t, state+".unreadable")
	require.Contains(t, tp.logs.String(), "cannot read the tail state file")
	tl.poll(context.Background(), time.Now(), false)
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	require.Contains(t, string(data), `"offset": 2`)
}

func TestTailOptionsChecked(t *testing.T) {
	tp := newTestPipeline(t, nil)
	_, err := NewTailer(tp.Pipeline, TailOptions{})
	require.ErrorContains(t, err, "no paths to follow")
	_, err = NewTailer(tp.Pipeline, TailOptions{Paths: []string{"/var/log/[x", ""}, MaxLineSize: -1})
	require.ErrorContains(t, err, `path "/var/log/[x" is not a valid pattern`)
	require.ErrorContains(t, err, "a path is empty")
	require.ErrorContains(t, err, "max line size -1 is negative")
}

func TestLastLineStart(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range []struct {
		data string
		max  int
		want int64
	}{
		{"", 100, 0},
		{"a\nb\n", 100, 4},
		{"a\nbc", 100, 2},
		{"abc", 100, 0},
		{"abc", 2, 3},
		{strings.Repeat("x", 70000) + "\n" + strings.Repeat("y", 70000), 100000, 70001},
	} {
		p := filepath.Join(dir, fmt.Sprint(i))
		require.NoError(t, os.WriteFile(p, []byte(tc.data), 0o600))
		f, err := os.Open(p)
		require.NoError(t, err)
		require.Equal(t, tc.want, lastLineStart(f, int64(len(tc.data)), tc.max), "%d", i)
		require.NoError(t, f.Close())
	}
	require.True(t, slices.Contains(compressedSuffixes, ".gz"))
}

// FuzzTailLines writes data to a followed file in pieces, polling after
// each, with a tiny read buffer so that lines cross reads, and checks
// that the lines published are data's lines: cut at the limit when too
// long, a trailing CR dropped, blank ones skipped, the unfinished last
// one taken after the delay.
func FuzzTailLines(f *testing.F) {
	f.Add([]byte("a\r\nbb\n\nccc"), uint8(3), uint8(5))
	f.Add([]byte("0123456789abcdef\nx\r\r\n"), uint8(1), uint8(4))
	f.Add([]byte("\n\n\xef\xbb\xbf\n  \t\n"), uint8(2), uint8(8))
	f.Fuzz(func(t *testing.T, data []byte, piece, maxLine uint8) {
		if piece == 0 || maxLine == 0 || len(data) > 4096 {
			return
		}
		// At most 64 writes and polls, to keep each run short.
		checkTailLines(t, data, max(int(piece), len(data)/64+1), int(maxLine))
	})
}

// checkTailLines is the body of FuzzTailLines.
func checkTailLines(t *testing.T, data []byte, piece, maxLine int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.log")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	tp := newTestPipeline(t, nil)
	tl := newTail(t, tp, TailOptions{Paths: []string{path}, MaxLineSize: maxLine, PartialLineDelay: time.Second})
	tl.buf = make([]byte, 7)
	ctx, now := context.Background(), time.Now()
	tl.poll(ctx, now, false)
	for rest := data; len(rest) > 0; {
		k := min(len(rest), piece)
		appendTo(t, path, string(rest[:k]))
		rest = rest[k:]
		tl.poll(ctx, now, false)
	}
	tl.poll(ctx, now.Add(time.Second), false)

	wantEvents, wantFails := []string{}, []string{}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if len(l) > maxLine {
			wantFails = append(wantFails, l[:maxLine])
			continue
		}
		l = strings.TrimSuffix(l, "\r")
		if !blank([]byte(l)) {
			wantEvents = append(wantEvents, l)
		}
	}
	evs, fails := tp.sink.snapshot()
	gotFails := make([]string, len(fails))
	for i, fl := range fails {
		gotFails[i] = string(fl.Raw)
	}
	require.Equal(t, wantEvents, append([]string{}, originals(evs)...))
	require.Equal(t, wantFails, gotFails)
	require.Equal(t, int64(len(data)), tl.order[0].offset)
}
