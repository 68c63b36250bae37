// Package deploy_test checks the deployment files under deploy/ (Docker
// Compose, Kubernetes, Prometheus, Grafana) and docs/production.md against
// each other and against tocsin's configuration keys and metric names, so
// that a renamed key, port, service or metric breaks a test instead of a
// deployment.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tocsin-siem/tocsin/config"
)

// configKeys are the dotted configuration keys that a TOCSIN_* variable or
// a tocsin.yaml may set. The list is kept here by hand because the loader
// for the Kafka and ClickHouse keys is being written at the same time; once
// it exports its keys, this list should come from it.
var configKeys = []string{
	"data_dir", "log.level", "log.format",
	"syslog.udp.address", "syslog.udp.max_message_size", "syslog.udp.timezone",
	"syslog.tcp.address", "syslog.tcp.max_message_size", "syslog.tcp.max_connections",
	"syslog.tcp.idle_timeout", "syslog.tcp.evict_idle", "syslog.tcp.timezone", "syslog.udp.format", "syslog.tcp.format", "ingest.disabled_formats", "http_ingest.format", "tail.format",
	"syslog.timezone", "syslog.failure_raw_limit",
	"http.address", "http.token", "http.token_file",
	"rules.builtin", "rules.dirs",
	"engine.shards", "engine.evidence_limit", "engine.snapshot_interval",
	"engine.metrics_address", "engine.checkpoint_interval", "engine.reorder_wait",
	"ticketing.quiet_period", "ticketing.sweep_interval", "ticketing.max_parse_failures",
	"ticketing.webhooks",
	"kafka.brokers", "kafka.client_id",
	"kafka.tls.enabled", "kafka.tls.ca_file", "kafka.tls.cert_file", "kafka.tls.key_file",
	"kafka.tls.server_name", "kafka.tls.insecure_skip_verify",
	"kafka.sasl.mechanism", "kafka.sasl.username", "kafka.sasl.password",
	"kafka.create_topics", "kafka.replication_factor", "kafka.key_fields",
	"kafka.topics.events", "kafka.topics.alerts", "kafka.topics.failures",
	"kafka.topics.repartition", "kafka.topics.state", "kafka.topics.raw",
	"kafka.partitions.events", "kafka.partitions.alerts", "kafka.partitions.failures",
	"kafka.partitions.repartition", "kafka.partitions.state",
	"kafka.groups.engine", "kafka.groups.ticketing", "kafka.groups.history", "kafka.groups.raw",
	"clickhouse.dsn",
	"clickhouse.retention.events_days", "clickhouse.retention.alerts_days",
	"clickhouse.retention.incidents_months", "clickhouse.retention.interval",
	"ingest.metrics_address", "ingest.buffer.memory_events", "ingest.buffer.disk_max_bytes",
	// The HTTP ingest endpoint and file tailing.
	"http_ingest.address", "http_ingest.cert_file", "http_ingest.key_file", "http_ingest.client_ca_file",
	"http_ingest.token", "http_ingest.token_file", "http_ingest.api_key", "http_ingest.api_key_file",
	"http_ingest.username", "http_ingest.password", "http_ingest.password_file",
	"http_ingest.max_body_bytes", "http_ingest.max_record_bytes", "http_ingest.max_concurrent",
	"http_ingest.ack_timeout", "http_ingest.rate", "http_ingest.timezone",
	"tail.paths", "tail.state_file", "tail.start_at", "tail.poll_interval", "tail.max_line_bytes",
	"tail.partial_line_delay", "tail.timezone",
	// Rate limits, syslog over TLS and RELP.
	"syslog.udp.rate", "syslog.udp.burst", "syslog.tcp.rate", "syslog.tcp.burst",
	"syslog.tls.address", "syslog.tls.cert_file", "syslog.tls.key_file", "syslog.tls.client_ca_file",
	"syslog.tls.client_auth", "syslog.tls.max_message_size", "syslog.tls.max_connections",
	"syslog.tls.idle_timeout", "syslog.tls.evict_idle", "syslog.tls.rate", "syslog.tls.burst", "syslog.tls.timezone",
	"relp.address", "relp.cert_file", "relp.key_file", "relp.client_ca_file", "relp.client_auth",
	"relp.max_message_size", "relp.max_connections", "relp.idle_timeout", "relp.evict_idle",
	"relp.rate", "relp.burst", "relp.timezone", "relp.ack_timeout",
}

