package framing

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// got is a frame copied out of the Framer's buffer.
type got struct {
	Data     string
	Kind     Kind
	Octet    bool
	Declared int
}

var errTick = errors.New("tick")

// collect reads every frame of r, retrying after errTick the way a listener
// retries after a read deadline.
func collect(t testing.TB, r io.Reader, limit int) []got {
	t.Helper()
	f := New(r, limit)
	var out []got
	for range 1 << 20 {
		fr, err := f.Next()
		if errors.Is(err, errTick) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		require.LessOrEqual(t, len(fr.Data), limit, "frame longer than the limit")
		out = append(out, got{string(fr.Data), fr.Kind, fr.Octet, fr.Declared})
	}
	t.Fatal("framer did not reach the end of the stream")
	return nil
}

// ticker returns errTick before every other read, as a deadline would.
type ticker struct {
	r    io.Reader
	tick bool
}

func (t *ticker) Read(p []byte) (int, error) {
	t.tick = !t.tick
	if t.tick {
		return 0, errTick
	}
	return t.r.Read(p)
}

// readers returns the ways a test stream is fed to the framer: whole, one
// byte per read, with data and EOF together, and with a timeout between
// every two reads.
func readers(s string) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(s) },
		"onebyte":  func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"dataerr":  func() io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"timeouts": func() io.Reader { return &ticker{r: iotest.HalfReader(strings.NewReader(s))} },
	}
}

func ok(s string) got { return got{Data: s, Kind: KindOK} }

func counted(s string) got { return got{Data: s, Kind: KindOK, Octet: true, Declared: len(s)} }

func octet(s string) string { return strconv.Itoa(len(s)) + " " + s }

func TestFramerMixedFraming(t *testing.T) {
	a := "<13>Jan  1 00:00:00 h app: counted one"
	b := "<13>Jan  1 00:00:01 h app: newline two"
	c := "<13>Jan  1 00:00:02 h app: with\nnewline inside"
	d := "<13>Jan  1 00:00:03 h app: crlf four"
	e := "<13>Jan  1 00:00:04 h app: nul five"
	stream := octet(a) + b + "\n" + octet(c) + d + "\r\n" + e + "\x00" + "\n" + octet(a)
	want := []got{counted(a), ok(b), counted(c), ok(d), ok(e), ok(""), counted(a)}
	for name, r := range readers(stream) {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, want, collect(t, r(), 1024))
		})
	}
}

func TestFramerDigitsWithoutSpaceAreNewlineFramed(t *testing.T) {
	// A message that starts with digits but no count: an RFC 3339 stamp
	// from a sender without PRI, and a number then a tab.
	stream := "2024-01-02T03:04:05Z host app: hi\n12\tx\n0 starts with zero\n"
	want := []got{ok("2024-01-02T03:04:05Z host app: hi"), ok("12\tx"), ok("0 starts with zero")}
	for name, r := range readers(stream) {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, want, collect(t, r(), 1024))
		})
	}
}

func TestFramerLimits(t *testing.T) {
	const limit = 64
	at := strings.Repeat("a", limit)
	over := strings.Repeat("b", limit+1)
	next := "next message"
	cases := []struct {
		name   string
		stream string
		want   []got
	}{
		{"newline at limit", at + "\n" + next + "\n", []got{ok(at), ok(next)}},
		{"newline at limit crlf", at + "\r\n" + next + "\n", []got{ok(at), ok(next)}},
		{"newline one past", over + "\n" + next + "\n", []got{{Data: over[:limit], Kind: KindTooLong}, ok(next)}},
		{"newline one past crlf", over + "\r\n" + next + "\n", []got{{Data: over[:limit], Kind: KindTooLong}, ok(next)}},
		{
			"newline far past", strings.Repeat("c", 10*limit) + "\n" + next + "\n",
			[]got{{Data: strings.Repeat("c", limit), Kind: KindTooLong}, ok(next)},
		},
		{"counted at limit", octet(at) + octet(next), []got{counted(at), counted(next)}},
		{
			"counted one past", octet(over) + octet(next),
			[]got{{Data: over[:limit], Kind: KindTooLong, Octet: true, Declared: limit + 1}, counted(next)},
		},
		{
			// The skipped octets hold what looks like a frame: it
			// must not come out.
			"counted far past", "200 " + strings.Repeat("d", 100) + octet("hidden") + strings.Repeat("d", 92) + octet(next),
			[]got{{Data: strings.Repeat("d", limit), Kind: KindTooLong, Octet: true, Declared: 200}, counted(next)},
		},
	}
	for _, tc := range cases {
		for name, r := range readers(tc.stream) {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				require.Equal(t, tc.want, collect(t, r(), limit))
			})
		}
	}
}

func TestFramerBadCount(t *testing.T) {
	stream := "99999999999 <13>Jan  1 00:00:00 h app: x\n" + octet("after")
	want := []got{{Data: "99999999999 <13>Jan  1 00:00:00 h app: x", Kind: KindBadCount}, counted("after")}
	for name, r := range readers(stream) {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, want, collect(t, r(), 1024))
		})
	}
}

