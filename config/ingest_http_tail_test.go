package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHTTPIngestAndTailDefaultsAreOff(t *testing.T) {
	c, err := load(t, "", nil)
	require.NoError(t, err)
	require.Empty(t, c.HTTPIngest.Address, "the HTTP endpoint is off until an address is set")
	require.Empty(t, c.Tail.Paths)
	require.Equal(t, 16<<20, c.HTTPIngest.MaxBodyBytes)
	require.Equal(t, 30*time.Second, c.HTTPIngest.AckTimeout)
	require.Equal(t, "end", c.Tail.StartAt)
	require.Equal(t, filepath.Join("./tocsin-data", "tail-state.json"), c.TailStateFile())
	require.Nil(t, c.HTTPIngest.ListenerLocation())
}

func TestHTTPIngestAndTailFromYAML(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("  from-a-file\n"), 0o600))
	doc := `
http_ingest:
  address: 0.0.0.0:9880
  token_file: ` + tokenFile + `
  api_key: id:key
  max_body_bytes: 8388608
  max_record_bytes: 65536
  max_concurrent: 4
  ack_timeout: 10s
  rate: 2500.5
  timezone: Europe/Paris
tail:
  paths: [/var/log/auth.log, "/var/log/app/*.log"]
  state_file: /var/lib/tocsin/tail.json
  start_at: beginning
  poll_interval: 100ms
  max_line_bytes: 65536
  partial_line_delay: 2s
  timezone: America/New_York
`
	c, err := load(t, doc, nil)
	require.NoError(t, err)
	token, apiKey, user, password := c.HTTPIngest.Credentials()
	require.Equal(t, "from-a-file", token)
	require.Equal(t, "id:key", apiKey)
	require.Empty(t, user+password)
	require.Equal(t, 2500.5, c.HTTPIngest.Rate)
	require.Equal(t, "Europe/Paris", c.HTTPIngest.ListenerLocation().String())
	require.Equal(t, []string{"/var/log/auth.log", "/var/log/app/*.log"}, c.Tail.Paths)
	require.Equal(t, "/var/lib/tocsin/tail.json", c.TailStateFile())
	require.Equal(t, "America/New_York", c.Tail.ListenerLocation().String())
	require.Equal(t, 2*time.Second, c.Tail.PartialLineDelay)
	// Validate may run again: the file is read again, not doubled up.
	require.NoError(t, c.Validate())
	token, _, _, _ = c.HTTPIngest.Credentials()
	require.Equal(t, "from-a-file", token)
}

func TestHTTPIngestAndTailReportEveryProblem(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hunter2-in-a-file"), 0o600))
	doc := `
http:
  address: 127.0.0.1:8080
http_ingest:
  address: 0.0.0.0:8080
  token: hunter2
  token_file: ` + empty + `
  password: s3cret-pass
  cert_file: /nonexistent/cert.pem
  client_ca_file: ` + notPEM + `
  max_body_bytes: 100
  max_record_bytes: 10
  max_concurrent: 0
  ack_timeout: 10m1s
  rate: -1
  timezone: Mars/Olympus
tail:
  paths: ["", "/var/log/[x"]
  start_at: middle
  poll_interval: 1ms
  max_line_bytes: 100
  partial_line_delay: 2h
  timezone: Atlantis/Capital
`
	_, err := load(t, doc, nil)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"http_ingest.token_file: set either http_ingest.token or http_ingest.token_file, not both",
		"http_ingest.token_file: " + empty + " is empty",
		"http_ingest.username: the user name and the password",
		`http_ingest.address: "0.0.0.0:8080" is already http.address`,
		"http_ingest.cert_file: the certificate and key files",
		"http_ingest.client_ca_file: " + notPEM + " holds no PEM certificate",
		"http_ingest.max_body_bytes: 100 is outside 1024..1073741824 bytes",
		"http_ingest.max_record_bytes: 10 is outside 480..67108864 bytes",
		"http_ingest.max_concurrent: 0 is outside 1..4096",
		"http_ingest.ack_timeout: 10m1s is outside 1s..10m",
		"http_ingest.rate: -1 must be 0",
		`http_ingest.timezone: "Mars/Olympus" is not a known time zone`,
		"tail.paths[0]: must not be empty",
		`tail.paths[1]: "/var/log/[x" is not a valid glob pattern`,
		`tail.start_at: "middle" is not one of end, beginning`,
		"tail.poll_interval: 1ms is outside 10ms..1m",
		"tail.max_line_bytes: 100 is outside 480..67108864 bytes",
		"tail.partial_line_delay: 2h0m0s must be between tail.poll_interval (1ms) and 1h",
		`tail.timezone: "Atlantis/Capital" is not a known time zone`,
	} {
		require.Contains(t, msg, want)
	}
	for _, secret := range []string{"hunter2", "s3cret-pass"} {
		require.NotContains(t, msg, secret, "a secret never reaches the log")
	}
}

func TestHTTPIngestBeyondLoopbackNeedsCredentials(t *testing.T) {
	_, err := load(t, "http_ingest:\n  address: 0.0.0.0:9880\n", nil)
	require.ErrorContains(t, err, "listens beyond loopback, so senders must authenticate")
	for _, extra := range []string{"  token: t\n", "  api_key: id:key\n", "  username: u\n  password: p\n"} {
		_, err := load(t, "http_ingest:\n  address: 0.0.0.0:9880\n"+extra, nil)
		require.NoError(t, err, extra)
	}
	_, err = load(t, "http_ingest:\n  address: 127.0.0.1:9880\n", nil)
	require.NoError(t, err, "loopback needs no credentials")
}

func TestHTTPIngestRateMustBeANumber(t *testing.T) {
	_, err := load(t, "http_ingest:\n  rate: fast\n", nil)
	require.ErrorContains(t, err, `"fast" is not a number`)
}

func TestOnlyHTTPIngestOrTailIsEnough(t *testing.T) {
	noSyslog := "syslog:\n  udp:\n    address: \"\"\n  tcp:\n    address: \"\"\n"
	_, err := load(t, noSyslog, nil)
	require.ErrorContains(t, err, "nothing could send tocsin logs")
	_, err = load(t, noSyslog+"http_ingest:\n  address: 127.0.0.1:9880\n", nil)
	require.NoError(t, err)
	_, err = load(t, noSyslog+"tail:\n  paths: [/var/log/auth.log]\n", nil)
	require.NoError(t, err)
}

func TestSameListenAddress(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"0.0.0.0:8080", "127.0.0.1:8080", true},
		{":8080", "10.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.2:8080", false},
		{"127.0.0.1:0", "127.0.0.1:0", false},
		{"127.0.0.1:8080", "127.0.0.1:8081", false},
		{"nonsense", "127.0.0.1:8081", false},
	} {
		require.Equal(t, tc.same, sameListenAddress(tc.a, tc.b), "%s %s", tc.a, tc.b)
	}
}
