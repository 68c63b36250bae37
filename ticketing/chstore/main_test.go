package chstore

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testch"
	"github.com/tocsin-siem/tocsin/ticketing"
	"github.com/tocsin-siem/tocsin/ticketing/storetest"
)

func TestMain(m *testing.M) { os.Exit(testch.Main(m)) }

// testOptions returns options for a fresh database on the test server.
func testOptions(t testing.TB) Options {
	t.Helper()
	return Options{Addr: []string{testch.Addr(t)}, Database: testch.Database(t), Registerer: prometheus.NewRegistry()}
}

// openTest opens a store with o, closed when the test ends.
func openTest(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	var dbs sync.Map // *testing.T -> Options
	storetest.Run(t, func(t *testing.T) ticketing.Store {
		o, ok := dbs.Load(t)
		if !ok {
			o, _ = dbs.LoadOrStore(t, testOptions(t))
		}
		opts := o.(Options)
		opts.Registerer = nil
		return openTest(t, opts)
	})
}

// ctxT is a context for one test step.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
