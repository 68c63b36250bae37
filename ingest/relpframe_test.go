package ingest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// readFrames reads every frame of stream through a reader with the given
// limit, copying each frame's data, and returns the error that ended it.
func readFrames(r io.Reader, limit int) ([]relpFrame, error) {
	rd := newRELPReader(r, limit)
	var out []relpFrame
	for {
		f, err := rd.next()
		if err != nil {
			return out, err
		}
		f.data = append([]byte(nil), f.data...)
		out = append(out, f)
	}
}

func TestRELPReaderFrames(t *testing.T) {
	stream := relpFrameText(1, "open", librelpOpen) +
		relpFrameText(2, "syslog", "<13>Jan  5 10:00:00 h app: one") +
		relpFrameText(3, "syslog", strings.Repeat("y", 100)) +
		relpFrameText(4, "close", "") +
		"0 serverclose 0\n"
	for name, r := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) },
		"halves":   func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) },
	} {
		t.Run(name, func(t *testing.T) {
			frames, err := readFrames(r(), 96)
			require.ErrorIs(t, err, io.EOF)
			require.Len(t, frames, 5)
			require.Equal(t, relpFrame{txnr: 1, command: relpOpen, data: []byte(librelpOpen), declared: len(librelpOpen)}, frames[0])
			require.Equal(t, "<13>Jan  5 10:00:00 h app: one", string(frames[1].data))
			require.Equal(t, relpSyslog, frames[1].command)
			require.True(t, frames[2].cut)
			require.Equal(t, 100, frames[2].declared)
			require.Equal(t, strings.Repeat("y", 96), string(frames[2].data))
			require.Equal(t, relpFrame{txnr: 4, command: relpClose, data: []byte{}}, withEmptyData(frames[3]))
			require.Equal(t, relpServerClose, frames[4].command)
		})
	}
}

func withEmptyData(f relpFrame) relpFrame {
	if f.data == nil {
		f.data = []byte{}
	}
	return f
}

func TestRELPReaderEndings(t *testing.T) {
	_, err := readFrames(strings.NewReader("2 syslog 10 <13>a"), 1024)
	require.ErrorIs(t, err, errRELPTruncated)
	_, err = readFrames(strings.NewReader("2 sys"), 1024)
	require.ErrorIs(t, err, errRELPTruncated)
	frames, err := readFrames(strings.NewReader(""), 1024)
	require.ErrorIs(t, err, io.EOF)
	require.Empty(t, frames)
	_, err = readFrames(strings.NewReader("1 "+strings.Repeat("a", 33)+" 0\n"), 1024)
	require.EqualError(t, err, "invalid RELP frame: command longer than 32 letters")
	_, err = readFrames(strings.NewReader("1 open 0 \n"), 1024)
	require.EqualError(t, err, "invalid RELP frame: DATALEN is 0 but ' ' follows where the trailer (LF) belongs")
	_, err = readFrames(strings.NewReader("1  open 0\n"), 1024)
	require.EqualError(t, err, "invalid RELP frame: ' ' where the command belongs")
	boom := errors.New("boom")
	_, err = readFrames(iotest.ErrReader(boom), 1024)
	require.ErrorIs(t, err, boom)
}

// TestRELPReaderBufferShrinks checks that a long frame's buffer is given
// back once the frame is done.
func TestRELPReaderBufferShrinks(t *testing.T) {
	long := strings.Repeat("z", 200<<10)
	stream := relpFrameText(1, "syslog", long) + relpFrameText(2, "syslog", "short") + relpFrameText(3, "syslog", "short")
	rd := newRELPReader(iotest.HalfReader(strings.NewReader(stream)), 1<<20)
	f, err := rd.next()
	require.NoError(t, err)
	require.Len(t, f.data, len(long))
	require.Greater(t, len(rd.buf), relpInitialBuffer)
	for range 2 {
		f, err = rd.next()
		require.NoError(t, err)
		require.Equal(t, "short", string(f.data))
	}
	require.Equal(t, relpInitialBuffer, len(rd.buf))
}

func TestRELPReaderBuffered(t *testing.T) {
	stream := relpFrameText(1, "syslog", "abc") + relpFrameText(2, "syslog", "defgh")
	r := &chunks{parts: []string{stream[:len(stream)-3], stream[len(stream)-3:]}}
	rd := newRELPReader(r, 1024)
	_, err := rd.next()
	require.NoError(t, err)
	require.False(t, rd.buffered(), "the second frame is not all in yet")
	f, err := rd.next()
	require.NoError(t, err)
	require.Equal(t, "defgh", string(f.data))
	require.False(t, rd.buffered())

	rd = newRELPReader(strings.NewReader(stream+"junk"), 1024)
	_, err = rd.next()
	require.NoError(t, err)
	require.True(t, rd.buffered())
	_, err = rd.next()
	require.NoError(t, err)
	require.True(t, rd.buffered(), "bytes that cannot be a frame are ready to be reported")
}

// chunks returns its parts one read at a time.
type chunks struct{ parts []string }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if c.parts[0] == "" {
		c.parts = c.parts[1:]
	}
	return n, nil
}

// FuzzRELPReader reads arbitrary bytes as RELP frames. The reader must
// not panic, must keep its limits, and must read the same frames however
// the stream is chunked.
func FuzzRELPReader(f *testing.F) {
	for _, s := range []string{
		relpFrameText(1, "open", librelpOpen),
		relpFrameText(1, "open", librelpOpen) + relpFrameText(2, "syslog",
			"<13>1 2024-01-05T10:00:00Z web1 sshd 123 - - Failed password for root from 10.0.0.5 port 22 ssh2") +
			relpFrameText(3, "close", ""),
		"0 serverclose 0\n",
		"1 rsp 6 200 OK\n",
		relpFrameText(2, "syslog", strings.Repeat("x", 300)),
		"2 syslog 10000000 short\n",
		"1 open 0 \n",
		"1234567890 open 0\n",
		"1 syslog 3 <13>hello\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 128
		whole, errWhole := readFrames(bytes.NewReader(data), limit)
		bytewise, errBytes := readFrames(iotest.OneByteReader(bytes.NewReader(data)), limit)
		require.Equal(t, len(whole), len(bytewise), "frame count does not depend on chunking")
		for i := range whole {
			require.Equal(t, withEmptyData(whole[i]), withEmptyData(bytewise[i]), "frame %d", i)
		}
		require.Equal(t, errWhole == nil, errBytes == nil)
		var fe *relpFrameError
		require.Equal(t, errors.As(errWhole, &fe), errors.As(errBytes, &fe))
		for _, fr := range whole {
			require.LessOrEqual(t, fr.txnr, relpMaxTxnr)
			require.LessOrEqual(t, len(fr.data), limit)
			require.Equal(t, fr.declared > limit, fr.cut)
			if !fr.cut {
				require.Len(t, fr.data, fr.declared)
			}
			if fr.command == relpOpen {
				_, _ = parseOffers(fr.data)
			}
		}
	})
}
