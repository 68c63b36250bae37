package app

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/ingest"
	"github.com/tocsin-siem/tocsin/schemas"
)

func TestStartFeedsHTTPAndTail(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "auth.log")
	require.NoError(t, os.WriteFile(logPath, []byte("Dec 10 06:55:40 web1 sshd[1]: before start, not read\n"), 0o600))
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.HTTPIngest.Address = freeAddr(t)
	cfg.HTTPIngest.Token = "feeds-token"
	cfg.Tail.Paths = []string{filepath.Join(dir, "*.log")}
	cfg.Tail.PollInterval = 10 * time.Millisecond
	require.NoError(t, cfg.Validate())

	var mu sync.Mutex
	var originals []string
	pipe, err := ingest.NewPipeline(ingest.PipelineOptions{
		Events: bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](func(_ context.Context, evs []*schemas.Event) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range evs {
				originals = append(originals, e.Event.Original)
			}
			return nil
		})},
	})
	require.NoError(t, err)
	stops, err := startFeeds(context.Background(), cfg, pipe, nil, zerolog.Nop())
	require.NoError(t, err)
	require.Len(t, stops, 2)

	line := "Dec 10 06:55:48 web1 sshd[4242]: Failed password for root from 192.0.2.7 port 4022 ssh2"
	req, err := http.NewRequest(http.MethodPost, "http://"+cfg.HTTPIngest.Address+"/", strings.NewReader(line+"\n"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer feeds-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(strings.Replace(line, "4242", "4243", 1) + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(originals) == 2
	}, 5*time.Second, 5*time.Millisecond)
	for _, stop := range stops {
		require.NoError(t, stop(context.Background()))
	}
	require.ElementsMatch(t, []string{line, strings.Replace(line, "4242", "4243", 1)}, originals)
	require.FileExists(t, filepath.Join(dir, "tail-state.json"))
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
