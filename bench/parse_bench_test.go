package bench

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin-siem/tocsin/bench/internal/authlog"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
)

// Lines taken from the kinds of input tocsin sees most: a plain auth.log
// sshd line, an RFC 5424 line with structured data, and a sudo command.
const (
	line3164SSHD = "Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for invalid user test9 from 52.80.34.196 port 36060 ssh2"
	line5424     = `<165>1 2026-10-11T22:14:15.003Z mymachine.example.com sshd 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] Accepted publickey for alice from 192.0.2.7 port 50122 ssh2: ED25519 SHA256:x`
	lineSudo     = "<86>Jun 25 15:48:21 precise32 sudo:     mike : TTY=pts/0 ; PWD=/home/vagrant ; USER=root ; COMMAND=/bin/su -"
)

var received = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func benchParse(b *testing.B, line string) {
	p := parse.New(parse.Options{})
	var ev schemas.Event
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(line, received, &ev); err != nil {
			b.Fatal(err)
		}
	}
	if ev.Event.Action == "" {
		b.Fatalf("line was not classified: %q", line)
	}
}

func BenchmarkParse3164SSHD(b *testing.B) { benchParse(b, line3164SSHD) }

func BenchmarkParse5424(b *testing.B) { benchParse(b, line5424) }

func BenchmarkParseSudo(b *testing.B) { benchParse(b, lineSudo) }

// authLog holds the 1,000,000 lines of authgen's default log (seed 1),
// generated once per test binary.
var authLog struct {
	once  sync.Once
	lines []string
	bytes int64
	err   error
}

func loadAuthLog(b *testing.B) ([]string, int64) {
	authLog.once.Do(func() {
		g, err := authlog.New(authlog.Options{Seed: 1})
		if err != nil {
			authLog.err = err
			return
		}
		var buf bytes.Buffer
		if _, err := g.WriteTo(&buf); err != nil {
			authLog.err = err
			return
		}
		text := buf.String()
		authLog.bytes = int64(len(text))
		authLog.lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	})
	if authLog.err != nil {
		b.Fatal(authLog.err)
	}
	return authLog.lines, authLog.bytes
}

// BenchmarkParseAuthLog parses and normalises the generated 1,000,000-line
// auth log, a line per op, as ingest does: Parse, then the sshd attempt
// tracker. Its MB/s over events/s is the average line; the events/s it
// reports is the target figure (3,000,000 per core).
func BenchmarkParseAuthLog(b *testing.B) {
	lines, size := loadAuthLog(b)
	p := parse.New(parse.Options{})
	tracker := parse.NewSSHDTracker(parse.DefaultMaxProcs)
	ref := time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)
	var ev schemas.Event
	b.SetBytes(size / int64(len(lines)))
	b.ReportAllocs()
	i, classified := 0, 0
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(lines[i], ref, &ev); err != nil {
			b.Fatalf("line %d: %v", i+1, err)
		}
		if ev.Event.Dataset == parse.DatasetSSHD {
			tracker.Apply(&ev)
		}
		if ev.Event.Action != "" {
			classified++
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if classified == 0 {
		b.Fatal("no line was classified")
	}
}
