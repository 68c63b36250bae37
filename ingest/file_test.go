package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func fixed() time.Time { return t0 }

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

const authLog = "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186\n" +
	"Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2\r\n" +
	"\n" +
	"not a syslog line\n" +
	"Dec 10 07:02:47 LabSZ sshd[24203]: Connection closed by 212.47.254.145 [preauth]"

func TestReadFilesPlainAndGzip(t *testing.T) {
	// Names lie about the format: detection goes by content.
	plain := writeFile(t, "auth.log.gz", []byte(authLog))
	packed := writeFile(t, "auth.log", gzipped(t, []byte(authLog)))

	results := map[string][]string{}
	for _, path := range []string{plain, packed} {
		tp := newTestPipeline(t, nil)
		prog, err := ReadFiles(context.Background(), tp.Pipeline, []string{path}, FileOptions{Received: fixed})
		require.NoError(t, err)
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, Progress{Path: path, BytesRead: st.Size(), BytesTotal: st.Size(), Lines: 5, FilesDone: 1, Files: 1}, prog)

		evs, fails := tp.sink.snapshot()
		require.Len(t, evs, 3)
		require.Len(t, fails, 1)
		require.Equal(t, "not a syslog line", string(fails[0].Raw))
		require.Equal(t, "file:"+path, fails[0].Source)
		require.Equal(t, "file:"+path, fails[0].Address)
		require.Equal(t, t0, fails[0].Received)
		// IDs follow the line numbers: the blank line 3 and failed line
		// 4 keep theirs.
		for i, seq := range []uint64{1, 2, 5} {
			require.Equal(t, EventID("file:"+path, seq), evs[i].ID)
			require.Equal(t, "file:"+path, evs[i].Log.Source.Address)
			require.Equal(t, "LabSZ", evs[i].Host.Name)
			require.Equal(t, t0, evs[i].Event.Created)
		}
		require.Equal(t, "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2", evs[1].Message, "CR dropped")
		require.Equal(t, 0, evs[1].Event.Count, "the tracker saw the invalid user line first")
		var originals []string
		for _, e := range evs {
			originals = append(originals, e.Event.Original)
		}
		results[path] = originals
	}
	require.Equal(t, results[plain], results[packed])
}

func TestReadFilesIDsAreDeterministic(t *testing.T) {
	path := writeFile(t, "a.log", []byte(authLog))
	read := func() []uint64 {
		tp := newTestPipeline(t, nil)
		_, err := ReadFiles(context.Background(), tp.Pipeline, []string{path}, FileOptions{})
		require.NoError(t, err)
		evs, _ := tp.sink.snapshot()
		ids := make([]uint64, len(evs))
		for i, e := range evs {
			ids[i] = e.ID
		}
		return ids
	}
	first := read()
	require.Len(t, first, 3)
	require.Equal(t, first, read())

	other := writeFile(t, "b.log", []byte(authLog))
	tp := newTestPipeline(t, nil)
	_, err := ReadFiles(context.Background(), tp.Pipeline, []string{other}, FileOptions{})
	require.NoError(t, err)
	evs, _ := tp.sink.snapshot()
	require.NotEqual(t, first[0], evs[0].ID, "another path gives other IDs")
}

func TestReadFilesLongLines(t *testing.T) {
	const limit = 300 << 10 // over the read buffer, so lines span reads
	at := "<13>Jan  1 00:00:00 h app: " + strings.Repeat("a", limit-27)
	over := "<13>Jan  1 00:00:00 h app: " + strings.Repeat("b", limit-26)
	small := "<13>Jan  1 00:00:00 h app: short"
	data := at + "\r\n" + over + "\n" + small + "\n" + strings.Repeat("c", 3*limit) + "\n" + small
	path := writeFile(t, "long.log", []byte(data))
	// Keep whole what the reader cut, to see where it cut.
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.MaxFailureRaw = 1 << 20 })
	prog, err := ReadFiles(context.Background(), tp.Pipeline, []string{path}, FileOptions{MaxLineSize: limit})
	require.NoError(t, err)
	require.Equal(t, int64(5), prog.Lines)
	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 3)
	require.Equal(t, limit, len(evs[0].Event.Original))
	require.Equal(t, []string{"short", "short"}, messages(evs[1:]))
	require.Len(t, fails, 2)
	require.Equal(t, ReasonTooLong, fails[0].Reason)
	require.True(t, over[:limit] == string(fails[0].Raw), "raw bytes differ")
	require.Equal(t, ReasonTooLong, fails[1].Reason)
	require.Equal(t, limit, len(fails[1].Raw))
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_oversize_total", "source", "file"))
}

func TestLineReaderShortLimit(t *testing.T) {
	// The limit below the read buffer: lines come back whole from one
	// read and are cut afterwards.
	lr := lineReader{r: bufio.NewReaderSize(strings.NewReader("abcd\nabcde\nabc\r\nabcdef"), 16), max: 4}
	var got []string
	var long []bool
	for {
		l, tooLong, err := lr.next()
		if err != nil {
			break
		}
		got = append(got, string(l))
		long = append(long, tooLong)
	}
	require.Equal(t, []string{"abcd", "abcd", "abc", "abcd"}, got)
	require.Equal(t, []bool{false, true, false, true}, long)
}

