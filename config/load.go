package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/internal/textdist"

	"go.yaml.in/yaml/v3"
)

// setting is one value that a flag and an environment variable can set.
// Its flag is the dotted YAML key with dots and underscores as dashes
// ("syslog.udp.address" -> --syslog-udp-address); its variable is
// TOCSIN_ and the key in upper case with dots as underscores.
type setting struct {
	key   string
	usage string
	set   func(c *Config, v string) error
}

func str(f func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func integer(f func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*f(c) = n
		return nil
	}
}

func duration(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s or 24h", v)
		}
		*f(c) = d
		return nil
	}
}

func boolean(f func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*f(c) = b
		return nil
	}
}

func list(f func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		*f(c) = out
		return nil
	}
}

var settings = []setting{
	{"data_dir", "directory of the embedded store and engine snapshot", str(func(c *Config) *string { return &c.DataDir })},
	{"log.level", "log level: debug, info, warn, error", str(func(c *Config) *string { return &c.Log.Level })},
	{"log.format", "log format: json or console", str(func(c *Config) *string { return &c.Log.Format })},
	{"syslog.udp.address", "syslog UDP listen address (empty disables)", str(func(c *Config) *string { return &c.Syslog.UDP.Address })},
	{"syslog.udp.max_message_size", "largest UDP datagram in bytes", integer(func(c *Config) *int { return &c.Syslog.UDP.MaxMessageSize })},
	{"syslog.tcp.address", "syslog TCP listen address (empty disables)", str(func(c *Config) *string { return &c.Syslog.TCP.Address })},
	{"syslog.tcp.max_message_size", "largest TCP syslog message in bytes", integer(func(c *Config) *int { return &c.Syslog.TCP.MaxMessageSize })},
	{"syslog.tcp.max_connections", "most concurrent TCP senders", integer(func(c *Config) *int { return &c.Syslog.TCP.MaxConnections })},
	{"syslog.tcp.idle_timeout", "close TCP senders idle this long", duration(func(c *Config) *time.Duration { return &c.Syslog.TCP.IdleTimeout })},
	{"syslog.tcp.evict_idle", "at the connection limit, replace a sender idle this long", duration(func(c *Config) *time.Duration { return &c.Syslog.TCP.EvictIdle })},
	{"syslog.failure_raw_limit", "bytes of an unparsed line kept with its failure", integer(func(c *Config) *int { return &c.Syslog.FailureRawLimit })},
	{"syslog.udp.timezone", "zone of zone-less timestamps from UDP senders (default syslog.timezone)", str(func(c *Config) *string { return &c.Syslog.UDP.Timezone })},
	{"syslog.tcp.timezone", "zone of zone-less timestamps from TCP senders (default syslog.timezone)", str(func(c *Config) *string { return &c.Syslog.TCP.Timezone })},
	{"syslog.udp.format", "the one format UDP senders send (default auto: detect per message)", str(func(c *Config) *string { return &c.Syslog.UDP.Format })},
	{"syslog.tcp.format", "the one format TCP senders send (default auto: detect per message)", str(func(c *Config) *string { return &c.Syslog.TCP.Format })},
	{"ingest.disabled_formats", "comma-separated formats that detection skips", list(func(c *Config) *[]string { return &c.Ingest.DisabledFormats })},
	{"syslog.timezone", "zone of timestamps that carry none", str(func(c *Config) *string { return &c.Syslog.Timezone })},
	{"http.address", "HTTP API listen address", str(func(c *Config) *string { return &c.HTTP.Address })},
	{"http.token", "bearer token required on /api/ and /metrics (required beyond loopback)", str(func(c *Config) *string { return &c.HTTP.Token })},
	{"http.token_file", "file holding the bearer token", str(func(c *Config) *string { return &c.HTTP.TokenFile })},
	{"rules.builtin", "load the built-in rules", boolean(func(c *Config) *bool { return &c.Rules.Builtin })},
	{"rules.dirs", "comma-separated directories of rule files", list(func(c *Config) *[]string { return &c.Rules.Dirs })},
	{"engine.shards", "engine goroutines (0: one per core)", integer(func(c *Config) *int { return &c.Engine.Shards })},
	{"engine.evidence_limit", "events kept with each alert", integer(func(c *Config) *int { return &c.Engine.EvidenceLimit })},
	{"engine.snapshot_interval", "how often open windows are saved", duration(func(c *Config) *time.Duration { return &c.Engine.SnapshotInterval })},
	{"ticketing.quiet_period", "resolve incidents without alerts for this long", duration(func(c *Config) *time.Duration { return &c.Ticketing.QuietPeriod })},
	{"ticketing.sweep_interval", "how often the quiet period is checked", duration(func(c *Config) *time.Duration { return &c.Ticketing.SweepInterval })},
	{"ticketing.max_parse_failures", "parse failures kept", integer(func(c *Config) *int { return &c.Ticketing.MaxParseFailures })},
	{"ingest.metrics_address", "ingest role: /metrics and /healthz address", str(func(c *Config) *string { return &c.Ingest.MetricsAddress })},
	{"ingest.buffer.memory_events", "events ingest holds in memory while Kafka is unreachable", integer(func(c *Config) *int { return &c.Ingest.Buffer.MemoryEvents })},
	{"ingest.buffer.disk_max_bytes", "bytes ingest spools to data_dir/spool beyond memory (0: none)", integer(func(c *Config) *int { return &c.Ingest.Buffer.DiskMaxBytes })},
	{"engine.metrics_address", "engine role: /metrics and /healthz address", str(func(c *Config) *string { return &c.Engine.MetricsAddress })},
	{"engine.checkpoint_interval", "how often each Kafka partition's windows are checkpointed", duration(func(c *Config) *time.Duration { return &c.Engine.CheckpointInterval })},
	{"engine.reorder_wait", "how long re-keyed rules wait for a silent events partition (0: do not reorder)", duration(func(c *Config) *time.Duration { return &c.Engine.ReorderWait })},
	{"kafka.brokers", "comma-separated Kafka bootstrap brokers (empty: embedded in-process bus)", list(func(c *Config) *[]string { return &c.Kafka.Brokers })},
	{"kafka.client_id", "Kafka client id", str(func(c *Config) *string { return &c.Kafka.ClientID })},
	{"kafka.tls.enabled", "connect to Kafka over TLS", boolean(func(c *Config) *bool { return &c.Kafka.TLS.Enabled })},
	{"kafka.tls.ca_file", "CA certificates for the brokers (default: system pool)", str(func(c *Config) *string { return &c.Kafka.TLS.CAFile })},
	{"kafka.tls.cert_file", "client certificate for Kafka", str(func(c *Config) *string { return &c.Kafka.TLS.CertFile })},
	{"kafka.tls.key_file", "client key for Kafka", str(func(c *Config) *string { return &c.Kafka.TLS.KeyFile })},
	{"kafka.tls.server_name", "broker name to verify (default: from the address)", str(func(c *Config) *string { return &c.Kafka.TLS.ServerName })},
	{"kafka.tls.insecure_skip_verify", "do not verify broker certificates (tests only)", boolean(func(c *Config) *bool { return &c.Kafka.TLS.InsecureSkipVerify })},
	{"kafka.sasl.mechanism", "SASL mechanism: plain, scram-sha-256, scram-sha-512", str(func(c *Config) *string { return &c.Kafka.SASL.Mechanism })},
	{"kafka.sasl.username", "SASL user", str(func(c *Config) *string { return &c.Kafka.SASL.Username })},
	{"kafka.sasl.password", "SASL password", str(func(c *Config) *string { return &c.Kafka.SASL.Password })},
	{"kafka.create_topics", "create missing topics at start", boolean(func(c *Config) *bool { return &c.Kafka.CreateTopics })},
	{"kafka.replication_factor", "replication factor of topics tocsin creates", integer(func(c *Config) *int { return &c.Kafka.ReplicationFactor })},
	{"kafka.key_fields", "comma-separated fields keying events: the first with a value", list(func(c *Config) *[]string { return &c.Kafka.KeyFields })},
	{"kafka.topics.events", "topic of normalised events", str(func(c *Config) *string { return &c.Kafka.Topics.Events })},
	{"kafka.topics.alerts", "topic of alerts", str(func(c *Config) *string { return &c.Kafka.Topics.Alerts })},
	{"kafka.topics.failures", "topic of parse failures", str(func(c *Config) *string { return &c.Kafka.Topics.Failures })},
	{"kafka.topics.repartition", "internal topic re-keying events for rules grouped on other fields", str(func(c *Config) *string { return &c.Kafka.Topics.Repartition })},
	{"kafka.topics.state", "compacted topic of engine checkpoints", str(func(c *Config) *string { return &c.Kafka.Topics.State })},
	{"kafka.topics.raw", "topic of raw log lines ingest consumes (empty: none)", str(func(c *Config) *string { return &c.Kafka.Topics.Raw })},
	{"kafka.partitions.events", "partitions of the events topic (bounds engine instances)", integer(func(c *Config) *int { return &c.Kafka.Partitions.Events })},
	{"kafka.partitions.alerts", "partitions of the alerts topic", integer(func(c *Config) *int { return &c.Kafka.Partitions.Alerts })},
	{"kafka.partitions.failures", "partitions of the failures topic", integer(func(c *Config) *int { return &c.Kafka.Partitions.Failures })},
	{"kafka.partitions.repartition", "partitions of the repartition topic", integer(func(c *Config) *int { return &c.Kafka.Partitions.Repartition })},
	{"kafka.partitions.state", "partitions of the state topic", integer(func(c *Config) *int { return &c.Kafka.Partitions.State })},
	{"kafka.groups.engine", "consumer group of engine instances", str(func(c *Config) *string { return &c.Kafka.Groups.Engine })},
	{"kafka.groups.ticketing", "consumer group of ticketing (alerts, failures)", str(func(c *Config) *string { return &c.Kafka.Groups.Ticketing })},
	{"kafka.groups.history", "consumer group writing the event history", str(func(c *Config) *string { return &c.Kafka.Groups.History })},
	{"kafka.groups.raw", "consumer group of ingest on the raw topic", str(func(c *Config) *string { return &c.Kafka.Groups.Raw })},
	{"clickhouse.dsn", "ClickHouse native DSN clickhouse://user:pass@host:9000/db (empty: embedded store)", str(func(c *Config) *string { return &c.ClickHouse.DSN })},
	{"clickhouse.retention.events_days", "days of event history kept (0: all)", integer(func(c *Config) *int { return &c.ClickHouse.Retention.EventsDays })},
	{"clickhouse.retention.alerts_days", "days of alerts kept (0: all)", integer(func(c *Config) *int { return &c.ClickHouse.Retention.AlertsDays })},
	{"clickhouse.retention.incidents_months", "months of closed incidents kept (0: all)", integer(func(c *Config) *int { return &c.ClickHouse.Retention.IncidentsMonths })},
	{"clickhouse.retention.interval", "how often old partitions are dropped", duration(func(c *Config) *time.Duration { return &c.ClickHouse.Retention.Interval })},
}

func flagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// EnvName is the environment variable that sets key.
func EnvName(key string) string {
	return "TOCSIN_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Flags holds the command-line flags that override the configuration.
type Flags struct {
	// File is the --config flag.
	File string
	set  map[string]*string
	fs   *flag.FlagSet
	// aliases maps a short flag name to its setting's key.
	aliases map[string]string
}

// RegisterFlags adds --config and one flag per setting to fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{set: map[string]*string{}, fs: fs}
	fs.StringVar(&f.File, "config", "", "YAML configuration file (also TOCSIN_CONFIG)")
	defaults := defaultValues()
	for _, s := range settings {
		usage := s.usage + " (env " + EnvName(s.key)
		if d := defaults[s.key]; d != "" {
			usage += "; default " + d
		}
		f.set[s.key] = fs.String(flagName(s.key), "", usage+")")
	}
	return f
}

// defaultValues renders Default() by dotted key, for flag help.
func defaultValues() map[string]string {
	out := map[string]string{}
	data, err := yaml.Marshal(Default())
	if err != nil {
		return out
	}
	var tree map[string]any
	if yaml.Unmarshal(data, &tree) != nil {
		return out
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				walk(strings.TrimPrefix(prefix+"."+k, "."), sub)
			}
		case []any:
			parts := make([]string, 0, len(x))
			for _, e := range x {
				parts = append(parts, fmt.Sprint(e))
			}
			if len(parts) > 0 {
				out[prefix] = strings.Join(parts, ",")
			}
		case nil:
		default:
			if s := fmt.Sprint(x); s != "" {
				out[prefix] = s
			}
		}
	}
	walk("", tree)
	return out
}

