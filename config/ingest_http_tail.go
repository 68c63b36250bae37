package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// HTTPIngestConfig sets the HTTP(S) ingest endpoint: JSON, NDJSON and
// text batches (Vector, Fluent Bit) and the Elasticsearch bulk API
// (Filebeat, Winlogbeat). An empty Address disables it.
type HTTPIngestConfig struct {
	Address string `yaml:"address"`
	// CertFile and KeyFile turn on HTTPS; ClientCAFile then requires a
	// client certificate signed by one of its CAs.
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
	// Token (Bearer), APIKey (Elasticsearch ApiKey, as "id:key") and
	// Username with Password (Basic) are the credentials a sender may
	// present; each has a *_file twin naming a file that holds it. With
	// none set, none is asked for, which only a loopback address allows
	// (or a client CA).
	Token        string `yaml:"token"`
	TokenFile    string `yaml:"token_file"`
	APIKey       string `yaml:"api_key"`
	APIKeyFile   string `yaml:"api_key_file"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// MaxBodyBytes bounds a request body after decompression.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// MaxRecordBytes is the longest record kept whole; a longer one is
	// cut and kept as a too_long parse failure.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxConcurrent bounds the requests handled at once.
	MaxConcurrent int `yaml:"max_concurrent"`
	// AckTimeout bounds the wait for a batch to be safe before the
	// answer; past it the sender is told to send again (503).
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// Rate limits the records per second taken (0: no limit).
	Rate float64 `yaml:"rate"`
	// Timezone, when set, replaces syslog.timezone for these senders.
	Timezone string `yaml:"timezone"`
	// Format, when set, is the one format of the records (see `tocsin
	// parse --formats`); empty or "auto" detects it per record.
	Format string `yaml:"format"`

	// Secrets read from the *_file keys by Validate.
	fileToken, fileAPIKey, filePassword string
}

// Credentials returns the token, API key, user name and password that
// senders may present, the *_file keys read; call after Validate.
func (h *HTTPIngestConfig) Credentials() (token, apiKey, username, password string) {
	token, apiKey, password = h.Token, h.APIKey, h.Password
	if h.TokenFile != "" {
		token = h.fileToken
	}
	if h.APIKeyFile != "" {
		apiKey = h.fileAPIKey
	}
	if h.PasswordFile != "" {
		password = h.filePassword
	}
	return token, apiKey, h.Username, password
}

// ListenerLocation returns the endpoint's own zone, or nil when it takes
// syslog.timezone; call after Validate.
func (h HTTPIngestConfig) ListenerLocation() *time.Location { return zone(h.Timezone) }

// TailConfig sets file tailing: the files to follow as they grow. No
// paths disables it.
type TailConfig struct {
	// Paths are files or glob patterns, expanded again on every poll.
	Paths []string `yaml:"paths"`
	// StateFile keeps each file's position across restarts (default
	// data_dir/tail-state.json).
	StateFile string `yaml:"state_file"`
	// StartAt is where a file never seen before, found at start, is read
	// from: end or beginning. Files that appear later are read from
	// their beginning.
	StartAt string `yaml:"start_at"`
	// PollInterval is how often the files are checked.
	PollInterval time.Duration `yaml:"poll_interval"`
	// MaxLineBytes is the longest line kept whole; a longer one is cut
	// and kept as a too_long parse failure.
	MaxLineBytes int `yaml:"max_line_bytes"`
	// PartialLineDelay is how long a last line without its newline waits
	// for the rest before it is taken as it is.
	PartialLineDelay time.Duration `yaml:"partial_line_delay"`
	// Timezone, when set, replaces syslog.timezone for these files.
	Timezone string `yaml:"timezone"`
	// Format, when set, is the one format of the files' lines; empty or
	// "auto" detects it per line.
	Format string `yaml:"format"`
}

// ListenerLocation returns the tailer's own zone, or nil when it takes
// syslog.timezone; call after Validate.
func (t TailConfig) ListenerLocation() *time.Location { return zone(t.Timezone) }

// TailStateFile returns the tail state file: tail.state_file, or
// tail-state.json in data_dir.
func (c *Config) TailStateFile() string {
	if c.Tail.StateFile != "" {
		return c.Tail.StateFile
	}
	return filepath.Join(c.DataDir, "tail-state.json")
}

