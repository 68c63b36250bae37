package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func load(t *testing.T, yamlText string, env []string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := RegisterFlags(fs)
	if yamlText != "" {
		p := filepath.Join(t.TempDir(), "tocsin.yaml")
		require.NoError(t, os.WriteFile(p, []byte(yamlText), 0o600))
		args = append([]string{"--config", p}, args...)
	}
	require.NoError(t, fs.Parse(args))
	if env == nil {
		env = []string{}
	}
	return Load(f, env)
}

func TestDefaultsNeedNoConfiguration(t *testing.T) {
	c, err := load(t, "", nil)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:5514", c.Syslog.UDP.Address)
	require.Equal(t, "127.0.0.1:5514", c.Syslog.TCP.Address)
	require.Equal(t, 65536, c.Syslog.UDP.MaxMessageSize)
	require.Equal(t, 1<<20, c.Syslog.TCP.MaxMessageSize)
	require.Equal(t, "127.0.0.1:8080", c.HTTP.Address)
	require.Equal(t, "./tocsin-data", c.DataDir)
	require.Equal(t, 24*time.Hour, c.Ticketing.QuietPeriod)
	require.True(t, c.Rules.Builtin)
	require.Equal(t, time.UTC, c.Location())
}

func TestPrecedenceFlagOverEnvOverFile(t *testing.T) {
	doc := "data_dir: /from/file\nhttp:\n  address: 127.0.0.1:9000\nsyslog:\n  udp:\n    address: 127.0.0.1:1111\n"
	env := []string{"TOCSIN_HTTP_ADDRESS=127.0.0.1:9001", "TOCSIN_DATA_DIR=/from/env"}
	c, err := load(t, doc, env, "--data-dir", "/from/flag")
	require.NoError(t, err)
	require.Equal(t, "/from/flag", c.DataDir)
	require.Equal(t, "127.0.0.1:9001", c.HTTP.Address)
	require.Equal(t, "127.0.0.1:1111", c.Syslog.UDP.Address)
}

func TestEveryProblemIsListedAtOnce(t *testing.T) {
	doc := `
data_dir: ""
log:
  level: loud
syslog:
  udp:
    max_message_size: 10
  tcp:
    adress: 127.0.0.1:1
  timezone: Mars/Olympus
http:
  address: 0.0.0.0:8080
ticketing:
  quiet_period: 1s
  webhooks:
    - url: ftp://example.invalid/
      min_severity: urgent
`
	_, err := load(t, doc, []string{"TOCSIN_ENGINE_SHARDS=many"})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"line 9: unknown key adress",
		"data_dir: must not be empty",
		`log.level: "loud"`,
		"syslog.udp.max_message_size: 10",
		`syslog.timezone: "Mars/Olympus"`,
		"http.token",
		"ticketing.quiet_period",
		"ticketing.webhooks[0].url",
		"ticketing.webhooks[0].min_severity",
		`TOCSIN_ENGINE_SHARDS: "many" is not an integer`,
	} {
		require.Contains(t, msg, want)
	}
	require.Contains(t, msg, "line 9", "unknown key names its line")
}

func TestPlainMessagesForTypesPortsAndEnvironment(t *testing.T) {
	doc := "syslog:\n  tcp:\n    idle_timeout: 5 minutes\n    max_connections: lots\n"
	_, err := load(t, doc, []string{"TOCSIN_HTTP_ADRESS=127.0.0.1:1", "TOCSIN_DEMO_EXIT=1"},
		"--syslog-udp-address", "127.0.0.1:99999", "--syslog-tcp-address", "")
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, `"5 minutes" is not a duration such as 30s, 5m or 24h`)
	require.Contains(t, msg, `"lots" is not a whole number`)
	require.NotContains(t, msg, "time.Duration")
	require.Contains(t, msg, `syslog.udp.address: "127.0.0.1:99999" has port "99999"`)
	require.Contains(t, msg, "TOCSIN_HTTP_ADRESS: unknown setting; did you mean TOCSIN_HTTP_ADDRESS?")
	require.NotContains(t, msg, "TOCSIN_DEMO_EXIT")

	_, err = load(t, "http: [1]\nsyslog:\n  udp: 5\nticketing:\n  webhooks: {url: 1}\n", nil)
	require.Error(t, err)
	msg = err.Error()
	require.Contains(t, msg, "line 1: found a list where a mapping of keys belongs")
	require.Contains(t, msg, `line 3: "5" is not a mapping of keys`)
	require.Contains(t, msg, "line 5: found a mapping where a list belongs")
	require.NotContains(t, msg, "config.")

	_, err = load(t, "", nil, "--syslog-udp-address", "", "--syslog-tcp-address", "")
	require.ErrorContains(t, err, "nothing could send tocsin logs")

	empty := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	_, err = load(t, "", nil, "--http-token-file", empty)
	require.ErrorContains(t, err, "is empty")
}

func TestTokenAllowsNonLoopback(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tok, []byte("s3cret\n"), 0o600))
	c, err := load(t, "", nil, "--http-address", "0.0.0.0:8080", "--http-token-file", tok)
	require.NoError(t, err)
	require.Equal(t, "s3cret", c.HTTP.Token)

	_, err = load(t, "", nil, "--http-address", "[::1]:8080")
	require.NoError(t, err, "IPv6 loopback needs no token")
}

