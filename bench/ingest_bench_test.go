package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/ingest"
	"github.com/tocsin-siem/tocsin/schemas"
)

// ingestLines is a mix of the sshd lines that dominate auth logs.
var ingestLines = [...]string{
	"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
	"Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
	"Dec 10 06:55:48 LabSZ sshd[24200]: Connection closed by 173.234.31.186 [preauth]",
	"Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for root from 52.80.34.196 port 36060 ssh2",
	"Dec 10 07:08:28 LabSZ sshd[24208]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=52.80.34.196  user=root",
	"Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
	"Dec 10 09:32:20 LabSZ sshd[24680]: pam_unix(sshd:session): session opened for user fztu by (uid=0)",
	"Dec 10 10:13:55 LabSZ sshd[24833]: Received disconnect from 52.80.34.196: 11: Bye Bye [preauth]",
}

var ingestReceived = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// nopPublisher discards batches, as a stand-in for the engine.
type nopPublisher[T any] struct{}

func (nopPublisher[T]) Publish(context.Context, []T) error { return nil }

func newIngestPipeline(b *testing.B) *ingest.Pipeline {
	b.Helper()
	p, err := ingest.NewPipeline(ingest.PipelineOptions{
		Events:   bus.Publisher[*schemas.Event](nopPublisher[*schemas.Event]{}),
		Failures: bus.Publisher[schemas.ParseFailure](nopPublisher[schemas.ParseFailure]{}),
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBatcherLine measures one line through a Batcher: copy, parse,
// ID, tracker and batching, published to a no-op bus.
func BenchmarkBatcherLine(b *testing.B) {
	p := newIngestPipeline(b)
	bt := p.NewBatcher(ingest.Source{Kind: ingest.KindFile, Name: "file:bench"})
	lines := make([][]byte, len(ingestLines))
	size := 0
	for i, l := range ingestLines {
		lines[i] = []byte(l)
		size += len(l)
	}
	ctx := context.Background()
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := bt.Line(ctx, lines[i%len(lines)], ingestReceived, "file:bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = bt.Close(ctx)
}

// BenchmarkReadFile measures the replay path: a 200,000-line file read,
// split, parsed and published to a no-op bus. Each iteration reads the
// whole file; lines/s is reported.
func BenchmarkReadFile(b *testing.B) {
	const n = 200_000
	path := filepath.Join(b.TempDir(), "auth.log")
	buf := make([]byte, 0, n*100)
	for i := range n {
		buf = append(buf, ingestLines[i%len(ingestLines)]...)
		buf = append(buf, '\n')
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		b.Fatal(err)
	}
	p := newIngestPipeline(b)
	ctx := context.Background()
	opts := ingest.FileOptions{Received: func() time.Time { return ingestReceived }}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		prog, err := ingest.ReadFiles(ctx, p, []string{path}, opts)
		if err != nil {
			b.Fatal(err)
		}
		if prog.Lines != n {
			b.Fatal("read " + strconv.FormatInt(prog.Lines, 10) + " lines, want " + strconv.Itoa(n))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