// zone loads a checked zone name; empty gives nil.
func zone(name string) *time.Location {
	if name == "" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// Defaults of the http_ingest and tail sections.
func defaultHTTPIngest() HTTPIngestConfig {
	return HTTPIngestConfig{MaxBodyBytes: 16 << 20, MaxRecordBytes: 1 << 20, MaxConcurrent: 16, AckTimeout: 30 * time.Second}
}

func defaultTail() TailConfig {
	return TailConfig{StartAt: "end", PollInterval: 250 * time.Millisecond, MaxLineBytes: 1 << 20,
		PartialLineDelay: 5 * time.Second}
}

// validateHTTPIngestAndTail checks the http_ingest and tail sections and
// reads the secrets of the *_file keys. No message quotes a secret.
func (c *Config) validateHTTPIngestAndTail() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	h := &c.HTTPIngest

	for _, s := range []struct {
		key   string
		value string
		file  string
		out   *string
	}{
		{"token", h.Token, h.TokenFile, &h.fileToken},
		{"api_key", h.APIKey, h.APIKeyFile, &h.fileAPIKey},
		{"password", h.Password, h.PasswordFile, &h.filePassword},
	} {
		if s.file == "" {
			continue
		}
		if s.value != "" {
			bad("http_ingest.%s_file: set either http_ingest.%s or http_ingest.%s_file, not both", s.key, s.key, s.key)
		}
		data, err := os.ReadFile(s.file)
		switch {
		case err != nil:
			bad("http_ingest.%s_file: %v", s.key, err)
		case strings.TrimSpace(string(data)) == "":
			bad("http_ingest.%s_file: %s is empty", s.key, s.file)
		default:
			*s.out = strings.TrimSpace(string(data))
		}
	}
	token, apiKey, user, password := h.Credentials()
	if (user == "") != (password == "") {
		bad("http_ingest.username: the user name and the password (http_ingest.password or password_file) go together; set both or neither")
	}
	if h.Address != "" {
		if err := checkHostPort(h.Address); err != nil {
			bad("http_ingest.address: %v", err)
		} else if host, _, _ := net.SplitHostPort(h.Address); !isLoopback(host) &&
			token == "" && apiKey == "" && user == "" && h.ClientCAFile == "" {
			bad("http_ingest.address: %q listens beyond loopback, so senders must authenticate: "+
				"set http_ingest.token, api_key, username and password, or client_ca_file", h.Address)
		}
		for _, other := range []struct{ key, addr string }{
			{"http.address", c.HTTP.Address}, {"ingest.metrics_address", c.Ingest.MetricsAddress},
			{"engine.metrics_address", c.Engine.MetricsAddress},
		} {
			if sameListenAddress(h.Address, other.addr) {
				bad("http_ingest.address: %q is already %s; give the ingest endpoint a port of its own", h.Address, other.key)
			}
		}
	}
	switch {
	case (h.CertFile == "") != (h.KeyFile == ""):
		bad("http_ingest.cert_file: the certificate and key files (http_ingest.cert_file, key_file) go together; set both or neither")
	case h.CertFile != "":
		if _, err := tls.LoadX509KeyPair(h.CertFile, h.KeyFile); err != nil {
			bad("http_ingest.cert_file: cannot load the certificate and key: %v", err)
		}
	}
	if h.ClientCAFile != "" {
		if h.CertFile == "" {
			bad("http_ingest.client_ca_file: client certificates need HTTPS; set http_ingest.cert_file and key_file too")
		}
		if pem, err := os.ReadFile(h.ClientCAFile); err != nil {
			bad("http_ingest.client_ca_file: %v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			bad("http_ingest.client_ca_file: %s holds no PEM certificate", h.ClientCAFile)
		}
	}
	if h.MaxBodyBytes < 1024 || h.MaxBodyBytes > 1<<30 {
		bad("http_ingest.max_body_bytes: %d is outside 1024..1073741824 bytes", h.MaxBodyBytes)
	}
	if h.MaxRecordBytes < 480 || h.MaxRecordBytes > 64<<20 {
		bad("http_ingest.max_record_bytes: %d is outside 480..67108864 bytes", h.MaxRecordBytes)
	} else if h.MaxRecordBytes > h.MaxBodyBytes && h.MaxBodyBytes >= 1024 {
		bad("http_ingest.max_record_bytes: %d is larger than http_ingest.max_body_bytes (%d)", h.MaxRecordBytes, h.MaxBodyBytes)
	}
	if h.MaxConcurrent < 1 || h.MaxConcurrent > 4096 {
		bad("http_ingest.max_concurrent: %d is outside 1..4096", h.MaxConcurrent)
	}
	if h.AckTimeout < time.Second || h.AckTimeout > 10*time.Minute {
		bad("http_ingest.ack_timeout: %s is outside 1s..10m", h.AckTimeout)
	}
	if h.Rate < 0 || math.IsNaN(h.Rate) || math.IsInf(h.Rate, 0) {
		bad("http_ingest.rate: %v must be 0 (no limit) or a number of records per second", h.Rate)
	}
	if h.Timezone != "" {
		if _, err := time.LoadLocation(h.Timezone); err != nil {
			bad("http_ingest.timezone: %q is not a known time zone: %v", h.Timezone, err)
		}
	}

	if err := (parse.Options{Format: h.Format}).Validate(); err != nil {
		bad("http_ingest.format: %v", err)
	}

	t := &c.Tail
	if err := (parse.Options{Format: t.Format}).Validate(); err != nil {
		bad("tail.format: %v", err)
	}
	for i, p := range t.Paths {
		if p == "" {
			bad("tail.paths[%d]: must not be empty", i)
		} else if _, err := filepath.Match(p, ""); err != nil {
			bad("tail.paths[%d]: %q is not a valid glob pattern: %v", i, p, err)
		}
	}
	if t.StartAt != "end" && t.StartAt != "beginning" {
		bad("tail.start_at: %q is not one of end, beginning", t.StartAt)
	}
	if t.PollInterval < 10*time.Millisecond || t.PollInterval > time.Minute {
		bad("tail.poll_interval: %s is outside 10ms..1m", t.PollInterval)
	}
	if t.MaxLineBytes < 480 || t.MaxLineBytes > 64<<20 {
		bad("tail.max_line_bytes: %d is outside 480..67108864 bytes", t.MaxLineBytes)
	}
	if t.PartialLineDelay < t.PollInterval || t.PartialLineDelay > time.Hour {
		bad("tail.partial_line_delay: %s must be between tail.poll_interval (%s) and 1h", t.PartialLineDelay, t.PollInterval)
	}
	if t.Timezone != "" {
		if _, err := time.LoadLocation(t.Timezone); err != nil {
			bad("tail.timezone: %q is not a known time zone: %v", t.Timezone, err)
		}
	}
	return errs
}

// sameListenAddress reports whether two listen addresses would take the
// same port on the same host (a port of 0 picks a free one).
func sameListenAddress(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

func init() {
	h := func(c *Config) *HTTPIngestConfig { return &c.HTTPIngest }
	t := func(c *Config) *TailConfig { return &c.Tail }
	settings = append(settings,
		setting{"http_ingest.address", "HTTP(S) ingest listen address for JSON, NDJSON and _bulk bodies (empty disables)", str(func(c *Config) *string { return &h(c).Address })},
		setting{"http_ingest.cert_file", "HTTP ingest: server certificate (PEM); with key_file serves HTTPS", str(func(c *Config) *string { return &h(c).CertFile })},
		setting{"http_ingest.key_file", "HTTP ingest: server key (PEM)", str(func(c *Config) *string { return &h(c).KeyFile })},
		setting{"http_ingest.client_ca_file", "HTTP ingest: CA that client certificates must chain to", str(func(c *Config) *string { return &h(c).ClientCAFile })},
		setting{"http_ingest.token_file", "HTTP ingest: file holding the bearer token senders must present", str(func(c *Config) *string { return &h(c).TokenFile })},
		setting{"http_ingest.api_key_file", "HTTP ingest: file holding the Elasticsearch-style API key senders must present", str(func(c *Config) *string { return &h(c).APIKeyFile })},
		setting{"http_ingest.username", "HTTP ingest: basic-auth user", str(func(c *Config) *string { return &h(c).Username })},
		setting{"http_ingest.password_file", "HTTP ingest: file holding the basic-auth password", str(func(c *Config) *string { return &h(c).PasswordFile })},
		setting{"http_ingest.max_body_bytes", "HTTP ingest: largest request body after decompression", integer(func(c *Config) *int { return &h(c).MaxBodyBytes })},
		setting{"http_ingest.max_record_bytes", "HTTP ingest: largest record; longer ones are cut and kept as failures", integer(func(c *Config) *int { return &h(c).MaxRecordBytes })},
		setting{"http_ingest.max_concurrent", "HTTP ingest: requests served at once (more get 429)", integer(func(c *Config) *int { return &h(c).MaxConcurrent })},
		setting{"http_ingest.ack_timeout", "HTTP ingest: answer 503 when a batch is not safe within this long", duration(func(c *Config) *time.Duration { return &h(c).AckTimeout })},
		setting{"http_ingest.timezone", "HTTP ingest: zone of zone-less timestamps (default syslog.timezone)", str(func(c *Config) *string { return &h(c).Timezone })},
		setting{"http_ingest.format", "HTTP ingest: the one format of the records (default auto)", str(func(c *Config) *string { return &h(c).Format })},
		setting{"tail.paths", "comma-separated files or globs to follow", list(func(c *Config) *[]string { return &t(c).Paths })},
		setting{"tail.state_file", "where followed files' positions are kept (default data_dir/tail-state.json)", str(func(c *Config) *string { return &t(c).StateFile })},
		setting{"tail.start_at", "where a file never seen before is read from: end or beginning", str(func(c *Config) *string { return &t(c).StartAt })},
		setting{"tail.poll_interval", "how often followed files are checked", duration(func(c *Config) *time.Duration { return &t(c).PollInterval })},
		setting{"tail.max_line_bytes", "longest line kept whole; longer ones are cut and kept as failures", integer(func(c *Config) *int { return &t(c).MaxLineBytes })},
		setting{"tail.timezone", "zone of zone-less timestamps in followed files (default syslog.timezone)", str(func(c *Config) *string { return &t(c).Timezone })},
		setting{"tail.format", "the one format of followed files (default auto)", str(func(c *Config) *string { return &t(c).Format })},
	)
}
