package engine

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzRestore feeds arbitrary snapshots to Restore: it must never panic,
// and whatever it accepts must leave an engine that still works.
func FuzzRestore(f *testing.F) {
	files := map[string]string{"r.yaml": "rules:\n  - " + bruteForce + "  - " + twoFieldRule}
	set := loadRules(f, files)
	seed := newTestEngine(f, set, nil)
	seed.feed(f, burst("192.0.2.1", 5, 0, time.Second)...)
	seed.feed(f, sudoFail("alice", "web01", 0))
	var buf bytes.Buffer
	require.NoError(f, seed.Snapshot(&buf))
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"tocsin-engine-snapshot","version":1,"rules":[{"id":"sudo","hash":"` +
		set.Rule("sudo").Hash + `","groups":[{"key":"no-separator","state":{"v":1}}]}]}`))
	f.Add([]byte(`{"format":"tocsin-engine-snapshot","version":1,"watermark":-9223372036854775808}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		te := newTestEngine(t, set, func(o *Options) { o.Shards = 2 })
		if err := te.Restore(bytes.NewReader(data)); err != nil {
			return
		}
		require.NoError(t, te.Handle(context.Background(), burst("192.0.2.1", 12, 0, time.Second)))
		require.NoError(t, te.Flush(context.Background()))
		var out bytes.Buffer
		require.NoError(t, te.Snapshot(&out))
	})
}