// Load builds the configuration: defaults, then the YAML file, then the
// environment (env is os.Environ's form; nil means os.Environ), then the
// flags that were set. It returns every problem at once.
func Load(f *Flags, env []string) (Config, error) {
	if env == nil {
		env = os.Environ()
	}
	envMap := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			envMap[k] = v
		}
	}
	c := Default()
	var errs []error

	file := envMap["TOCSIN_CONFIG"]
	if f != nil && f.File != "" {
		file = f.File
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot read config file: %w", err))
		} else {
			errs = append(errs, decodeYAML(&c, file, data)...)
		}
	}
	known := map[string]bool{"TOCSIN_CONFIG": true}
	for _, k := range ignoredEnv {
		known[k] = true
	}
	for _, s := range settings {
		known[EnvName(s.key)] = true
	}
	for k := range envMap {
		if strings.HasPrefix(k, "TOCSIN_") && !known[k] {
			errs = append(errs, fmt.Errorf("%s: unknown setting%s (unset it, or see tocsin run -h)", k, suggestEnv(k)))
		}
	}
	for _, s := range settings {
		if v, ok := envMap[EnvName(s.key)]; ok {
			if err := s.set(&c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", EnvName(s.key), err))
			}
		}
	}
	if f != nil {
		visited := map[string]bool{}
		f.fs.Visit(func(fl *flag.Flag) { visited[fl.Name] = true })
		for alias, key := range f.aliases {
			if visited[alias] {
				visited[flagName(key)] = true
			}
		}
		for _, s := range settings {
			if visited[flagName(s.key)] {
				if err := s.set(&c, *f.set[s.key]); err != nil {
					errs = append(errs, fmt.Errorf("--%s: %w", flagName(s.key), err))
				}
			}
		}
	}
	if c.HTTP.TokenFile != "" {
		data, err := os.ReadFile(c.HTTP.TokenFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("http.token_file: %w", err))
		} else if c.HTTP.Token = strings.TrimSpace(string(data)); c.HTTP.Token == "" {
			errs = append(errs, fmt.Errorf("http.token_file: %s is empty", c.HTTP.TokenFile))
		}
	}
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("invalid configuration:\n%w", indent(err))
	}
	return c, nil
}