// envName is the variable that sets key, as the config loader names it.
func envName(key string) string {
	return "TOCSIN_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// yamlOnly are keys that only tocsin.yaml can set.
var yamlOnly = map[string]bool{"ticketing.webhooks": true}

func knownEnv() map[string]bool {
	m := map[string]bool{"TOCSIN_CONFIG": true}
	for _, k := range configKeys {
		if !yamlOnly[k] {
			m[envName(k)] = true
		}
	}
	return m
}

type metricDef struct {
	typ    string // counter, gauge, histogram; "" when the design leaves it open
	labels []string
}

// metrics are tocsin's metric names with their types and labels.
var metrics = map[string]metricDef{
	"tocsin_ingest_lines_total":                {"counter", nil},
	"tocsin_ingest_events_total":               {"counter", nil},
	"tocsin_ingest_parse_failures_total":       {"counter", []string{"source", "reason"}},
	"tocsin_ingest_bytes_total":                {"counter", nil},
	"tocsin_engine_events_total":               {"counter", nil},
	"tocsin_engine_alerts_total":               {"counter", []string{"rule"}},
	"tocsin_engine_groups":                     {"gauge", nil},
	"tocsin_ticketing_alerts_total":            {"counter", nil},
	"tocsin_ticketing_incidents_open":          {"gauge", []string{"severity"}},
	"tocsin_ticketing_incidents_opened_total":  {"counter", nil},
	"tocsin_ticketing_store_errors_total":      {"counter", nil},
	"tocsin_kafka_produced_messages_total":     {"counter", []string{"topic"}},
	"tocsin_kafka_produce_errors_total":        {"counter", []string{"topic"}},
	"tocsin_kafka_produce_duration_seconds":    {"", nil},
	"tocsin_kafka_consumed_messages_total":     {"counter", []string{"group", "topic"}},
	"tocsin_kafka_consumer_lag":                {"gauge", []string{"group", "topic", "partition"}},
	"tocsin_kafka_commits_total":               {"counter", []string{"group"}},
	"tocsin_kafka_rebalances_total":            {"counter", []string{"group"}},
	"tocsin_clickhouse_write_duration_seconds": {"histogram", []string{"table"}},
	"tocsin_clickhouse_rows_written_total":     {"counter", []string{"table"}},
	"tocsin_clickhouse_write_errors_total":     {"counter", []string{"table"}},
	"tocsin_spool_memory_records":              {"gauge", []string{"buffer"}},
	"tocsin_spool_disk_bytes":                  {"gauge", []string{"buffer"}},
	"tocsin_spool_disk_records":                {"gauge", []string{"buffer"}},
	"tocsin_spool_full":                        {"gauge", []string{"buffer"}},
	"tocsin_stream_checkpoint_bytes":           {"", nil},
	"tocsin_stream_checkpoints_total":          {"counter", nil},
	"tocsin_stream_restore_seconds":            {"", nil},
	"tocsin_stream_repartitioned_events_total": {"counter", nil},
	"tocsin_stream_checkpoint_seconds":         {"histogram", nil},
	"tocsin_stream_reorder_held_copies":        {"gauge", []string{"partition"}},
	"tocsin_stream_reorder_forced_total":       {"counter", nil},
	"tocsin_stream_bad_records_total":          {"counter", []string{"topic"}},
	"tocsin_history_flush_rows":                {"histogram", nil},
	"tocsin_history_flush_seconds":             {"histogram", nil},
	"tocsin_history_pending_rows":              {"gauge", nil},
	"tocsin_history_flush_failures_total":      {"counter", nil},
}

// roleAddressKey is the key whose address serves a role's /healthz and
// /metrics.
var roleAddressKey = map[string]string{
	"ingest":    "ingest.metrics_address",
	"engine":    "engine.metrics_address",
	"ticketing": "http.address",
}

// ---- generic helpers ----

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err, "%s does not parse as YAML", path)
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

func oneYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	docs := yamlDocs(t, path)
	require.Len(t, docs, 1, path)
	return docs[0]
}

// get walks a path of map keys and list indexes ("0") through decoded YAML
// or JSON; it returns nil where the path does not exist.
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, path ...string) string {
	x := get(v, path...)
	if x == nil {
		return ""
	}
	return fmt.Sprint(x)
}

func mp(v any, path ...string) map[string]any {
	m, _ := get(v, path...).(map[string]any)
	return m
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// strs turns a YAML list or a space-separated string into strings.
func strs(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fmt.Sprint(e)
		}
		return out
	case string:
		return strings.Fields(x)
	}
	return nil
}

func port(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	require.NoError(t, err, "%q is not host:port", hostport)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// ---- every file parses ----

func TestEveryFileParses(t *testing.T) {
	counts := map[string]int{}
	for _, dir := range []string{"compose", "k8s", "grafana", "prometheus"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch filepath.Ext(path) {
			case ".yml", ".yaml":
				require.NotEmpty(t, yamlDocs(t, path), "%s has no YAML document", path)
				counts[dir]++
			case ".json":
				var v any
				require.NoError(t, json.Unmarshal(readFile(t, path), &v), "%s does not parse as JSON", path)
				counts[dir]++
			}
			return nil
		})
		require.NoError(t, err)
	}
	require.Equal(t, map[string]int{"compose": 1, "k8s": 6, "grafana": 3, "prometheus": 1}, counts)
}

// ---- compose ----

