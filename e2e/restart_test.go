package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

func sendTCP(t *testing.T, port int, lines ...string) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	_, err = c.Write([]byte(strings.Join(lines, "\n") + "\n"))
	require.NoError(t, err)
	require.NoError(t, c.Close())
}

func failedLogins(ip string, from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, fmt.Sprintf("<38>Dec  4 09:00:%02d bastion sshd[%d]: Failed password for root from %s port %d ssh2", i, 7000+i, ip, 50000+i))
	}
	return out
}

// TestRestartKeepsWindowsAndIncidents stops tocsin in the middle of a brute
// force: the lines it accepted are not lost, its open windows come back
// from the snapshot so the rest of the burst still fires, and incidents
// opened before the restart are intact after it. A webhook configured in
// the YAML file hears of the incident.
func TestRestartKeepsWindowsAndIncidents(t *testing.T) {
	var mu sync.Mutex
	var hooks []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if json.NewDecoder(r.Body).Decode(&body) == nil {
			mu.Lock()
			hooks = append(hooks, body)
			mu.Unlock()
		}
	}))
	defer hook.Close()

	dir := t.TempDir()
	conf := filepath.Join(dir, "tocsin.yaml")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(
		"ticketing:\n  webhooks:\n    - url: %s/hook\n      min_severity: medium\n", hook.URL)), 0o600))
	data := filepath.Join(dir, "data")

	s := startServer(t, data, "--config", conf)
	sendTCP(t, s.port, failedLogins("198.51.100.7", 0, 6)...)
	waitFor(t, 10*time.Second, "six events", func() bool { return s.metric("tocsin_ingest_events_total") >= 6 })
	s.stop()

	s = startServer(t, data, "--config", conf)
	require.Empty(t, s.incidents(), "six failures open no incident")
	sendTCP(t, s.port, failedLogins("198.51.100.7", 6, 6)...)
	var inc schemas.Incident
	waitFor(t, 15*time.Second, "the brute force to fire across the restart", func() bool {
		for _, in := range s.incidents() {
			if strings.Contains(strings.Join(in.RuleIDs, ","), "brute") {
				inc = in
				return true
			}
		}
		return false
	})
	require.Equal(t, "198.51.100.7", entityValue(inc, "ip"))
	require.Equal(t, time.Date(time.Now().Year(), 12, 4, 9, 0, 0, 0, time.UTC).Month(), inc.FirstSeen.Month())
	require.Equal(t, 0, inc.FirstSeen.Second(), "the window holds the events from before the restart")
	waitFor(t, 15*time.Second, "the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(hooks) > 0
	})
	s.stop()

	s = startServer(t, data, "--config", conf)
	var detail struct {
		Incident schemas.Incident `json:"incident"`
		Alerts   []struct {
			Events []schemas.Event `json:"events"`
		} `json:"alerts"`
	}
	s.get("/api/v1/incidents/"+inc.ID, &detail)
	require.Equal(t, inc.ID, detail.Incident.ID)
	require.Equal(t, inc.AlertCount, detail.Incident.AlertCount)
	require.Equal(t, inc.Title, detail.Incident.Title)
	require.Len(t, detail.Alerts, inc.AlertCount)
	require.NotEmpty(t, detail.Alerts[0].Events, "the events behind the alert are kept")
	require.Contains(t, detail.Alerts[0].Events[0].Event.Original, "Failed password for root from 198.51.100.7")
	s.stop()
}

func entityValue(in schemas.Incident, typ string) string {
	for _, e := range in.Entities {
		if e.Type == typ {
			return e.Value
		}
	}
	return ""
}
