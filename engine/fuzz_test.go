package engine

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzRestore feeds arbitrary snapshots to Restore: it must never panic,
// a refused snapshot must leave the engine empty, and whatever it accepts
// must leave an engine that still works and saves a snapshot that
// restores to the same groups.
func FuzzRestore(f *testing.F) {
	files := map[string]string{"r.yaml": v1Rules}
	set := loadRules(f, files)
	seed := newTestEngine(f, set, nil)
	before, _ := v1Scenario()
	seed.feed(f, before...)
	var buf bytes.Buffer
	require.NoError(f, seed.Snapshot(&buf))
	f.Add(buf.Bytes())
	v1, err := os.ReadFile("testdata/snapshot-v1.json")
	require.NoError(f, err)
	f.Add(v1)
	f.Add(buildV2(2, snapRule{id: "sudo", hash: set.Rule("sudo").Hash, groups: []snapGroup{{"a\x00b", 1, []byte{2, 0, 0, 0, 0, 0}}}}))
	f.Add([]byte(`{"format":"tocsin-engine-snapshot","version":1,"rules":[{"id":"sudo","hash":"` +
		set.Rule("sudo").Hash + `","groups":[{"key":"no-separator","state":{"v":1}}]}]}`))
	f.Add([]byte(`{"format":"tocsin-engine-snapshot","version":1,"watermark":-9223372036854775808}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		te := newTestEngine(t, set, func(o *Options) { o.Shards = 2 })
		if err := te.Restore(bytes.NewReader(data)); err != nil {
			require.Zero(t, openGroups(te.Engine), "a refused snapshot installs nothing")
			return
		}
		groups := openGroups(te.Engine)
		var out bytes.Buffer
		require.NoError(t, te.Snapshot(&out))
		again := newTestEngine(t, set, nil)
		require.NoError(t, again.Restore(bytes.NewReader(out.Bytes())), "a snapshot of a restored engine restores")
		require.Equal(t, groups, openGroups(again.Engine))

		require.NoError(t, te.Handle(context.Background(), burst("192.0.2.1", 12, 0, time.Second)))
		require.NoError(t, te.Flush(context.Background()))
		require.NoError(t, te.Snapshot(&out))
	})
}
