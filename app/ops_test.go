package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestOpsServerHealthLivenessAndMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "tocsin_test_things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)
	var down atomic.Bool
	ready := func() error {
		if down.Load() {
			return errors.New("the buffer in front of Kafka is full")
		}
		return nil
	}
	o, err := startOps("ingest", "127.0.0.1:0", "s3cret", reg, ready, zerolog.Nop())
	require.NoError(t, err)
	defer o.Stop(context.Background())
	base := "http://" + o.ln.Addr().String()

	code, body := get(t, base+"/healthz", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok\n", body)

	down.Store(true)
	code, body = get(t, base+"/healthz", "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "ingest: the buffer in front of Kafka is full\n", body)
	code, _ = get(t, base+"/livez", "")
	require.Equal(t, http.StatusOK, code, "liveness stays up while the role waits")

	code, _ = get(t, base+"/metrics", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, body = get(t, base+"/metrics", "s3cret")
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.Contains(body, "tocsin_test_things_total 3"), body)
}

func TestOpsServerRefusesABusyAddress(t *testing.T) {
	o, err := startOps("engine", "127.0.0.1:0", "", prometheus.NewRegistry(), func() error { return nil }, zerolog.Nop())
	require.NoError(t, err)
	defer o.Stop(context.Background())
	_, err = startOps("engine", o.ln.Addr().String(), "", prometheus.NewRegistry(), func() error { return nil }, zerolog.Nop())
	require.ErrorContains(t, err, "cannot listen for engine metrics on "+o.ln.Addr().String()+" (set engine.metrics_address)")
}
