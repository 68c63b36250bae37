// Package config reads tocsin's settings from defaults, a YAML file,
// environment variables and command-line flags, in that order of rising
// precedence, and checks them as a whole: Load reports every problem it
// finds, not just the first.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
	"go.yaml.in/yaml/v3"
)

// Config is the whole of tocsin's configuration. The zero value is not
// usable; start from Default.
type Config struct {
	// DataDir holds the embedded store and the engine snapshot.
	DataDir   string          `yaml:"data_dir"`
	Log       LogConfig       `yaml:"log"`
	Syslog    SyslogConfig    `yaml:"syslog"`
	HTTP      HTTPConfig      `yaml:"http"`
	Rules     RulesConfig     `yaml:"rules"`
	Engine    EngineConfig    `yaml:"engine"`
	Ticketing TicketingConfig `yaml:"ticketing"`
	// HTTPIngest and Tail are sources beside the syslog listeners: an
	// HTTP(S) endpoint for shippers' JSON batches and the Elasticsearch
	// bulk API, and files followed as they grow.
	HTTPIngest HTTPIngestConfig `yaml:"http_ingest"`
	Tail       TailConfig       `yaml:"tail"`
	// Ingest, Kafka and ClickHouse set the production path; with no
	// Kafka brokers and no ClickHouse DSN tocsin runs on its embedded
	// bus and store.
	Ingest     IngestConfig     `yaml:"ingest"`
	Kafka      KafkaConfig      `yaml:"kafka"`
	ClickHouse ClickHouseConfig `yaml:"clickhouse"`

	// RELP is the listener of rsyslog's Reliable Event Logging Protocol.
	RELP RELPConfig `yaml:"relp"`
}

// IngestConfig sets the ingest role beyond its listeners.
type IngestConfig struct {
	// MetricsAddress serves /metrics and /healthz of `tocsin ingest`.
	MetricsAddress string       `yaml:"metrics_address"`
	Buffer         BufferConfig `yaml:"buffer"`
	// DisabledFormats names formats that per-message detection skips;
	// their messages keep their syslog header fields only. It applies to
	// every listener and to tocsin run.
	DisabledFormats []string `yaml:"disabled_formats"`
}

// BufferConfig bounds what ingest keeps while Kafka is unreachable: first
// in memory, then on disk under data_dir/spool, then it refuses input.
type BufferConfig struct {
	MemoryEvents int `yaml:"memory_events"`
	DiskMaxBytes int `yaml:"disk_max_bytes"`
}

// KafkaConfig connects the roles through Apache Kafka. No brokers means
// the embedded in-process bus.
type KafkaConfig struct {
	Brokers           []string        `yaml:"brokers"`
	ClientID          string          `yaml:"client_id"`
	TLS               KafkaTLSConfig  `yaml:"tls"`
	SASL              KafkaSASLConfig `yaml:"sasl"`
	CreateTopics      bool            `yaml:"create_topics"`
	ReplicationFactor int             `yaml:"replication_factor"`
	// KeyFields choose each event's key: the first field with a value.
	KeyFields  []string        `yaml:"key_fields"`
	Topics     KafkaTopics     `yaml:"topics"`
	Partitions KafkaPartitions `yaml:"partitions"`
	Groups     KafkaGroups     `yaml:"groups"`
}