// ignoredEnv are TOCSIN_ variables that tocsin's own scripts, tests and
// commands use for other purposes: a tocsin started by them inherits them.
var ignoredEnv = []string{
	"TOCSIN_DEMO_EXIT",
	"TOCSIN_TEST_KAFKA", "TOCSIN_TEST_CLICKHOUSE", "TOCSIN_TEST_LOG", "TOCSIN_TESTINFRA_CACHE",
	"TOCSIN_CHAOS", "TOCSIN_CHAOS_SEED", "TOCSIN_STREAM_CRASH_CHILD", "TOCSIN_ARGS",
}

// suggestEnv names the known variable closest to a misspelt one.
func suggestEnv(k string) string {
	best, bestD := "", 4
	for _, s := range settings {
		if d := textdist.Distance(k, EnvName(s.key)); d < bestD {
			best, bestD = EnvName(s.key), d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// indent puts each problem on its own line, prefixed for reading.
func indent(err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = "  - " + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

// Alias adds a second, shorter flag name for the setting key, such as
// --kafka for --kafka-brokers.
func (f *Flags) Alias(name, key string) {
	p, ok := f.set[key]
	if !ok {
		panic("config: alias for unknown setting " + key)
	}
	f.fs.StringVar(p, name, "", "same as --"+flagName(key))
	if f.aliases == nil {
		f.aliases = map[string]string{}
	}
	f.aliases[name] = key
}
