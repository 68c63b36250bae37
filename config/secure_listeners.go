package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

// TLSListenerConfig sets a stream listener that speaks TLS: syslog over
// TLS (syslog.tls), or RELP (relp) when the files are set. An empty
// Address disables it.
type TLSListenerConfig struct {
	ListenerConfig `yaml:",inline"`
	// CertFile and KeyFile are the server's PEM certificate (chain) and
	// key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile holds the CA certificates that client certificates
	// must chain to; ClientAuth is none, request (verify a certificate
	// that is given) or require.
	ClientCAFile string `yaml:"client_ca_file"`
	ClientAuth   string `yaml:"client_auth"`
}

// RELPConfig sets the RELP listener (rsyslog's omrelp). TLS is on when
// cert_file and key_file are set, as omrelp's tls="on" needs.
type RELPConfig struct {
	TLSListenerConfig `yaml:",inline"`
	// AckTimeout bounds how long a batch of messages may take to be
	// stored (with Kafka: accepted by Kafka) before its frames are
	// answered with an error, which makes the sender keep them.
	AckTimeout time.Duration `yaml:"ack_timeout"`
}

// TLSEnabled reports whether the listener speaks TLS.
func (l TLSListenerConfig) TLSEnabled() bool { return l.CertFile != "" || l.KeyFile != "" }

// defaultTLSListener is syslog.tls's default: off, and the TCP
// listener's limits once an address is set.
func defaultTLSListener() TLSListenerConfig {
	return TLSListenerConfig{
		ListenerConfig: ListenerConfig{MaxMessageSize: 1 << 20, MaxConnections: 1024,
			IdleTimeout: 5 * time.Minute, EvictIdle: 10 * time.Second},
		ClientAuth: "none",
	}
}

// defaultRELP is relp's default: off.
func defaultRELP() RELPConfig {
	return RELPConfig{TLSListenerConfig: defaultTLSListener(), AckTimeout: 30 * time.Second}
}

// validateStreamListeners checks the rate limits of every listener and
// the syslog.tls and relp sections. Certificate files are read now, so
// that a wrong path or a key that does not match stops tocsin at start.
func (c *Config) validateStreamListeners() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, l := range []struct {
		key string
		cfg ListenerConfig
	}{
		{"syslog.udp", c.Syslog.UDP}, {"syslog.tcp", c.Syslog.TCP},
		{"syslog.tls", c.Syslog.TLS.ListenerConfig}, {"relp", c.RELP.ListenerConfig},
	} {
		if l.cfg.Rate < 0 {
			bad("%s.rate: %d must be 0 (no limit) or a number of lines per second", l.key, l.cfg.Rate)
		}
		if l.cfg.Burst < 0 {
			bad("%s.burst: %d must not be negative", l.key, l.cfg.Burst)
		}
		if l.cfg.Burst > 0 && l.cfg.Rate == 0 {
			bad("%s.burst: %d is set without %s.rate; set the rate too, or remove the burst", l.key, l.cfg.Burst, l.key)
		}
	}
	for _, l := range []struct {
		key string
		cfg TLSListenerConfig
		tls bool // TLS is required
	}{{"syslog.tls", c.Syslog.TLS, true}, {"relp", c.RELP.TLSListenerConfig, false}} {
		errs = append(errs, l.cfg.validate(l.key, l.tls)...)
	}
	if c.RELP.AckTimeout < time.Second || c.RELP.AckTimeout > 10*time.Minute {
		bad("relp.ack_timeout: %s is outside 1s..10m", c.RELP.AckTimeout)
	}
	// Two TCP listeners cannot share a port (0.0.0.0 and a host's own
	// address clash too). The HTTP ingest endpoint checks its own
	// neighbours.
	tcp := []struct{ key, addr string }{
		{"syslog.tcp", c.Syslog.TCP.Address}, {"syslog.tls", c.Syslog.TLS.Address}, {"relp", c.RELP.Address},
		{"http", c.HTTP.Address},
	}
	for i, a := range tcp {
		for _, b := range tcp[:i] {
			if a.addr != "" && b.addr != "" && sameListenAddress(a.addr, b.addr) {
				bad("%s.address: %q takes the port of %s.address (%q); each TCP listener needs its own port", a.key, a.addr, b.key, b.addr)
			}
		}
		if a.key != "http" && c.HTTPIngest.Address != "" && a.addr != "" && sameListenAddress(a.addr, c.HTTPIngest.Address) {
			bad("%s.address: %q takes the port of http_ingest.address (%q); each TCP listener needs its own port", a.key, a.addr, c.HTTPIngest.Address)
		}
	}
	return errs
}