// KafkaTLSConfig secures the connection to the brokers.
type KafkaTLSConfig struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// KafkaSASLConfig authenticates to the brokers.
type KafkaSASLConfig struct {
	// Mechanism is empty (none), plain, scram-sha-256 or scram-sha-512.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// KafkaTopics names the topics. Raw, when set, is a topic of raw log
// lines (as rsyslog's omkafka writes them) that ingest consumes.
type KafkaTopics struct {
	Events      string `yaml:"events"`
	Alerts      string `yaml:"alerts"`
	Failures    string `yaml:"failures"`
	Repartition string `yaml:"repartition"`
	State       string `yaml:"state"`
	Raw         string `yaml:"raw"`
}

// KafkaPartitions are the partition counts of topics tocsin creates.
type KafkaPartitions struct {
	Events      int `yaml:"events"`
	Alerts      int `yaml:"alerts"`
	Failures    int `yaml:"failures"`
	Repartition int `yaml:"repartition"`
	State       int `yaml:"state"`
}

// KafkaGroups are the consumer group ids of the roles.
type KafkaGroups struct {
	Engine    string `yaml:"engine"`
	Ticketing string `yaml:"ticketing"`
	History   string `yaml:"history"`
	Raw       string `yaml:"raw"`
}

// ClickHouseConfig keeps incidents and history in ClickHouse. An empty
// DSN means the embedded store in data_dir.
type ClickHouseConfig struct {
	DSN       string          `yaml:"dsn"`
	Retention RetentionConfig `yaml:"retention"`
}

// RetentionConfig drops whole partitions older than these ages; 0 keeps
// everything. Incident partitions holding an active incident are kept.
type RetentionConfig struct {
	EventsDays      int           `yaml:"events_days"`
	AlertsDays      int           `yaml:"alerts_days"`
	IncidentsMonths int           `yaml:"incidents_months"`
	Interval        time.Duration `yaml:"interval"`
}

// LogConfig sets tocsin's own logging.
type LogConfig struct {
	// Level is one of debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is json or console.
	Format string `yaml:"format"`
}

// SyslogConfig sets the syslog listeners.
type SyslogConfig struct {
	UDP ListenerConfig `yaml:"udp"`
	TCP ListenerConfig `yaml:"tcp"`
	// TLS is syslog over TLS (RFC 5425).
	TLS TLSListenerConfig `yaml:"tls"`
	// Timezone applies to timestamps that carry no zone (IANA name).
	Timezone string `yaml:"timezone"`
	// FailureRawLimit is how many bytes of a line that did not parse are
	// kept with its parse failure.
	FailureRawLimit int `yaml:"failure_raw_limit"`
}

// ListenerConfig sets one listener. An empty Address disables it.
type ListenerConfig struct {
	Address        string        `yaml:"address"`
	MaxMessageSize int           `yaml:"max_message_size"`
	MaxConnections int           `yaml:"max_connections"`
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	// EvictIdle: at MaxConnections, a new sender replaces the connection
	// that has sent nothing for longest, if that is at least this long.
	EvictIdle time.Duration `yaml:"evict_idle"`
	// Timezone, when set, replaces syslog.timezone for this listener's
	// senders.
	Timezone string `yaml:"timezone"`
	// Format, when set, is the one format this listener's senders send
	// (see `tocsin parse --formats`); empty or "auto" detects it per
	// message.
	Format string `yaml:"format"`
	// Rate caps the lines per second the listener takes (0: no cap):
	// UDP drops lines over it, stream listeners slow their senders down.
	// Burst is how many may come at once (0: one second's worth).
	Rate  int `yaml:"rate"`
	Burst int `yaml:"burst"`
}

// HTTPConfig sets the API listener.
type HTTPConfig struct {
	Address string `yaml:"address"`
	// Token, when set, is required as a bearer token on /api/. It must be
	// set whenever Address is not a loopback address.
	Token string `yaml:"token"`
	// TokenFile names a file holding the token; it replaces Token.
	TokenFile string `yaml:"token_file"`
}

// RulesConfig chooses the rule sets.
type RulesConfig struct {
	// Builtin loads the rules shipped in the binary.
	Builtin bool `yaml:"builtin"`
	// Dirs are further directories of rule files.
	Dirs []string `yaml:"dirs"`
}

// EngineConfig tunes the correlation engine.
type EngineConfig struct {
	// Shards is the number of engine goroutines; 0 means one per core.
	Shards int `yaml:"shards"`
	// EvidenceLimit caps the events kept with each alert.
	EvidenceLimit int `yaml:"evidence_limit"`
	// SnapshotInterval is how often open windows are saved while running;
	// they are always saved at shutdown.
	SnapshotInterval time.Duration `yaml:"snapshot_interval"`
	// MetricsAddress serves /metrics and /healthz of `tocsin engine`.
	MetricsAddress string `yaml:"metrics_address"`
	// CheckpointInterval is how often, on Kafka, each partition's windows
	// are checkpointed with the offset they reflect.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// ReorderWait is how long, on Kafka, rules re-keyed through the
	// repartition topic wait for an events partition that stopped
	// reporting progress before going on without it; 0 feeds copies as
	// they arrive.
	ReorderWait time.Duration `yaml:"reorder_wait"`
}

// TicketingConfig tunes incidents.
type TicketingConfig struct {
	// QuietPeriod resolves an incident that got no alert for this long.
	QuietPeriod time.Duration `yaml:"quiet_period"`
	// SweepInterval is how often the quiet period is checked.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// MaxParseFailures is how many parse failures are kept.
	MaxParseFailures int       `yaml:"max_parse_failures"`
	Webhooks         []Webhook `yaml:"webhooks"`
}

// Webhook is an endpoint called when an incident opens or its severity
// rises, for incidents at or above MinSeverity.
type Webhook struct {
	URL         string        `yaml:"url"`
	MinSeverity string        `yaml:"min_severity"`
	Token       string        `yaml:"token"`
	MaxAttempts int           `yaml:"max_attempts"`
	Timeout     time.Duration `yaml:"timeout"`
}

// Default returns the settings of `tocsin run` with no configuration.
func Default() Config {
	return Config{
		DataDir: "./tocsin-data",
		Log:     LogConfig{Level: "info", Format: "json"},
		Syslog: SyslogConfig{
			UDP:             ListenerConfig{Address: "127.0.0.1:5514", MaxMessageSize: 64 << 10},
			TCP:             ListenerConfig{Address: "127.0.0.1:5514", MaxMessageSize: 1 << 20, MaxConnections: 1024, IdleTimeout: 5 * time.Minute, EvictIdle: 10 * time.Second},
			TLS:             defaultTLSListener(),
			Timezone:        "UTC",
			FailureRawLimit: 8 << 10,
		},
		RELP:  defaultRELP(),
		HTTP:  HTTPConfig{Address: "127.0.0.1:8080"},
		Rules: RulesConfig{Builtin: true},
		Engine: EngineConfig{EvidenceLimit: 100, SnapshotInterval: 10 * time.Second,
			MetricsAddress: "127.0.0.1:9102", CheckpointInterval: 10 * time.Second, ReorderWait: 15 * time.Second},
		Ticketing: TicketingConfig{QuietPeriod: 24 * time.Hour, SweepInterval: time.Minute, MaxParseFailures: 100000},
		Ingest: IngestConfig{MetricsAddress: "127.0.0.1:9101",
			Buffer: BufferConfig{MemoryEvents: 65536, DiskMaxBytes: 1 << 30}},
		HTTPIngest: defaultHTTPIngest(),
		Tail:       defaultTail(),
		Kafka: KafkaConfig{
			ClientID:          "tocsin",
			CreateTopics:      true,
			ReplicationFactor: 1,
			KeyFields:         []string{"source.address", "user.name", "host.name"},
			Topics: KafkaTopics{Events: "tocsin.events", Alerts: "tocsin.alerts", Failures: "tocsin.failures",
				Repartition: "tocsin.repartition", State: "tocsin.engine-state"},
			Partitions: KafkaPartitions{Events: 12, Alerts: 1, Failures: 1, Repartition: 12, State: 1},
			Groups:     KafkaGroups{Engine: "tocsin-engine", Ticketing: "tocsin-ticketing", History: "tocsin-history", Raw: "tocsin-ingest"},
		},
		ClickHouse: ClickHouseConfig{Retention: RetentionConfig{EventsDays: 30, AlertsDays: 365, IncidentsMonths: 24, Interval: time.Hour}},
	}
}

// Location returns the configured zone; call after Validate.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Syslog.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// ListenerLocation returns a listener's own zone, or nil when it takes
// syslog.timezone; call after Validate.
func (l ListenerConfig) ListenerLocation() *time.Location {
	if l.Timezone == "" {
		return nil
	}
	loc, err := time.LoadLocation(l.Timezone)
	if err != nil {
		return nil
	}
	return loc
}

// decodeYAML overlays a YAML document on c, rejecting unknown keys. Every
// problem the decoder finds is returned.
func decodeYAML(c *Config, name string, data []byte) []error {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if err == nil || errors.Is(err, io.EOF) {
		return nil // an empty file keeps the defaults
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, e := range te.Errors {
			errs = append(errs, fmt.Errorf("%s: %s", name, plainYAMLError(e)))
		}
		return errs
	}
	return []error{fmt.Errorf("%s: %w", name, err)}
}

var (
	notFoundRE  = regexp.MustCompile(`field (\S+) not found in type config\.(\w+)`)
	unmarshalRE = regexp.MustCompile("cannot unmarshal !!\\w+ `([^`]*)` into ([\\w.\\[\\]]+)")
	shapeRE     = regexp.MustCompile(`cannot unmarshal !!(\w+) into ([\w.\[\]]+)`)
)

// shapeOf names what a Go type of this package looks like in YAML.
func shapeOf(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "config."):
		return "a mapping of keys"
	}
	return map[string]string{
		"time.Duration": "a duration such as 30s, 5m or 24h",
		"int":           "a whole number",
		"float64":       "a number",
		"bool":          "true or false",
		"string":        "a string",
	}[goType]
}