type compose struct {
	doc      map[string]any
	env      map[string]string // .env.example
	services map[string]any
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}`)

// interpolate does Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}
// with the values of .env.example, and turns $$ into $.
func (c *compose) interpolate(t *testing.T, s string) string {
	t.Helper()
	const dollar = "\x00"
	s = strings.ReplaceAll(s, "$$", dollar)
	s = varRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		if v, ok := c.env[sub[1]]; ok {
			return v
		}
		require.Contains(t, []string{":-", "-"}, sub[2], "compose uses ${%s} without a default, and .env.example does not set it", sub[1])
		return sub[3]
	})
	return strings.ReplaceAll(s, dollar, "$")
}

func loadCompose(t *testing.T) *compose {
	t.Helper()
	c := &compose{doc: oneYAML(t, "compose/docker-compose.yml"), env: map[string]string{}}
	for _, line := range strings.Split(string(readFile(t, "compose/.env.example")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, ".env.example: %q is not NAME=value", line)
		c.env[k] = v
	}
	c.services = mp(c.doc, "services")
	require.NotNil(t, c.services)
	return c
}

// environment returns a service's environment, interpolated, whether the
// file writes it as a mapping or as a list of NAME=value.
func (c *compose) environment(t *testing.T, svc string) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch e := get(c.services, svc, "environment").(type) {
	case map[string]any:
		for k, v := range e {
			out[k] = c.interpolate(t, fmt.Sprint(v))
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(fmt.Sprint(kv), "=")
			out[k] = c.interpolate(t, v)
		}
	}
	return out
}

// mounts maps each bind-mounted source path of a service to its target.
func (c *compose) mounts(svc string) map[string]string {
	out := map[string]string{}
	for _, v := range strs(get(c.services, svc, "volumes")) {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], ".") {
			out[parts[0]] = parts[1]
		}
	}
	return out
}

func (c *compose) role(svc string) string {
	cmd := strs(get(c.services, svc, "command"))
	if len(cmd) == 0 {
		return ""
	}
	return cmd[0]
}

func (c *compose) tocsinServices() []string {
	var out []string
	for name := range c.services {
		if strings.HasPrefix(name, "tocsin-") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	names := make([]string, 0, len(c.services))
	for n := range c.services {
		names = append(names, n)
	}
	require.ElementsMatch(t, []string{"kafka", "clickhouse", "tocsin-ingest", "tocsin-engine",
		"tocsin-ticketing", "prometheus", "grafana"}, names)

	advertised := c.environment(t, "kafka")["KAFKA_ADVERTISED_LISTENERS"]
	require.NotEmpty(t, advertised)
	require.Equal(t, "false", c.environment(t, "kafka")["KAFKA_AUTO_CREATE_TOPICS_ENABLE"],
		"tocsin creates its topics with their partition counts; broker auto-creation would race it")

	var roles []string
	for _, svc := range c.tocsinServices() {
		role := c.role(svc)
		require.Contains(t, []string{"ingest", "engine", "ticketing"}, role, "%s runs %q", svc, role)
		require.Equal(t, "tocsin-"+role, svc, "service name and role differ")
		roles = append(roles, role)

		require.Equal(t, "../..", str(c.services, svc, "build", "context"))
		dockerfile := filepath.Join("compose", "../..", str(c.services, svc, "build", "dockerfile"))
		require.FileExists(t, dockerfile)
		require.FileExists(t, filepath.Join("compose", "../..", "go.mod"))

		env := c.environment(t, svc)
		brokers := env["TOCSIN_KAFKA_BROKERS"]
		require.NotEmpty(t, brokers, "%s does not set TOCSIN_KAFKA_BROKERS", svc)
		for _, b := range strings.Split(brokers, ",") {
			host, _, err := net.SplitHostPort(b)
			require.NoError(t, err)
			require.NotNil(t, c.services[host], "%s: broker %s is no compose service", svc, b)
			require.Contains(t, advertised, "://"+b, "%s: broker %s is not an advertised Kafka listener", svc, b)
		}

		addr := env[envName(roleAddressKey[role])]
		require.NotEmpty(t, addr, "%s does not set %s", svc, envName(roleAddressKey[role]))
		host, p, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		require.Equal(t, "0.0.0.0", host, "%s: %s must listen beyond loopback for Prometheus and the healthcheck", svc, addr)

		check := strings.Join(strs(get(c.services, svc, "healthcheck", "test")), " ")
		require.Contains(t, check, "http://127.0.0.1:"+p+"/healthz", "%s: healthcheck does not ask its own /healthz", svc)

		deps := mp(c.services, svc, "depends_on")
		require.Equal(t, "service_healthy", str(deps, "kafka", "condition"), "%s must wait for a healthy Kafka", svc)
		for dep := range deps {
			require.NotNil(t, get(c.services, dep, "healthcheck"), "%s waits for %s, which has no healthcheck", svc, dep)
		}
	}
	require.ElementsMatch(t, []string{"ingest", "engine", "ticketing"}, roles)

	ports := strings.Join(strs(get(c.services, "tocsin-ingest", "ports")), " ")
	require.Contains(t, ports, ":5514:5514/udp")
	require.Contains(t, ports, ":5514:5514/tcp")
	require.Contains(t, strings.Join(strs(get(c.services, "tocsin-ticketing", "ports")), " "), ":8080:8080")
	require.EqualValues(t, 2, get(c.services, "tocsin-engine", "deploy", "replicas"))
}

func TestComposeClickHouseAndToken(t *testing.T) {
	c := loadCompose(t)
	ch := c.environment(t, "clickhouse")
	env := c.environment(t, "tocsin-ticketing")
	u, err := url.Parse(env["TOCSIN_CLICKHOUSE_DSN"])
	require.NoError(t, err)
	require.Equal(t, "clickhouse", u.Scheme)
	require.Equal(t, "clickhouse:9000", u.Host, "the DSN must name the clickhouse service's native port")
	require.Equal(t, ch["CLICKHOUSE_USER"], u.User.Username())
	pw, _ := u.User.Password()
	require.Equal(t, ch["CLICKHOUSE_PASSWORD"], pw)
	require.Equal(t, "/"+ch["CLICKHOUSE_DB"], u.Path)
	require.Equal(t, "service_healthy", str(c.services, "tocsin-ticketing", "depends_on", "clickhouse", "condition"))

	// The token reaches ticketing and Prometheus as a Compose secret made
	// from TOCSIN_HTTP_TOKEN, which .env.example must set.
	file := env["TOCSIN_HTTP_TOKEN_FILE"]
	secret := strings.TrimPrefix(file, "/run/secrets/")
	require.NotEqual(t, file, secret, "TOCSIN_HTTP_TOKEN_FILE is not a Compose secret")
	require.Contains(t, strs(get(c.services, "tocsin-ticketing", "secrets")), secret)
	require.Contains(t, strs(get(c.services, "prometheus", "secrets")), secret)
	from := str(c.doc, "secrets", secret, "environment")
	require.Equal(t, "TOCSIN_HTTP_TOKEN", from)
	require.NotEmpty(t, c.env[from], ".env.example does not set %s", from)
}

func TestComposeMountsExist(t *testing.T) {
	c := loadCompose(t)
	n := 0
	for svc := range c.services {
		for src := range c.mounts(svc) {
			_, err := os.Stat(filepath.Join("compose", src))
			require.NoError(t, err, "%s mounts %s, which does not exist", svc, src)
			n++
		}
	}
	require.Equal(t, 3, n)
}

// ---- prometheus ----

func TestPrometheusScrapesComposeServices(t *testing.T) {
	c := loadCompose(t)
	prom := oneYAML(t, "prometheus/prometheus.yml")

	mounts := c.mounts("prometheus")
	cmd := strings.Join(strs(get(c.services, "prometheus", "command")), " ")
	require.Contains(t, cmd, "--config.file="+mounts["../prometheus/prometheus.yml"])

	promSecrets := strs(get(c.services, "prometheus", "secrets"))
	scraped := map[string]bool{}
	for _, sc := range list(prom, "scrape_configs") {
		job := str(sc, "job_name")
		var targets []string
		for _, st := range list(sc, "static_configs") {
			targets = append(targets, strs(get(st, "targets"))...)
		}
		for _, dns := range list(sc, "dns_sd_configs") {
			require.Equal(t, "A", str(dns, "type"), job)
			for _, name := range strs(get(dns, "names")) {
				targets = append(targets, net.JoinHostPort(name, str(dns, "port")))
			}
		}
		require.NotEmpty(t, targets, "job %s has no target", job)
		for _, target := range targets {
			host, p, err := net.SplitHostPort(target)
			require.NoError(t, err, "job %s: %q", job, target)
			require.NotNil(t, c.services[host], "job %s scrapes %s, which is no compose service", job, host)
			if role := c.role(host); strings.HasPrefix(host, "tocsin-") {
				addr := c.environment(t, host)[envName(roleAddressKey[role])]
				require.Equal(t, strconv.Itoa(port(t, addr)), p, "job %s scrapes a port that %s does not serve", job, host)
				scraped[host] = true
				cred := str(sc, "authorization", "credentials_file")
				require.Contains(t, promSecrets, strings.TrimPrefix(cred, "/run/secrets/"),
					"job %s: tocsin's /metrics needs the token file, mounted as a secret", job)
			}
		}
	}
	require.Len(t, scraped, len(c.tocsinServices()), "not every tocsin service is scraped: %v", scraped)
}

// ---- grafana ----

func TestGrafanaProvisioning(t *testing.T) {
	c := loadCompose(t)
	mounts := c.mounts("grafana")
	require.Equal(t, "/etc/grafana/provisioning", mounts["../grafana/provisioning"])
	dashDir := mounts["../grafana/dashboards"]
	require.NotEmpty(t, dashDir)

	ds := oneYAML(t, "grafana/provisioning/datasources/prometheus.yml")
	sources := list(ds, "datasources")
	require.Len(t, sources, 1)
	require.Equal(t, "prometheus", str(sources[0], "type"))
	u, err := url.Parse(str(sources[0], "url"))
	require.NoError(t, err)
	require.NotNil(t, c.services[u.Hostname()], "the data source %s is no compose service", u.Hostname())
	require.Contains(t, strs(get(c.services, u.Hostname(), "ports"))[0], ":"+u.Port())

	prov := oneYAML(t, "grafana/provisioning/dashboards/tocsin.yml")
	require.Equal(t, dashDir, str(prov, "providers", "0", "options", "path"))

	home := c.environment(t, "grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	rel, err := filepath.Rel(dashDir, home)
	require.NoError(t, err)
	require.FileExists(t, filepath.Join("grafana/dashboards", rel))

	var dash map[string]any
	require.NoError(t, json.Unmarshal(readFile(t, "grafana/dashboards/tocsin.json"), &dash))
	vars := list(dash, "templating", "list")
	require.Equal(t, "datasource", str(vars, "0", "type"))
	require.Equal(t, str(sources[0], "uid"), str(vars, "0", "current", "value"),
		"the dashboard's default data source is not the provisioned one")
}

var (
	metricRE   = regexp.MustCompile(`\btocsin_[a-z0-9_]+`)
	byRE       = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	quantileRE = regexp.MustCompile(`histogram_quantile\(\s*([0-9.]+)\s*,`)
)

// baseMetric strips a histogram's series suffix.
func baseMetric(name string) (base, suffix string) {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, s); ok && metrics[b].typ == "histogram" {
			return b, s
		}
	}
	return name, ""
}

// checkExpr checks one PromQL expression against the metric list and
// returns the metrics it names and the labels it groups by.
func checkExpr(expr string) (names, by []string, err error) {
	locs := metricRE.FindAllStringIndex(expr, -1)
	if len(locs) == 0 {
		return nil, nil, fmt.Errorf("%q names no tocsin metric", expr)
	}
	for _, loc := range locs {
		name := expr[loc[0]:loc[1]]
		base, suffix := baseMetric(name)
		def, ok := metrics[base]
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("%s is not a tocsin metric", name)
		case def.typ == "":
			return nil, nil, fmt.Errorf("the type of %s is not settled yet; do not chart it", base)
		}
		before := strings.TrimRight(expr[:loc[0]], " ")
		inRate := strings.HasSuffix(before, "rate(") || strings.HasSuffix(before, "increase(")
		switch {
		case (def.typ == "counter" || suffix != "") && !inRate:
			return nil, nil, fmt.Errorf("%s must be inside rate() or increase()", name)
		case def.typ == "gauge" && inRate:
			return nil, nil, fmt.Errorf("gauge %s inside rate() or increase()", name)
		case def.typ == "histogram" && suffix == "":
			return nil, nil, fmt.Errorf("histogram %s without _bucket, _sum or _count", name)
		case suffix == "_bucket" && !strings.Contains(expr, "histogram_quantile("):
			return nil, nil, fmt.Errorf("%s without histogram_quantile", name)
		}
		names = append(names, name)
	}
	for _, m := range byRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			l = strings.TrimSpace(l)
			by = append(by, l)
			for _, name := range names {
				base, suffix := baseMetric(name)
				if l == "le" && suffix == "_bucket" {
					continue
				}
				if !slices.Contains(metrics[base].labels, l) {
					return nil, nil, fmt.Errorf("%s has no label %q", name, l)
				}
			}
		}
	}
	return names, by, nil
}

func TestDashboard(t *testing.T) {
	var dash map[string]any
	require.NoError(t, json.Unmarshal(readFile(t, "grafana/dashboards/tocsin.json"), &dash))
	require.NotEmpty(t, str(dash, "uid"))
	require.NotEmpty(t, str(dash, "title"))
	require.GreaterOrEqual(t, get(dash, "schemaVersion"), float64(36))

	type query struct {
		expr string
		by   []string
	}
	var queries []query
	ids := map[string]bool{}
	type rect struct{ x, y, w, h float64 }
	var rects []rect
	for _, p := range list(dash, "panels") {
		title := str(p, "title")
		id := str(p, "id")
		require.False(t, ids[id], "panel id %s repeats", id)
		ids[id] = true
		g := mp(p, "gridPos")
		r := rect{g["x"].(float64), g["y"].(float64), g["w"].(float64), g["h"].(float64)}
		require.LessOrEqual(t, r.x+r.w, float64(24), "%s is wider than the dashboard", title)
		for _, o := range rects {
			overlap := r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h
			require.False(t, overlap, "panel %q overlaps another", title)
		}
		rects = append(rects, r)
		if str(p, "type") == "row" {
			continue
		}
		require.Equal(t, "${datasource}", str(p, "datasource", "uid"), "panel %q", title)
		targets := list(p, "targets")
		require.NotEmpty(t, targets, "panel %q has no query", title)
		for _, tg := range targets {
			require.Equal(t, "${datasource}", str(tg, "datasource", "uid"), "panel %q", title)
			expr := str(tg, "expr")
			_, by, err := checkExpr(expr)
			require.NoError(t, err, "panel %q", title)
			queries = append(queries, query{expr, by})
		}
	}

	// The panels the deployment promises: a metric, grouped by these labels.
	for _, want := range []struct {
		metric string
		by     []string
		also   string
	}{
		{"tocsin_ingest_events_total", nil, "rate("},
		{"tocsin_ingest_parse_failures_total", []string{"reason"}, "rate("},
		{"tocsin_engine_alerts_total", []string{"rule"}, "rate("},
		{"tocsin_ticketing_incidents_open", []string{"severity"}, ""},
		{"tocsin_kafka_consumer_lag", []string{"group", "topic"}, ""},
		{"tocsin_clickhouse_write_duration_seconds_bucket", []string{"le", "table"}, "histogram_quantile(0.5,"},
		{"tocsin_clickhouse_write_duration_seconds_bucket", []string{"le", "table"}, "histogram_quantile(0.99,"},
		{"tocsin_spool_memory_records", []string{"buffer"}, ""},
		{"tocsin_spool_disk_records", []string{"buffer"}, ""},
		{"tocsin_kafka_produce_errors_total", []string{"topic"}, "rate("},
	} {
		found := slices.ContainsFunc(queries, func(q query) bool {
			by := slices.Clone(q.by)
			sort.Strings(by)
			return slices.Contains(metricRE.FindAllString(q.expr, -1), want.metric) &&
				slices.Equal(by, want.by) && strings.Contains(q.expr, want.also)
		})
		require.True(t, found, "no panel charts %s by %v with %q", want.metric, want.by, want.also)
	}
	for _, q := range queries {
		for _, m := range quantileRE.FindAllStringSubmatch(q.expr, -1) {
			v, err := strconv.ParseFloat(m[1], 64)
			require.NoError(t, err)
			require.True(t, v > 0 && v < 1, "quantile %s", m[1])
		}
	}
}

func TestCheckExprRejectsMistakes(t *testing.T) {
	for expr, want := range map[string]string{
		"sum(tocsin_ingest_events_total)":                                "inside rate()",
		"rate(tocsin_spool_full[5m])":                                    "gauge",
		"sum by (rule) (rate(tocsin_ingest_events_total[5m]))":           "no label",
		"sum(rate(tocsin_ingest_event_total[5m]))":                       "not a tocsin metric",
		"max(tocsin_stream_restore_seconds)":                             "not settled",
		"sum(rate(tocsin_clickhouse_write_duration_seconds_bucket[5m]))": "histogram_quantile",
		"up": "no tocsin metric",
	} {
		_, _, err := checkExpr(expr)
		require.ErrorContains(t, err, want, expr)
	}
	names, by, err := checkExpr("histogram_quantile(0.9, sum by (le, table) (rate(tocsin_clickhouse_write_duration_seconds_bucket[1m])))")
	require.NoError(t, err)
	require.Equal(t, []string{"tocsin_clickhouse_write_duration_seconds_bucket"}, names)
	require.Equal(t, []string{"le", "table"}, by)
}

// ---- kubernetes ----

type k8sObjects struct {
	all     []map[string]any
	byKind  map[string][]map[string]any
	config  map[string]any // tocsin.yaml of the ConfigMap
	secrets map[string]map[string]bool
}

// externalSecrets are Secrets the manifests expect to exist without
// defining them (deploy/k8s/README.md says how to make them).
var externalSecrets = map[string]bool{"tocsin-kafka-ca": true}

func loadK8s(t *testing.T) *k8sObjects {
	t.Helper()
	k := &k8sObjects{byKind: map[string][]map[string]any{}, secrets: map[string]map[string]bool{}}
	err := filepath.WalkDir("k8s", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		for _, doc := range yamlDocs(t, path) {
			k.all = append(k.all, doc)
			k.byKind[str(doc, "kind")] = append(k.byKind[str(doc, "kind")], doc)
		}
		return nil
	})
	require.NoError(t, err)
	for _, s := range k.byKind["Secret"] {
		keys := map[string]bool{}
		for key := range mp(s, "stringData") {
			keys[key] = true
		}
		for key := range mp(s, "data") {
			keys[key] = true
		}
		k.secrets[str(s, "metadata", "name")] = keys
	}
	require.Len(t, k.byKind["ConfigMap"], 1)
	require.NoError(t, yaml.Unmarshal([]byte(str(k.byKind["ConfigMap"][0], "data", "tocsin.yaml")), &k.config))
	return k
}

func TestK8sObjectsNamed(t *testing.T) {
	k := loadK8s(t)
	apiVersions := map[string]string{
		"Namespace": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
		"Deployment": "apps/v1", "HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
	}
	for _, o := range k.all {
		kind, name := str(o, "kind"), str(o, "metadata", "name")
		require.NotEmpty(t, kind)
		require.NotEmpty(t, name, "a %s without metadata.name", kind)
		require.Equal(t, apiVersions[kind], str(o, "apiVersion"), "%s %s", kind, name)
		if kind == "Namespace" {
			require.Equal(t, "tocsin", name)
		} else {
			require.Equal(t, "tocsin", str(o, "metadata", "namespace"), "%s %s", kind, name)
		}
	}
	require.Len(t, k.byKind["Namespace"], 1)
	require.Len(t, k.byKind["Deployment"], 3)
	require.Len(t, k.byKind["Service"], 2)
	require.Len(t, k.byKind["HorizontalPodAutoscaler"], 1)
	require.Len(t, k.byKind["PodDisruptionBudget"], 1)
	require.Equal(t, map[string]bool{"http-token": true, "clickhouse-password": true, "kafka-sasl-password": true},
		k.secrets["tocsin"])
}

// flatten lists the dotted keys of a decoded YAML mapping's leaves.
func flatten(prefix string, v any, out *[]string) {
	m, ok := v.(map[string]any)
	if !ok {
		*out = append(*out, prefix)
		return
	}
	for key, sub := range m {
		p := key
		if prefix != "" {
			p = prefix + "." + key
		}
		flatten(p, sub, out)
	}
}

func TestK8sConfigMapKeys(t *testing.T) {
	k := loadK8s(t)
	var keys []string
	flatten("", k.config, &keys)
	require.NotEmpty(t, keys)
	for _, key := range keys {
		require.True(t, slices.Contains(configKeys, key), "tocsin.yaml in the ConfigMap sets an unknown key %s", key)
	}
	require.NotContains(t, keys, "kafka.sasl.password", "the SASL password belongs in the Secret")
	require.NotContains(t, keys, "http.token", "the HTTP token belongs in the Secret")
	require.NotContains(t, keys, "clickhouse.dsn", "the DSN holds the ClickHouse password; it belongs in the Secret")
}

// quantity parses the Kubernetes quantities these manifests use.
func quantity(t *testing.T, s string) float64 {
	t.Helper()
	mult := map[string]float64{"m": 1e-3, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "": 1}
	for _, suf := range []string{"Ki", "Mi", "Gi", "m", ""} {
		if n, ok := strings.CutSuffix(s, suf); ok {
			v, err := strconv.ParseFloat(n, 64)
			require.NoError(t, err, "quantity %q", s)
			return v * mult[suf]
		}
	}
	return 0
}

func containerPort(t *testing.T, ctr any, ref string) (int, string) {
	t.Helper()
	for _, p := range list(ctr, "ports") {
		if str(p, "name") == ref || str(p, "containerPort") == ref {
			n, err := strconv.Atoi(str(p, "containerPort"))
			require.NoError(t, err)
			return n, str(p, "protocol")
		}
	}
	require.Fail(t, "no such container port", "%q", ref)
	return 0, ""
}

func subset(small, big map[string]any) bool {
	for k, v := range small {
		if big[k] != v {
			return false
		}
	}
	return len(small) > 0
}

func TestK8sDeployments(t *testing.T) {
	k := loadK8s(t)
	cm := str(k.byKind["ConfigMap"][0], "metadata", "name")
	podLabels := map[string]map[string]any{}
	roles := map[string]map[string]any{}
	for _, d := range k.byKind["Deployment"] {
		name := str(d, "metadata", "name")
		pod := mp(d, "spec", "template")
		labels := mp(pod, "metadata", "labels")
		require.True(t, subset(mp(d, "spec", "selector", "matchLabels"), labels), "%s: selector does not match its pods", name)
		podLabels[name] = labels

		spec := mp(pod, "spec")
		require.Equal(t, true, get(spec, "securityContext", "runAsNonRoot"), name)
		require.NotZero(t, get(spec, "securityContext", "runAsUser"), name)
		volumes := map[string]any{}
		for _, v := range list(spec, "volumes") {
			volumes[str(v, "name")] = v
		}
		ctrs := list(spec, "containers")
		require.Len(t, ctrs, 1, name)
		ctr := ctrs[0]
		role := strs(get(ctr, "args"))[0]
		require.Equal(t, "tocsin-"+role, name)
		roles[role] = d

		sc := mp(ctr, "securityContext")
		require.Equal(t, true, sc["readOnlyRootFilesystem"], name)
		require.Equal(t, false, sc["allowPrivilegeEscalation"], name)
		require.Contains(t, strs(get(sc, "capabilities", "drop")), "ALL", name)

		for _, res := range []string{"cpu", "memory"} {
			req, lim := str(ctr, "resources", "requests", res), str(ctr, "resources", "limits", res)
			require.NotEmpty(t, req, "%s: no %s request", name, res)
			require.NotEmpty(t, lim, "%s: no %s limit", name, res)
			require.LessOrEqual(t, quantity(t, req), quantity(t, lim), "%s: %s request above limit", name, res)
		}

		// Environment: known variables, Secret keys that exist, $(VAR)
		// references to variables defined before.
		env := map[string]string{}
		defined := map[string]bool{}
		for _, e := range list(ctr, "env") {
			n := str(e, "name")
			for _, ref := range regexp.MustCompile(`\$\(([A-Z0-9_]+)\)`).FindAllStringSubmatch(str(e, "value"), -1) {
				require.True(t, defined[ref[1]], "%s: %s uses $(%s) before it is defined", name, n, ref[1])
			}
			if ref := mp(e, "valueFrom", "secretKeyRef"); ref != nil {
				require.True(t, k.secrets[str(ref, "name")][str(ref, "key")], "%s: %s reads a missing Secret key", name, n)
			}
			defined[n] = true
			env[n] = str(e, "value")
		}

		mounts := map[string]string{}
		for _, m := range list(ctr, "volumeMounts") {
			v := volumes[str(m, "name")]
			require.NotNil(t, v, "%s mounts a volume it does not define", name)
			mounts[str(m, "mountPath")] = str(m, "name")
			if cmName := str(v, "configMap", "name"); cmName != "" {
				require.Equal(t, cm, cmName)
				require.Equal(t, env["TOCSIN_CONFIG"], str(m, "mountPath"), "%s: TOCSIN_CONFIG is not the mounted file", name)
			}
			if s := str(v, "secret", "secretName"); s != "" {
				require.True(t, k.secrets[s] != nil || externalSecrets[s], "%s mounts an unknown Secret %s", name, s)
				for _, it := range list(v, "secret", "items") {
					require.True(t, k.secrets[s][str(it, "key")], "%s mounts a missing key of %s", name, s)
				}
			}
		}
		require.Contains(t, mounts, "/tmp", "%s: a read-only root needs a writable /tmp", name)
		require.Contains(t, mounts, str(k.config, "data_dir"), "%s: data_dir is not a volume", name)
		require.Contains(t, mounts, filepath.Dir(str(k.config, "kafka", "tls", "ca_file")), "%s: no Kafka CA", name)
		if f := env["TOCSIN_HTTP_TOKEN_FILE"]; f != "" {
			require.Contains(t, mounts, filepath.Dir(f), "%s: the token file is not mounted", name)
		}

		// Probes and scrape annotations on the role's own address.
		var addr string
		if v, ok := env[envName(roleAddressKey[role])]; ok {
			addr = v
		} else {
			addr = str(get(k.config, strings.Split(roleAddressKey[role], ".")...))
		}
		require.NotEmpty(t, addr, "%s: %s is not set", name, roleAddressKey[role])
		want := port(t, addr)
		// Readiness asks whether the role can work now; liveness only
		// whether it serves, so that waiting for Kafka, ClickHouse or
		// partitions never restarts a pod.
		for probe, path := range map[string]string{"livenessProbe": "/livez", "readinessProbe": "/healthz"} {
			require.Equal(t, path, str(ctr, probe, "httpGet", "path"), "%s %s", name, probe)
			p, _ := containerPort(t, ctr, str(ctr, probe, "httpGet", "port"))
			require.Equal(t, want, p, "%s: %s asks another port than %s", name, probe, addr)
		}
		ann := mp(pod, "metadata", "annotations")
		require.Equal(t, "true", ann["prometheus.io/scrape"], name)
		require.Equal(t, strconv.Itoa(want), ann["prometheus.io/port"], name)
		require.Equal(t, "/metrics", ann["prometheus.io/path"], name)
	}
	require.Len(t, roles, 3)

	partitions, ok := get(k.config, "kafka", "partitions", "events").(int)
	require.True(t, ok)
	engines := get(roles["engine"], "spec", "replicas").(int)
	require.Equal(t, 3, engines)
	require.LessOrEqual(t, engines, partitions, "engines beyond the partition count do no work")
	require.Equal(t, 1, get(roles["ticketing"], "spec", "replicas"))
	require.Equal(t, "Recreate", str(roles["ticketing"], "spec", "strategy", "type"))

	pdb := k.byKind["PodDisruptionBudget"][0]
	require.True(t, subset(mp(pdb, "spec", "selector", "matchLabels"), podLabels["tocsin-engine"]))
	hpa := k.byKind["HorizontalPodAutoscaler"][0]
	require.Equal(t, "Deployment", str(hpa, "spec", "scaleTargetRef", "kind"))
	require.Equal(t, "tocsin-ingest", str(hpa, "spec", "scaleTargetRef", "name"))
	require.LessOrEqual(t, get(hpa, "spec", "minReplicas"), get(hpa, "spec", "maxReplicas"))

	// Every Service selects one Deployment's pods and targets ports they have.
	for _, s := range k.byKind["Service"] {
		name := str(s, "metadata", "name")
		sel := mp(s, "spec", "selector")
		var target map[string]any
		for d, labels := range podLabels {
			if subset(sel, labels) {
				require.Nil(t, target, "service %s selects two Deployments", name)
				target = roles[strings.TrimPrefix(d, "tocsin-")]
			}
		}
		require.NotNil(t, target, "service %s selects no pods", name)
		ctr := get(target, "spec", "template", "spec", "containers", "0")
		var protos []string
		for _, p := range list(s, "spec", "ports") {
			_, proto := containerPort(t, ctr, str(p, "targetPort"))
			require.Equal(t, str(p, "protocol"), proto, "service %s port %s", name, str(p, "name"))
			protos = append(protos, str(p, "port")+"/"+proto)
		}
		if name == "tocsin-ingest" {
			require.Subset(t, protos, []string{"5514/TCP", "5514/UDP"})
		}
	}
}

// ---- across files ----

// scanned are the files whose TOCSIN_* variables, metric names and paths
// the next tests check.
func scanned(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".go") {
			return err
		}
		files = append(files, path)
		return nil
	})
	require.NoError(t, err)
	return append(files, "../docs/production.md")
}

func TestEnvVariablesAreConfigKeys(t *testing.T) {
	known := knownEnv()
	re := regexp.MustCompile(`\bTOCSIN_[A-Z0-9_]*[A-Z0-9]`)
	seen := 0
	for _, f := range scanned(t) {
		for _, v := range re.FindAllString(string(readFile(t, f)), -1) {
			require.True(t, known[v], "%s uses %s, which sets no configuration key", f, v)
			seen++
		}
	}
	require.Greater(t, seen, 20)
	require.False(t, known["TOCSIN_KAFKA_SASL_PASSWORDS"])
	require.False(t, known["TOCSIN_TICKETING_WEBHOOKS"])
}

// dockerfileEnv is the environment the image sets.
func dockerfileEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, line := range strings.Split(string(readFile(t, "Dockerfile")), "\n") {
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			env = append(env, strings.Fields(rest)...)
		}
	}
	return env
}

// TestComposeRolesLoad hands each compose role's environment, on top of the
// image's, to tocsin's own configuration loader, which must accept it.
func TestComposeRolesLoad(t *testing.T) {
	c := loadCompose(t)
	for _, svc := range c.tocsinServices() {
		t.Run(svc, func(t *testing.T) {
			dir := t.TempDir()
			var env []string
			for _, kv := range dockerfileEnv(t) {
				if strings.HasPrefix(kv, "TOCSIN_DATA_DIR=") {
					kv = "TOCSIN_DATA_DIR=" + dir // the image's volume
				}
				env = append(env, kv)
			}
			for k, v := range c.environment(t, svc) {
				if secret, ok := strings.CutPrefix(v, "/run/secrets/"); ok {
					from := str(c.doc, "secrets", secret, "environment")
					v = filepath.Join(dir, secret)
					require.NoError(t, os.WriteFile(v, []byte(c.env[from]), 0o600))
				}
				env = append(env, k+"="+v)
			}
			cfg, err := config.Load(nil, env)
			require.NoError(t, err)
			require.True(t, cfg.UsesKafka())
			require.Equal(t, c.role(svc) == "ticketing", cfg.UsesClickHouse(), "only ticketing needs ClickHouse")
		})
	}
}

// TestK8sRolesLoad lays each Deployment's mounts out in a temporary
// directory (the ConfigMap's file, the Secret's items, a CA file) and hands
// its environment to tocsin's configuration loader, which must accept it.
func TestK8sRolesLoad(t *testing.T) {
	k := loadK8s(t)
	secret := k.byKind["Secret"][0]
	cmData := mp(k.byKind["ConfigMap"][0], "data")
	for _, d := range k.byKind["Deployment"] {
		name := str(d, "metadata", "name")
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			spec := get(d, "spec", "template", "spec")
			ctr := get(spec, "containers", "0")
			volumes := map[string]any{}
			for _, v := range list(spec, "volumes") {
				volumes[str(v, "name")] = v
			}
			var mountPaths []string
			for _, m := range list(ctr, "volumeMounts") {
				path := filepath.Join(root, str(m, "mountPath"))
				mountPaths = append(mountPaths, str(m, "mountPath"))
				v := volumes[str(m, "name")]
				switch {
				case get(v, "configMap") != nil:
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
					require.NoError(t, os.WriteFile(path, []byte(str(cmData, str(m, "subPath"))), 0o600))
				case str(v, "secret", "secretName") == "tocsin-kafka-ca":
					require.NoError(t, os.MkdirAll(path, 0o755))
					require.NoError(t, os.WriteFile(filepath.Join(path, "ca.crt"), []byte("CA"), 0o600))
				case get(v, "secret") != nil:
					require.NoError(t, os.MkdirAll(path, 0o755))
					for _, it := range list(v, "secret", "items") {
						val := str(secret, "stringData", str(it, "key"))
						require.NoError(t, os.WriteFile(filepath.Join(path, str(it, "path")), []byte(val), 0o600))
					}
				default:
					require.NoError(t, os.MkdirAll(path, 0o755))
				}
			}
			// Paths inside the container become paths under root, in the
			// environment and in the mounted tocsin.yaml.
			sort.Slice(mountPaths, func(i, j int) bool { return len(mountPaths[i]) > len(mountPaths[j]) })
			pathRE := regexp.MustCompile(`(^|\s)(/\S*)`)
			relocate := func(s string) string {
				return pathRE.ReplaceAllStringFunc(s, func(m string) string {
					lead, path := m[:len(m)-len(strings.TrimLeft(m, " \t"))], strings.TrimLeft(m, " \t")
					for _, mpath := range mountPaths {
						if path == mpath || strings.HasPrefix(path, mpath+"/") {
							return lead + root + path
						}
					}
					return m
				})
			}
			for _, m := range list(ctr, "volumeMounts") {
				if str(m, "subPath") != "" {
					path := filepath.Join(root, str(m, "mountPath"))
					data := readFile(t, path)
					var out []string
					for _, line := range strings.Split(string(data), "\n") {
						out = append(out, relocate(line))
					}
					require.NoError(t, os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o600))
				}
			}
			vars := map[string]string{}
			var env []string
			for _, e := range list(ctr, "env") {
				v := str(e, "value")
				if ref := mp(e, "valueFrom", "secretKeyRef"); ref != nil {
					v = str(secret, "stringData", str(ref, "key"))
				}
				v = regexp.MustCompile(`\$\(([A-Z0-9_]+)\)`).ReplaceAllStringFunc(v, func(m string) string {
					return vars[m[2:len(m)-1]]
				})
				v = relocate(v)
				vars[str(e, "name")] = v
				env = append(env, str(e, "name")+"="+v)
			}
			cfg, err := config.Load(nil, env)
			require.NoError(t, err)
			require.True(t, cfg.UsesKafka())
			require.Equal(t, "scram-sha-512", cfg.Kafka.SASL.Mechanism)
			require.Equal(t, str(secret, "stringData", "kafka-sasl-password"), cfg.Kafka.SASL.Password)
			require.Equal(t, name == "tocsin-ticketing", cfg.UsesClickHouse(), "only ticketing needs ClickHouse")
		})
	}
}

func TestDocsNameRealThings(t *testing.T) {
	pathRE := regexp.MustCompile("`((?:deploy|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_/])`")
	keyRE := regexp.MustCompile("`((?:kafka|clickhouse|ingest|engine|http|syslog|relp|ticketing|rules|log)(?:\\.[a-z_]+)+)`")
	isKey := func(k string) bool {
		return slices.ContainsFunc(configKeys, func(c string) bool { return c == k || strings.HasPrefix(c, k+".") })
	}
	for _, f := range scanned(t) {
		if filepath.Ext(f) != ".md" {
			continue
		}
		text := string(readFile(t, f))
		for _, m := range pathRE.FindAllStringSubmatch(text, -1) {
			_, err := os.Stat(filepath.Join("..", m[1]))
			require.NoError(t, err, "%s names %s", f, m[1])
		}
		for _, m := range keyRE.FindAllStringSubmatch(text, -1) {
			require.True(t, isKey(m[1]), "%s names the configuration key %s, which does not exist", f, m[1])
		}
		for _, m := range metricRE.FindAllString(text, -1) {
			base, _ := baseMetric(m)
			_, ok := metrics[base]
			require.True(t, ok, "%s names the metric %s, which does not exist", f, m)
		}
	}
}

func TestDockerfile(t *testing.T) {
	text := string(readFile(t, "Dockerfile"))
	args := map[string]string{}
	var froms []string
	user := ""
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "ARG":
			if k, v, ok := strings.Cut(fields[1], "="); ok {
				args[k] = v
			}
		case "FROM":
			froms = append(froms, os.Expand(fields[1], func(k string) string { return args[k] }))
		case "USER":
			user = fields[1]
		}
	}
	require.Len(t, froms, 2, "a build stage and a runtime stage")
	require.Equal(t, "golang:1.26", froms[0])
	require.Contains(t, text, "CGO_ENABLED=0")
	require.Contains(t, text, "./cmd/tocsin")
	require.DirExists(t, "../cmd/tocsin")
	uid, _, _ := strings.Cut(user, ":")
	require.NotContains(t, []string{"", "0", "root"}, uid, "the image must not run as root")
	require.Contains(t, text, "/var/lib/tocsin")
}