// validate checks one TLS-capable listener named key. needTLS makes the
// certificate and key required once the listener has an address.
func (l TLSListenerConfig) validate(key string, needTLS bool) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if l.Address != "" {
		if err := checkHostPort(l.Address); err != nil {
			bad("%s.address: %v", key, err)
		}
	}
	if l.Timezone != "" {
		if _, err := time.LoadLocation(l.Timezone); err != nil {
			bad("%s.timezone: %q is not a known time zone: %v", key, l.Timezone, err)
		}
	}
	if l.MaxMessageSize < 480 || l.MaxMessageSize > 64<<20 {
		bad("%s.max_message_size: %d is outside 480..%d bytes", key, l.MaxMessageSize, 64<<20)
	}
	if l.MaxConnections < 1 {
		bad("%s.max_connections: %d must be at least 1", key, l.MaxConnections)
	}
	if l.IdleTimeout < time.Second {
		bad("%s.idle_timeout: %s must be at least 1s", key, l.IdleTimeout)
	}
	if l.EvictIdle < time.Second {
		bad("%s.evict_idle: %s must be at least 1s", key, l.EvictIdle)
	}
	switch l.ClientAuth {
	case "none", "request", "require":
	default:
		bad("%s.client_auth: %q is not one of none, request, require", key, l.ClientAuth)
	}
	tlsOn := l.TLSEnabled()
	switch {
	case needTLS && l.Address != "" && (l.CertFile == "" || l.KeyFile == ""):
		bad("%s: cert_file and key_file are required to listen for syslog over TLS", key)
	case !needTLS && tlsOn && (l.CertFile == "" || l.KeyFile == ""):
		bad("%s: set both cert_file and key_file for TLS, or neither for plain RELP", key)
	}
	if !tlsOn && !needTLS && (l.ClientCAFile != "" || l.ClientAuth != "none") {
		bad("%s: client_ca_file and client_auth need TLS: set cert_file and key_file too", key)
	}
	needCA := l.ClientAuth == "request" || l.ClientAuth == "require"
	switch {
	case needCA && l.ClientCAFile == "":
		bad("%s.client_ca_file: client_auth %s needs the CA that client certificates must chain to", key, l.ClientAuth)
	case !needCA && l.ClientCAFile != "":
		bad("%s.client_ca_file: set, but client_auth is none, so it would not be used; "+
			"set client_auth to request or require, or remove the file", key)
	}
	if l.Address == "" {
		return errs // disabled: its files are not read
	}
	if l.CertFile != "" && l.KeyFile != "" {
		if _, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile); err != nil {
			bad("%s.cert_file, %s.key_file: cannot load %s with %s: %v; "+
				"check that both are PEM, readable by tocsin, and that the key belongs to the certificate",
				key, key, l.CertFile, l.KeyFile, err)
		}
	}
	if l.ClientCAFile != "" {
		data, err := os.ReadFile(l.ClientCAFile)
		switch {
		case err != nil:
			bad("%s.client_ca_file: %v", key, err)
		case !x509.NewCertPool().AppendCertsFromPEM(data):
			bad("%s.client_ca_file: %s holds no PEM certificate", key, l.ClientCAFile)
		}
	}
	return errs
}

// streamListenerSettings are the flags and variables of the keys this
// file adds: every listener's rate and burst, syslog.tls and relp. They
// join the settings table when the package loads.
var streamListenerSettings = []setting{
	{"syslog.udp.rate", "lines per second taken over UDP; more are dropped and counted (0: no cap)", integer(func(c *Config) *int { return &c.Syslog.UDP.Rate })},
	{"syslog.udp.burst", "lines taken at once above syslog.udp.rate (0: one second's worth)", integer(func(c *Config) *int { return &c.Syslog.UDP.Burst })},
	{"syslog.tcp.rate", "lines per second taken over TCP; senders are slowed down to it (0: no cap)", integer(func(c *Config) *int { return &c.Syslog.TCP.Rate })},
	{"syslog.tcp.burst", "lines taken at once above syslog.tcp.rate (0: one second's worth)", integer(func(c *Config) *int { return &c.Syslog.TCP.Burst })},
}

func init() {
	settings = append(settings, streamListenerSettings...)
	settings = append(settings, tlsListenerSettings("syslog.tls", "syslog over TLS", func(c *Config) *TLSListenerConfig { return &c.Syslog.TLS })...)
	settings = append(settings, tlsListenerSettings("relp", "RELP", func(c *Config) *TLSListenerConfig { return &c.RELP.TLSListenerConfig })...)
	settings = append(settings, setting{"relp.ack_timeout", "answer RELP messages not stored within this long with an error, so the sender keeps them",
		duration(func(c *Config) *time.Duration { return &c.RELP.AckTimeout })})
}

// tlsListenerSettings are the settings of the TLS-capable listener under
// key.
func tlsListenerSettings(key, what string, l func(*Config) *TLSListenerConfig) []setting {
	return []setting{
		{key + ".address", what + " listen address (empty disables)", str(func(c *Config) *string { return &l(c).Address })},
		{key + ".cert_file", what + ": server certificate (PEM)", str(func(c *Config) *string { return &l(c).CertFile })},
		{key + ".key_file", what + ": server key (PEM)", str(func(c *Config) *string { return &l(c).KeyFile })},
		{key + ".client_ca_file", what + ": CA certificates client certificates must chain to", str(func(c *Config) *string { return &l(c).ClientCAFile })},
		{key + ".client_auth", what + ": client certificates: none, request or require", str(func(c *Config) *string { return &l(c).ClientAuth })},
		{key + ".max_message_size", what + ": largest message in bytes; longer ones are cut and kept as failures", integer(func(c *Config) *int { return &l(c).MaxMessageSize })},
		{key + ".max_connections", what + ": most concurrent senders", integer(func(c *Config) *int { return &l(c).MaxConnections })},
		{key + ".idle_timeout", what + ": close senders idle this long", duration(func(c *Config) *time.Duration { return &l(c).IdleTimeout })},
		{key + ".evict_idle", what + ": at the connection limit, replace a sender idle this long", duration(func(c *Config) *time.Duration { return &l(c).EvictIdle })},
		{key + ".rate", what + ": lines per second; senders are slowed down to it (0: no cap)", integer(func(c *Config) *int { return &l(c).Rate })},
		{key + ".burst", what + ": lines taken at once above the rate (0: one second's worth)", integer(func(c *Config) *int { return &l(c).Burst })},
		{key + ".timezone", what + ": zone of zone-less timestamps (default syslog.timezone)", str(func(c *Config) *string { return &l(c).Timezone })},
		{key + ".format", what + ": the one format senders send (default auto: detect per message)", str(func(c *Config) *string { return &l(c).Format })},
	}
}