// plainYAMLError rewords the YAML decoder's messages, which name Go types,
// in the terms of the configuration file.
func plainYAMLError(msg string) string {
	msg = notFoundRE.ReplaceAllString(msg, "unknown key $1")
	msg = unmarshalRE.ReplaceAllStringFunc(msg, func(m string) string {
		sub := unmarshalRE.FindStringSubmatch(m)
		want := shapeOf(sub[2])
		if want == "" {
			want = "a value of another shape"
		}
		return fmt.Sprintf("%q is not %s", sub[1], want)
	})
	return shapeRE.ReplaceAllStringFunc(msg, func(m string) string {
		sub := shapeRE.FindStringSubmatch(m)
		found := map[string]string{"seq": "a list", "map": "a mapping"}[sub[1]]
		if found == "" {
			found = "a " + sub[1]
		}
		want := shapeOf(sub[2])
		if want == "" {
			want = "a value of another shape"
		}
		return fmt.Sprintf("found %s where %s belongs", found, want)
	})
}

// fillDefaults sets the defaults of list elements, which YAML decoding
// cannot take from Default.
func (c *Config) fillDefaults() {
	for i := range c.Ticketing.Webhooks {
		w := &c.Ticketing.Webhooks[i]
		if w.MinSeverity == "" {
			w.MinSeverity = "info"
		}
		if w.MaxAttempts == 0 {
			w.MaxAttempts = 5 // 1s, 2s, 4s and 8s apart: 15s in all
		}
		if w.Timeout == 0 {
			w.Timeout = 10 * time.Second
		}
	}
}