func TestWebhookDefaultsAndLists(t *testing.T) {
	doc := "ticketing:\n  webhooks:\n    - url: http://127.0.0.1:9/hook\n      min_severity: high\n"
	c, err := load(t, doc, []string{"TOCSIN_RULES_DIRS=" + t.TempDir() + ", " + t.TempDir()})
	require.NoError(t, err)
	require.Len(t, c.Ticketing.Webhooks, 1)
	require.Equal(t, 5, c.Ticketing.Webhooks[0].MaxAttempts)
	require.Equal(t, 10*time.Second, c.Ticketing.Webhooks[0].Timeout)
	require.Len(t, c.Rules.Dirs, 2)
}

func TestMissingFileIsAnError(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--config", "/nonexistent/tocsin.yaml"}))
	_, err := Load(f, []string{})
	require.ErrorContains(t, err, "cannot read config file")
}

func FuzzLoadYAML(f *testing.F) {
	f.Add([]byte("data_dir: x\n"))
	f.Add([]byte("syslog: {udp: {address: ':1'}}\n"))
	f.Add([]byte("relp: {address: ':1', cert_file: a, key_file: b, rate: 5}\nsyslog: {tls: {address: ':2', client_auth: require}}\n"))
	f.Add([]byte("ticketing:\n  webhooks:\n   - {url: 'http://a', min_severity: low}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		errs := decodeYAML(&c, "fuzz.yaml", data)
		c.fillDefaults()
		err := c.Validate()
		for _, e := range errs {
			require.True(t, strings.HasPrefix(e.Error(), "fuzz.yaml"), e.Error())
		}
		_ = err
	})
}

func TestFlagHelpShowsDefaults(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	for name, want := range map[string]string{
		"syslog-udp-address":     "default 127.0.0.1:5514",
		"ticketing-quiet-period": "default 24h0m0s",
		"rules-builtin":          "default true",
		"http-address":           "env TOCSIN_HTTP_ADDRESS; default 127.0.0.1:8080",
	} {
		require.Contains(t, fs.Lookup(name).Usage, want, name)
	}
	require.NotContains(t, fs.Lookup("http-token").Usage, "default")
}

func TestExampleConfigIsTheDefault(t *testing.T) {
	data, err := os.ReadFile("../deploy/tocsin.example.yaml")
	require.NoError(t, err)
	c := Default()
	require.Empty(t, decodeYAML(&c, "tocsin.example.yaml", data), "every key of the example is known")
	require.Empty(t, c.Rules.Dirs)
	require.Empty(t, c.Ticketing.Webhooks)
	c.Rules.Dirs, c.Ticketing.Webhooks = nil, nil
	require.Equal(t, Default(), c, "the example documents the defaults")
}

func TestListenerTimezones(t *testing.T) {
	c, err := load(t, "", nil, "--syslog-tcp-timezone", "Europe/Berlin")
	require.NoError(t, err)
	require.Equal(t, "Europe/Berlin", c.Syslog.TCP.ListenerLocation().String())
	require.Nil(t, c.Syslog.UDP.ListenerLocation(), "UDP takes syslog.timezone")
	_, err = load(t, "", []string{"TOCSIN_SYSLOG_UDP_TIMEZONE=Atlantis/Capital"})
	require.ErrorContains(t, err, `syslog.udp.timezone: "Atlantis/Capital" is not a known time zone`)
}

func TestAliasFlagSetsItsKey(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := RegisterFlags(fs)
	f.Alias("kafka", "kafka.brokers")
	f.Alias("clickhouse", "clickhouse.dsn")
	require.NoError(t, fs.Parse([]string{"--kafka", "k1:9092,k2:9092", "--clickhouse", "clickhouse://u:secret@ch:9000/db"}))
	c, err := Load(f, []string{})
	require.NoError(t, err)
	require.Equal(t, []string{"k1:9092", "k2:9092"}, c.Kafka.Brokers)
	require.Equal(t, "clickhouse://u:secret@ch:9000/db", c.ClickHouse.DSN)
	require.True(t, c.UsesKafka())
	require.True(t, c.UsesClickHouse())
}

func TestProductionSettingsReportEveryProblem(t *testing.T) {
	env := []string{
		"TOCSIN_KAFKA_BROKERS=nohost", "TOCSIN_KAFKA_SASL_MECHANISM=gssapi", "TOCSIN_KAFKA_KEY_FIELDS=source.adress",
		"TOCSIN_KAFKA_TOPICS_ALERTS=tocsin.events", "TOCSIN_KAFKA_PARTITIONS_EVENTS=0", "TOCSIN_KAFKA_GROUPS_HISTORY=tocsin-engine",
		"TOCSIN_CLICKHOUSE_DSN=http://u:hunter2@ch:8123/db", "TOCSIN_ENGINE_CHECKPOINT_INTERVAL=10ms",
		"TOCSIN_KAFKA_TLS_CA_FILE=/etc/hostname",
	}
	_, err := Load(nil, env)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`kafka.brokers[0]: "nohost" is not host:port`,
		`kafka.sasl.mechanism: "gssapi" is not one of plain, scram-sha-256, scram-sha-512`,
		`kafka.key_fields[0]: "source.adress" is not a string field of an event`,
		`kafka.topics.alerts: "tocsin.events" is already the name of kafka.topics.events`,
		`kafka.partitions.events: 0 is outside 1..10000`,
		`kafka.groups.history: "tocsin-engine" is already kafka.groups.engine`,
		`clickhouse.dsn: "http://u:***@ch:8123/db" must start with clickhouse://`,
		`engine.checkpoint_interval: 10ms must be at least 1s`,
		`kafka.tls: files or options are set but kafka.tls.enabled is false`,
	} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "hunter2", "a password never reaches the log")
}