func TestFramerEndOfStream(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		want   []got
	}{
		{"empty", "", nil},
		{"final line without LF", "a\nlast", []got{ok("a"), ok("last")}},
		{"final CR only", "a\n\r", []got{ok("a"), ok("")}},
		{"counted cut short", "a\n12 <13>short", []got{ok("a"), {Data: "<13>short", Kind: KindTruncated, Octet: true, Declared: 12}}},
		{"count without body", "5 ", []got{{Data: "", Kind: KindTruncated, Octet: true, Declared: 5}}},
		{"digits only", "12345", []got{ok("12345")}},
		{"over limit cut short", "100 abc", []got{{Data: "abc", Kind: KindTooLong, Octet: true, Declared: 100}}},
		{"skip runs past end", "100 " + strings.Repeat("x", 20), []got{{Data: strings.Repeat("x", 16), Kind: KindTooLong, Octet: true, Declared: 100}}},
	}
	for _, tc := range cases {
		for name, r := range readers(tc.stream) {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				require.Equal(t, tc.want, collect(t, r(), 16))
			})
		}
	}
}

func TestFramerBufferGrowsAndShrinks(t *testing.T) {
	const limit = 1 << 20
	big := strings.Repeat("x", limit)
	stream := octet("small") + octet(big) + octet("small again") + big + "\n" + "tail\n"
	f := New(strings.NewReader(stream), limit)
	require.Len(t, f.buf, initialBuffer)
	var sizes []int
	var frames []got
	for {
		fr, err := f.Next()
		if errors.Is(err, io.EOF) {
			sizes = append(sizes, len(f.buf))
			break
		}
		require.NoError(t, err)
		frames = append(frames, got{Data: string(fr.Data), Kind: fr.Kind, Octet: fr.Octet, Declared: fr.Declared})
		sizes = append(sizes, len(f.buf))
	}
	require.Equal(t, []got{counted("small"), counted(big), counted("small again"), ok(big), ok("tail")}, frames)
	require.Greater(t, sizes[1], initialBuffer, "buffer did not grow for a 1 MiB message")
	require.LessOrEqual(t, sizes[1], limit+headerSlack)
	require.Equal(t, initialBuffer, sizes[5], "buffer did not shrink after the long messages")
}

// vectorFile is the shape of the go-syslog octet-counting vectors.
type vectorFile struct {
	Vectors []struct {
		ID          string `json:"id"`
		Descr       string `json:"descr"`
		Input       string `json:"input"`
		InputBase64 string `json:"input_base64"`
		MaxLength   int    `json:"max_message_length"`
		Results     []struct {
			Message *struct {
				Priority *int    `json:"Priority"`
				Message  *string `json:"Message"`
			} `json:"message"`
			Error string `json:"error"`
		} `json:"results"`
	} `json:"vectors"`
}

// TestFramerGoSyslogVectors runs the go-syslog octet-counting streams
// through the framer. go-syslog frames and parses in one step and stops at
// the first framing error; tocsin only frames, best effort, and leaves
// header errors to the parser. Where the two differ the expected frames
// say what tocsin does and why.
func TestFramerGoSyslogVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/gosyslog_octetcounting_vectors.json")
	require.NoError(t, err)
	var vf vectorFile
	require.NoError(t, json.Unmarshal(raw, &vf))
	require.Len(t, vf.Vectors, 15)

	// tocsin's frames for vectors where go-syslog reports an error.
	differs := map[string][]got{
		// "found EOF, expecting a MSGLEN": an empty stream is no error.
		"gosyslog-octet-000": nil,
		// Frame two has a bad header, which is the parser's business.
		"gosyslog-octet-001": {counted("<1>1 - - - - - -"), counted("<2>12 A B C D E -")},
		// "found ILLEGAL(x), expecting a MSGLEN": bytes that are not a
		// count are a newline-framed message, here the stream's last.
		"gosyslog-octet-002": {counted("<1>1 - - - - - -"), ok("xaaa")},
		"gosyslog-octet-003": {counted("<1>1 A B C D E -"), ok("xaaa")},
		// The stream ends 12 octets short of the count.
		"gosyslog-octet-005": {{Data: "<1>1", Kind: KindTruncated, Octet: true, Declared: 16}},
		// Digits without the space are not a count.
		"gosyslog-octet-006": {ok("16<1>1")},
		"gosyslog-octet-007": {ok("1")},
		"gosyslog-octet-009": {counted("<1>1 - - - - - -"), counted("<2>12 A B C D E -"), counted("<1>1 - - - - - -")},
		// A count over the limit: the first 10 octets are kept as
		// too long and the other 6 skipped.
		"gosyslog-octet-013": {{Data: "<1>1 - - -", Kind: KindTooLong, Octet: true, Declared: 16}},
		// The count is honoured even though it ends the frame inside
		// what the sender meant as the next one; the rest does not
		// start with a count, so it is a newline frame.
		"gosyslog-octet-014": {counted("<1>217 <11>1 - -"), ok(" - - - -")},
	}
	for _, v := range vf.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			input := v.Input
			if v.InputBase64 != "" {
				b, err := base64.StdEncoding.DecodeString(v.InputBase64)
				require.NoError(t, err)
				input = string(b)
			}
			limit := v.MaxLength
			if limit == 0 {
				limit = 1 << 20
			}
			frames := collect(t, strings.NewReader(input), limit)
			if want, ok := differs[v.ID]; ok {
				require.Equal(t, want, frames)
				return
			}
			// go-syslog parsed every message: each of ours must be an
			// intact counted frame carrying the same PRI and MSG.
			require.Len(t, frames, len(v.Results))
			for i, r := range v.Results {
				require.Empty(t, r.Error)
				require.NotNil(t, r.Message)
				fr := frames[i]
				require.Equal(t, KindOK, fr.Kind)
				require.True(t, fr.Octet)
				require.Equal(t, len(fr.Data), fr.Declared)
				require.True(t, strings.HasPrefix(fr.Data, "<"+strconv.Itoa(*r.Message.Priority)+">"), fr.Data)
				if r.Message.Message != nil {
					require.True(t, strings.HasSuffix(fr.Data, " "+*r.Message.Message))
				}
			}
		})
	}
}

