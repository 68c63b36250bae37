package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// UsesKafka reports whether the roles meet on Kafka rather than on the
// embedded in-process bus.
func (c *Config) UsesKafka() bool { return len(c.Kafka.Brokers) > 0 }

// UsesClickHouse reports whether incidents and history live in ClickHouse
// rather than in the embedded store.
func (c *Config) UsesClickHouse() bool { return c.ClickHouse.DSN != "" }

// topicNameRE is what Kafka accepts as a topic name.
var topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// validateProduction checks the ingest, kafka and clickhouse sections.
func (c *Config) validateProduction() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	for _, a := range []struct{ key, addr string }{
		{"ingest.metrics_address", c.Ingest.MetricsAddress},
		{"engine.metrics_address", c.Engine.MetricsAddress},
	} {
		if a.addr == "" {
			bad("%s: must not be empty", a.key)
		} else if err := checkHostPort(a.addr); err != nil {
			bad("%s: %v", a.key, err)
		}
	}
	if c.Ingest.Buffer.MemoryEvents < 256 {
		bad("ingest.buffer.memory_events: %d must be at least 256", c.Ingest.Buffer.MemoryEvents)
	}
	if c.Ingest.Buffer.DiskMaxBytes != 0 && c.Ingest.Buffer.DiskMaxBytes < 1<<20 {
		bad("ingest.buffer.disk_max_bytes: %d must be 0 (no disk buffer) or at least 1048576", c.Ingest.Buffer.DiskMaxBytes)
	}
	if c.Engine.ReorderWait < 0 || c.Engine.ReorderWait > time.Hour {
		bad("engine.reorder_wait: %s must be between 0 (no reordering) and 1h", c.Engine.ReorderWait)
	}
	if c.Engine.CheckpointInterval < time.Second {
		bad("engine.checkpoint_interval: %s must be at least 1s", c.Engine.CheckpointInterval)
	}

	k := &c.Kafka
	for i, b := range k.Brokers {
		if err := checkHostPort(b); err != nil {
			bad("kafka.brokers[%d]: %v", i, err)
		}
	}
	if k.ClientID == "" {
		bad("kafka.client_id: must not be empty")
	}
	switch k.SASL.Mechanism {
	case "", "plain", "scram-sha-256", "scram-sha-512":
	default:
		bad("kafka.sasl.mechanism: %q is not one of plain, scram-sha-256, scram-sha-512 (or empty for none)", k.SASL.Mechanism)
	}
	if k.SASL.Mechanism != "" && k.SASL.Username == "" {
		bad("kafka.sasl.username: must be set when kafka.sasl.mechanism is %s", k.SASL.Mechanism)
	}
	if !k.TLS.Enabled && (k.TLS.CAFile != "" || k.TLS.CertFile != "" || k.TLS.KeyFile != "" || k.TLS.ServerName != "" || k.TLS.InsecureSkipVerify) {
		bad("kafka.tls: files or options are set but kafka.tls.enabled is false, so the connection would be plaintext; set kafka.tls.enabled: true (or remove them)")
	}
	if k.TLS.Enabled {
		for _, f := range []struct{ key, path string }{
			{"kafka.tls.ca_file", k.TLS.CAFile}, {"kafka.tls.cert_file", k.TLS.CertFile}, {"kafka.tls.key_file", k.TLS.KeyFile},
		} {
			if f.path == "" {
				continue
			}
			if _, err := os.Stat(f.path); err != nil {
				bad("%s: %v", f.key, err)
			}
		}
		if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
			bad("kafka.tls: cert_file and key_file go together (a client certificate needs both)")
		}
	}
	if k.ReplicationFactor < 1 || k.ReplicationFactor > 32 {
		bad("kafka.replication_factor: %d is outside 1..32", k.ReplicationFactor)
	}
	if len(k.KeyFields) == 0 {
		bad("kafka.key_fields: must name at least one field (default source.address, user.name, host.name)")
	}
	for i, f := range k.KeyFields {
		if _, ok := schemas.LookupField(f); !ok {
			bad("kafka.key_fields[%d]: %q is not a string field of an event (such as source.address, user.name, host.name)", i, f)
		}
	}
	seen := map[string]string{}
	for _, t := range []struct{ key, name string }{
		{"kafka.topics.events", k.Topics.Events}, {"kafka.topics.alerts", k.Topics.Alerts},
		{"kafka.topics.failures", k.Topics.Failures}, {"kafka.topics.repartition", k.Topics.Repartition},
		{"kafka.topics.state", k.Topics.State}, {"kafka.topics.raw", k.Topics.Raw},
	} {
		if t.name == "" {
			if t.key != "kafka.topics.raw" {
				bad("%s: must not be empty", t.key)
			}
			continue
		}
		if !topicNameRE.MatchString(t.name) || t.name == "." || t.name == ".." {
			bad("%s: %q is not a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)", t.key, t.name)
		}
		if other, dup := seen[t.name]; dup {
			bad("%s: %q is already the name of %s; each topic carries one kind of record", t.key, t.name, other)
		}
		seen[t.name] = t.key
	}
	for _, p := range []struct {
		key string
		n   int
	}{
		{"kafka.partitions.events", k.Partitions.Events}, {"kafka.partitions.alerts", k.Partitions.Alerts},
		{"kafka.partitions.failures", k.Partitions.Failures}, {"kafka.partitions.repartition", k.Partitions.Repartition},
		{"kafka.partitions.state", k.Partitions.State},
	} {
		if p.n < 1 || p.n > 10000 {
			bad("%s: %d is outside 1..10000", p.key, p.n)
		}
	}
	gs := map[string]string{}
	for _, g := range []struct{ key, id string }{
		{"kafka.groups.engine", k.Groups.Engine}, {"kafka.groups.ticketing", k.Groups.Ticketing},
		{"kafka.groups.history", k.Groups.History}, {"kafka.groups.raw", k.Groups.Raw},
	} {
		if g.id == "" {
			bad("%s: must not be empty", g.key)
			continue
		}
		if other, dup := gs[g.id]; dup {
			bad("%s: %q is already %s; two roles in one group would share (and steal) partitions", g.key, g.id, other)
		}
		gs[g.id] = g.key
	}

	ch := &c.ClickHouse
	if ch.DSN != "" && !strings.HasPrefix(ch.DSN, "clickhouse://") {
		bad("clickhouse.dsn: %q must start with clickhouse:// (native protocol, e.g. clickhouse://default@127.0.0.1:9000/tocsin)", redactDSN(ch.DSN))
	}
	r := &ch.Retention
	if r.EventsDays < 0 || r.AlertsDays < 0 || r.IncidentsMonths < 0 {
		bad("clickhouse.retention: ages must be 0 (keep) or positive; got events_days %d, alerts_days %d, incidents_months %d",
			r.EventsDays, r.AlertsDays, r.IncidentsMonths)
	}
	if r.Interval < time.Minute {
		bad("clickhouse.retention.interval: %s must be at least 1m", r.Interval)
	}
	return errs
}

// redactDSN hides a password in a DSN for messages.
func redactDSN(dsn string) string {
	at := strings.LastIndexByte(dsn, '@')
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":***" + dsn[at:]
	}
	return dsn
}