func TestReadFilesMissingFile(t *testing.T) {
	ok := writeFile(t, "ok.log", []byte(authLog))
	tp := newTestPipeline(t, nil)
	_, err := ReadFiles(context.Background(), tp.Pipeline, []string{ok, filepath.Join(t.TempDir(), "nope.log")}, FileOptions{})
	require.ErrorContains(t, err, "cannot read log file")
	require.ErrorContains(t, err, "nope.log")
	evs, fails := tp.sink.snapshot()
	require.Empty(t, evs, "nothing is read when a file is missing")
	require.Empty(t, fails)

	_, err = ReadFiles(context.Background(), tp.Pipeline, []string{t.TempDir()}, FileOptions{})
	require.ErrorContains(t, err, "is a directory")
}

func TestReadFilesBrokenGzip(t *testing.T) {
	packed := gzipped(t, []byte(strings.Repeat(authLog+"\n", 50)))
	path := writeFile(t, "cut.gz", packed[:len(packed)/2])
	tp := newTestPipeline(t, nil)
	_, err := ReadFiles(context.Background(), tp.Pipeline, []string{path}, FileOptions{})
	require.ErrorContains(t, err, "cannot read log file "+path)
}

func TestReadFilesProgress(t *testing.T) {
	line := sshLine("h", 1, "u") + "\n"
	data := []byte(strings.Repeat(line, (3<<20)/len(line)))
	a := writeFile(t, "a.log", data)
	b := writeFile(t, "b.log", gzipped(t, data))
	tp := newTestPipeline(t, nil)
	var calls []Progress
	prog, err := ReadFiles(context.Background(), tp.Pipeline, []string{a, b}, FileOptions{
		Progress: func(p Progress) { calls = append(calls, p) },
	})
	require.NoError(t, err)
	require.Greater(t, len(calls), 3)
	for i := 1; i < len(calls); i++ {
		require.GreaterOrEqual(t, calls[i].BytesRead, calls[i-1].BytesRead)
		require.GreaterOrEqual(t, calls[i].Lines, calls[i-1].Lines)
	}
	last := calls[len(calls)-1]
	require.Equal(t, prog, last)
	require.Equal(t, last.BytesTotal, last.BytesRead)
	require.Equal(t, 2, last.FilesDone)
	require.Equal(t, int64(2*len(data)/len(line)), last.Lines)
	evs, _ := tp.sink.snapshot()
	require.Equal(t, int(last.Lines), len(evs))
}

func TestReadFilesStopsWithContext(t *testing.T) {
	path := writeFile(t, "a.log", []byte(strings.Repeat(sshLine("h", 1, "u")+"\n", 10000)))
	tp := newTestPipeline(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ReadFiles(ctx, tp.Pipeline, []string{path}, FileOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestReadFilesLoghubOpenSSH(t *testing.T) {
	path := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	tp := newTestPipeline(t, nil)
	prog, err := ReadFiles(context.Background(), tp.Pipeline, []string{path}, FileOptions{Received: fixed})
	require.NoError(t, err)
	require.Equal(t, int64(2000), prog.Lines)
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails, "every OpenSSH line parses")
	require.Equal(t, 2000, len(evs))
	seen := map[uint64]bool{}
	for _, e := range evs {
		require.False(t, seen[e.ID], "duplicate event ID")
		seen[e.ID] = true
	}
	require.Equal(t, 2000.0, tp.metric(t, "tocsin_ingest_events_total", "source", "file"))
}

// FuzzLineReader checks the file line splitter against a plain split on
// LF: same number of lines, each the segment without its CR, cut to the
// limit and flagged when longer.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\nccc"), uint8(2), uint8(16))
	f.Add([]byte(strings.Repeat("x", 100)+"\n\n\r\n"), uint8(10), uint8(16))
	f.Add([]byte("\r\r\r\n"), uint8(1), uint8(20))
	f.Fuzz(func(t *testing.T, data []byte, lim, bufSize uint8) {
		limit := int(lim%64) + 1
		lr := lineReader{r: bufio.NewReaderSize(bytes.NewReader(data), int(bufSize%64)+16), max: limit}
		segments := bytes.Split(data, []byte("\n"))
		if len(segments[len(segments)-1]) == 0 {
			segments = segments[:len(segments)-1]
		}
		for i := 0; ; i++ {
			line, tooLong, err := lr.next()
			if err != nil {
				require.ErrorIs(t, err, io.EOF)
				require.Equal(t, len(segments), i)
				return
			}
			require.Less(t, i, len(segments))
			want := bytes.TrimSuffix(segments[i], []byte("\r"))
			require.LessOrEqual(t, len(line), limit)
			require.Equal(t, len(want) > limit, tooLong)
			require.Equal(t, want[:min(len(want), limit)], line)
		}
	})
}

func TestReadFilesWithBOM(t *testing.T) {
	// Notepad and PowerShell's Out-File start a UTF-8 file with a BOM.
	path := writeFile(t, "bom.log", []byte("\xef\xbb\xbf"+authLog))
	tp := newTestPipeline(t, nil)
	_, err := ReadFiles(context.Background(), tp.Pipeline, []string{path}, FileOptions{Received: fixed})
	require.NoError(t, err)
	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 3)
	require.Equal(t, "LabSZ", evs[0].Host.Name)
	require.Equal(t, "webmaster", evs[0].User.Name)
	require.Len(t, fails, 1)
	require.Equal(t, "not a syslog line", string(fails[0].Raw))
}