// Validate checks the settings as a whole and returns every problem.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if c.DataDir == "" {
		bad("data_dir: must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		bad("log.format: %q is not one of json, console", c.Log.Format)
	}
	for _, l := range []struct {
		name string
		cfg  ListenerConfig
		max  int
	}{{"syslog.udp", c.Syslog.UDP, 65536}, {"syslog.tcp", c.Syslog.TCP, 64 << 20}} {
		if l.cfg.Address != "" {
			if err := checkHostPort(l.cfg.Address); err != nil {
				bad("%s.address: %v", l.name, err)
			}
		}
		if l.cfg.Timezone != "" {
			if _, err := time.LoadLocation(l.cfg.Timezone); err != nil {
				bad("%s.timezone: %q is not a known time zone: %v", l.name, l.cfg.Timezone, err)
			}
		}
		if err := (parse.Options{Format: l.cfg.Format}).Validate(); err != nil {
			bad("%s.format: %v", l.name, err)
		}
		if l.cfg.MaxMessageSize < 480 || l.cfg.MaxMessageSize > l.max {
			bad("%s.max_message_size: %d is outside 480..%d bytes", l.name, l.cfg.MaxMessageSize, l.max)
		}
	}
	if err := (parse.Options{Disabled: c.Ingest.DisabledFormats}).Validate(); err != nil {
		bad("ingest.disabled_formats: %v", err)
	}
	if c.Syslog.UDP.Address == "" && c.Syslog.TCP.Address == "" && c.Syslog.TLS.Address == "" && c.RELP.Address == "" &&
		c.HTTPIngest.Address == "" && len(c.Tail.Paths) == 0 {
		bad("syslog: syslog.udp.address, syslog.tcp.address, syslog.tls.address, relp.address and http_ingest.address are empty and tail.paths lists no file, " +
			"so nothing could send tocsin logs")
	}
	errs = append(errs, c.validateStreamListeners()...)
	if c.Syslog.TCP.MaxConnections < 1 {
		bad("syslog.tcp.max_connections: %d must be at least 1", c.Syslog.TCP.MaxConnections)
	}
	if c.Syslog.TCP.EvictIdle < time.Second {
		bad("syslog.tcp.evict_idle: %s must be at least 1s", c.Syslog.TCP.EvictIdle)
	}
	if c.Syslog.FailureRawLimit < 64 || c.Syslog.FailureRawLimit > 1<<20 {
		bad("syslog.failure_raw_limit: %d is outside 64..1048576 bytes", c.Syslog.FailureRawLimit)
	}
	if c.Syslog.TCP.IdleTimeout < time.Second {
		bad("syslog.tcp.idle_timeout: %s must be at least 1s", c.Syslog.TCP.IdleTimeout)
	}
	if _, err := time.LoadLocation(c.Syslog.Timezone); err != nil {
		bad("syslog.timezone: %q is not a known time zone: %v", c.Syslog.Timezone, err)
	}
	if c.HTTP.Address == "" {
		bad("http.address: must not be empty")
	} else if err := checkHostPort(c.HTTP.Address); err != nil {
		bad("http.address: %v", err)
	} else if host, _, _ := net.SplitHostPort(c.HTTP.Address); !isLoopback(host) && c.HTTP.Token == "" {
		bad("http.address: %q listens beyond loopback, so http.token (or http.token_file, or TOCSIN_HTTP_TOKEN) must be set", c.HTTP.Address)
	}
	if !c.Rules.Builtin && len(c.Rules.Dirs) == 0 {
		bad("rules: builtin is off and no rules.dirs are given, so no rule would run")
	}
	for i, d := range c.Rules.Dirs {
		if st, err := os.Stat(d); err != nil {
			bad("rules.dirs[%d]: %v", i, err)
		} else if !st.IsDir() {
			bad("rules.dirs[%d]: %s is not a directory", i, d)
		}
	}
	if c.Engine.Shards < 0 || c.Engine.Shards > 1024 {
		bad("engine.shards: %d is outside 0..1024 (0 means one per core)", c.Engine.Shards)
	}
	if c.Engine.EvidenceLimit < 1 {
		bad("engine.evidence_limit: %d must be at least 1", c.Engine.EvidenceLimit)
	}
	if c.Engine.SnapshotInterval < time.Second {
		bad("engine.snapshot_interval: %s must be at least 1s", c.Engine.SnapshotInterval)
	}
	if c.Ticketing.QuietPeriod < time.Minute {
		bad("ticketing.quiet_period: %s must be at least 1m", c.Ticketing.QuietPeriod)
	}
	if c.Ticketing.SweepInterval < time.Second {
		bad("ticketing.sweep_interval: %s must be at least 1s", c.Ticketing.SweepInterval)
	}
	if c.Ticketing.MaxParseFailures < 1 {
		bad("ticketing.max_parse_failures: %d must be at least 1", c.Ticketing.MaxParseFailures)
	}
	for i, w := range c.Ticketing.Webhooks {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("ticketing.webhooks[%d].url: %q is not an http(s) URL", i, w.URL)
		}
		if _, err := schemas.ParseSeverity(w.MinSeverity); err != nil {
			bad("ticketing.webhooks[%d].min_severity: %v", i, err)
		}
		if w.MaxAttempts < 1 || w.MaxAttempts > 20 {
			bad("ticketing.webhooks[%d].max_attempts: %d is outside 1..20", i, w.MaxAttempts)
		}
		if w.Timeout < 100*time.Millisecond {
			bad("ticketing.webhooks[%d].timeout: %s must be at least 100ms", i, w.Timeout)
		}
	}
	errs = append(errs, c.validateHTTPIngestAndTail()...)
	errs = append(errs, c.validateProduction()...)
	return errors.Join(errs...)
}

// checkHostPort checks a listen address: host:port with a port in 0..65535
// (0 picks a free port).
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (such as 127.0.0.1:5514)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has port %q, which is not a number from 0 to 65535", addr, port)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