func TestFramerReadErrorKeepsState(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("20 <13>partial"), iotest.ErrReader(boom))
	f := New(r, 64)
	_, err := f.Next()
	require.ErrorIs(t, err, boom)
	require.Equal(t, len("20 <13>partial"), f.Buffered())
	require.Equal(t, "20 <13>partial", string(f.Rest()))
}

func TestFramerRest(t *testing.T) {
	boom := errors.New("idle")
	// The rest of a message already reported as too long is not a
	// message of its own.
	r := io.MultiReader(strings.NewReader(strings.Repeat("x", 40)), iotest.ErrReader(boom))
	f := New(r, 16)
	fr, err := f.Next()
	require.NoError(t, err)
	require.Equal(t, KindTooLong, fr.Kind)
	_, err = f.Next()
	require.ErrorIs(t, err, boom)
	require.Empty(t, f.Rest())

	// An unfinished newline message, cut to the limit.
	r = io.MultiReader(strings.NewReader("ok\n"+strings.Repeat("y", 17)), iotest.ErrReader(boom))
	f = New(r, 20)
	fr, err = f.Next()
	require.NoError(t, err)
	require.Equal(t, "ok", string(fr.Data))
	_, err = f.Next()
	require.ErrorIs(t, err, boom)
	require.Equal(t, strings.Repeat("y", 17), string(f.Rest()))
}

func TestKindString(t *testing.T) {
	require.Equal(t, "too_long", KindTooLong.String())
	require.Equal(t, "unknown", Kind(9).String())
}

// FuzzFramer feeds arbitrary streams to the framer. Invariants:
//   - it never panics and always reaches the end of the stream;
//   - no frame is longer than the limit;
//   - every frame is a substring of the stream, and the frames' total size
//     does not exceed it;
//   - the frames do not depend on how the reads are chunked or interrupted;
//   - messages of at most the limit, octet-counted and concatenated, come
//     back as exactly those messages.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("16 <1>1 - - - - - -17 <2>12 A B C D E -"), uint8(16))
	f.Add([]byte("a\nb\r\nc\x00"), uint8(1))
	f.Add([]byte("99999999999 x\n12 abc\n"), uint8(8))
	f.Add([]byte("100 "+strings.Repeat("z", 120)+"5 hello"), uint8(32))
	f.Add([]byte(strings.Repeat("q", 70)+"\nok\n"), uint8(64))
	f.Fuzz(func(t *testing.T, stream []byte, lim uint8) {
		limit := int(lim%64) + 1
		whole := collect(t, bytes.NewReader(stream), limit)
		total := 0
		for _, fr := range whole {
			require.True(t, bytes.Contains(stream, []byte(fr.Data)))
			total += len(fr.Data)
		}
		require.LessOrEqual(t, total, len(stream))
		require.Equal(t, whole, collect(t, iotest.OneByteReader(bytes.NewReader(stream)), limit))
		require.Equal(t, whole, collect(t, &ticker{r: iotest.HalfReader(bytes.NewReader(stream))}, limit))

		// Cut the stream into messages of at most limit bytes and send
		// them octet-counted.
		var msgs []string
		var enc bytes.Buffer
		for rest := stream; len(rest) > 0; {
			n := min(int(rest[0])%limit+1, len(rest))
			msgs = append(msgs, string(rest[:n]))
			enc.WriteString(octet(string(rest[:n])))
			rest = rest[n:]
		}
		back := collect(t, &enc, limit)
		require.Len(t, back, len(msgs))
		for i, m := range msgs {
			require.Equal(t, counted(m), back[i])
		}
	})
}
