package kafkabus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
)

// DefaultDialTimeout bounds a connection attempt, TLS handshake and SASL
// exchange included, when Config.DialTimeout is zero.
const DefaultDialTimeout = 10 * time.Second

// Config says how to reach the Kafka cluster.
type Config struct {
	// Brokers are bootstrap addresses, host:port. Any one of them that
	// answers is enough; the client learns the others from it.
	Brokers []string
	// ClientID names this process in the brokers' logs and quotas.
	// Default "tocsin".
	ClientID string
	// TLS, when not nil, encrypts every connection (see TLSConfig). Nil
	// means plaintext.
	TLS *tls.Config
	// SASL authenticates every connection when SASL.Mechanism is set.
	SASL SASL
	// DialTimeout bounds one connection attempt. Default
	// DefaultDialTimeout.
	DialTimeout time.Duration
}

// SASL holds the credentials for SASL authentication.
type SASL struct {
	// Mechanism is "" (none), "plain", "scram-sha-256" or "scram-sha-512".
	Mechanism string
	Username  string
	Password  string
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers: give at least one bootstrap address as host:port"))
	}
	for _, b := range c.Brokers {
		if err := checkBrokerAddress(b); err != nil {
			errs = append(errs, err)
		}
	}
	switch strings.ToLower(c.SASL.Mechanism) {
	case "":
		if c.SASL.Username != "" || c.SASL.Password != "" {
			errs = append(errs, errors.New("sasl: a username or password is set but no mechanism; set the mechanism to plain, scram-sha-256 or scram-sha-512, or remove the credentials"))
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if c.SASL.Username == "" {
			errs = append(errs, fmt.Errorf("sasl: mechanism %s needs a username", c.SASL.Mechanism))
		}
		if c.SASL.Password == "" {
			errs = append(errs, fmt.Errorf("sasl: mechanism %s needs a password", c.SASL.Mechanism))
		}
	default:
		errs = append(errs, fmt.Errorf("sasl: unknown mechanism %q; use plain, scram-sha-256 or scram-sha-512", c.SASL.Mechanism))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial timeout %s is negative; use 0 for the default (%s)", c.DialTimeout, DefaultDialTimeout))
	}
	return errors.Join(errs...)
}

func checkBrokerAddress(b string) error {
	host, port, err := net.SplitHostPort(b)
	if err != nil {
		return fmt.Errorf("broker %q is not host:port: %v", b, err)
	}
	if host == "" {
		return fmt.Errorf("broker %q has no host", b)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("broker %q: port %q is not a number between 1 and 65535", b, port)
	}
	return nil
}

func (c Config) clientID() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return "tocsin"
}

func (c Config) dialTimeout() time.Duration {
	if c.DialTimeout > 0 {
		return c.DialTimeout
	}
	return DefaultDialTimeout
}

// mechanism returns the SASL mechanism, nil for none. c must be valid.
func (c Config) mechanism() sasl.Mechanism {
	switch strings.ToLower(c.SASL.Mechanism) {
	case "plain":
		return plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}
	case "scram-sha-256":
		return newSCRAM(scramSHA256, c.SASL.Username, c.SASL.Password)
	case "scram-sha-512":
		return newSCRAM(scramSHA512, c.SASL.Username, c.SASL.Password)
	}
	return nil
}

// transport builds a connection pool for c. Each caller owns its
// transport and closes its idle connections when done.
func (c Config) transport() *kafka.Transport {
	d := &net.Dialer{Timeout: c.dialTimeout(), KeepAlive: 30 * time.Second}
	return &kafka.Transport{
		Dial:        d.DialContext,
		DialTimeout: c.dialTimeout(),
		ClientID:    c.clientID(),
		TLS:         c.TLS,
		SASL:        c.mechanism(),
		// The cluster layout (partition leaders, new topics and
		// partitions) is refreshed at random within this time; a request
		// sent to a former leader is retried until then.
		MetadataTTL: 5 * time.Second,
		IdleTimeout: 5 * time.Minute,
	}
}

// dialer is for kafka-go's consumer group, which speaks to the group
// coordinator over its own connections.
func (c Config) dialer() *kafka.Dialer {
	return &kafka.Dialer{
		ClientID:      c.clientID(),
		Timeout:       c.dialTimeout(),
		DualStack:     true,
		KeepAlive:     30 * time.Second,
		TLS:           c.TLS,
		SASLMechanism: c.mechanism(),
	}
}

func (c Config) addr() net.Addr { return kafka.TCP(c.Brokers...) }

// TLSConfig builds a client TLS configuration from PEM files. caFile may
// be empty to trust the system's roots; certFile and keyFile are given
// together for a client certificate (mutual TLS) or both left empty.
// serverName overrides the name checked in the broker's certificate
// (default: the host dialled). insecure skips verification of the
// broker's certificate entirely, for tests only.
func TLSConfig(caFile, certFile, keyFile, serverName string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, InsecureSkipVerify: insecure}
	var errs []error
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("cannot read the CA file: %w; give the path of the PEM file holding the certificate authority that signed the brokers' certificates", err))
		default:
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("CA file %s holds no PEM certificate (expected a block starting with -----BEGIN CERTIFICATE-----)", caFile))
			}
			cfg.RootCAs = pool
		}
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "" || keyFile == "":
		errs = append(errs, fmt.Errorf("a client certificate needs both a certificate file and a key file (got certificate %q, key %q)", certFile, keyFile))
	default:
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot load the client certificate %s with key %s: %w; both must be PEM and the key must match the certificate", certFile, keyFile, err))
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}
