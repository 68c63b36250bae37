package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// certFiles writes a self-signed certificate and its key, and a second
// key that does not belong to it, into a temporary directory.
func certFiles(t *testing.T) (cert, key, otherKey string) {
	t.Helper()
	dir := t.TempDir()
	newKey := func() (*ecdsa.PrivateKey, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		der, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	k, keyPEM := newKey()
	_, otherPEM := newKey()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "tocsin"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	cert, key, otherKey = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "other.key")
	require.NoError(t, os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(key, keyPEM, 0o600))
	require.NoError(t, os.WriteFile(otherKey, otherPEM, 0o600))
	return cert, key, otherKey
}

func TestTLSAndRELPAreOffByDefault(t *testing.T) {
	c, err := load(t, "", nil)
	require.NoError(t, err)
	require.Empty(t, c.Syslog.TLS.Address)
	require.Empty(t, c.RELP.Address)
	require.Equal(t, "none", c.RELP.ClientAuth)
	require.Equal(t, 30*time.Second, c.RELP.AckTimeout)
	require.Equal(t, 1<<20, c.Syslog.TLS.MaxMessageSize)
	require.Zero(t, c.Syslog.UDP.Rate)
}

func TestTLSAndRELPFromYAMLEnvAndFlags(t *testing.T) {
	cert, key, _ := certFiles(t)
	doc := `
syslog:
  udp: {rate: 5000, burst: 10000}
  tls:
    address: 127.0.0.1:6514
    cert_file: ` + cert + `
    key_file: ` + key + `
    client_ca_file: ` + cert + `
    client_auth: require
    max_connections: 50
    idle_timeout: 1m
    rate: 2000
    timezone: Europe/Paris
relp:
  address: 127.0.0.1:2514
  ack_timeout: 5s
  max_message_size: 131072
`
	c, err := load(t, doc, []string{"TOCSIN_RELP_CERT_FILE=" + cert, "TOCSIN_RELP_KEY_FILE=" + key},
		"--relp-burst", "300", "--relp-rate", "100")
	require.NoError(t, err)
	tl := c.Syslog.TLS
	require.Equal(t, "127.0.0.1:6514", tl.Address)
	require.Equal(t, cert, tl.CertFile)
	require.Equal(t, "require", tl.ClientAuth)
	require.Equal(t, 50, tl.MaxConnections)
	require.Equal(t, time.Minute, tl.IdleTimeout)
	require.Equal(t, 10*time.Second, tl.EvictIdle, "default kept")
	require.Equal(t, 2000, tl.Rate)
	require.Equal(t, "Europe/Paris", tl.ListenerLocation().String())
	require.Equal(t, 5000, c.Syslog.UDP.Rate)
	require.Equal(t, 10000, c.Syslog.UDP.Burst)

	r := c.RELP
	require.Equal(t, "127.0.0.1:2514", r.Address)
	require.Equal(t, 5*time.Second, r.AckTimeout)
	require.Equal(t, 131072, r.MaxMessageSize)
	require.True(t, r.TLSEnabled(), "cert and key from the environment")
	require.Equal(t, 100, r.Rate)
	require.Equal(t, 300, r.Burst)
}

func TestPlainRELPNeedsNoFiles(t *testing.T) {
	c, err := load(t, "", []string{"TOCSIN_RELP_ADDRESS=127.0.0.1:2514"})
	require.NoError(t, err)
	require.False(t, c.RELP.TLSEnabled())
}

func TestOnlyRELPIsEnough(t *testing.T) {
	_, err := load(t, "", nil, "--syslog-udp-address", "", "--syslog-tcp-address", "", "--relp-address", "127.0.0.1:2514")
	require.NoError(t, err, "a RELP listener alone is a way in")
}

func TestTLSAndRELPProblemsReportedAtOnce(t *testing.T) {
	cert, key, otherKey := certFiles(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	doc := `
syslog:
  tcp: {address: 127.0.0.1:7000, rate: -3}
  udp: {burst: 10}
  tls:
    address: 127.0.0.1:6514
    client_auth: sometimes
    max_message_size: 100
relp:
  address: 127.0.0.1:7000
  cert_file: ` + cert + `
  key_file: ` + otherKey + `
  client_auth: request
  client_ca_file: ` + missing + `
  ack_timeout: 0s
  idle_timeout: 10ms
`
	_, err := load(t, doc, nil)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"syslog.tcp.rate: -3 must be 0 (no limit) or a number of lines per second",
		"syslog.udp.burst: 10 is set without syslog.udp.rate",
		"syslog.tls: cert_file and key_file are required to listen for syslog over TLS",
		`syslog.tls.client_auth: "sometimes" is not one of none, request, require`,
		"syslog.tls.max_message_size: 100 is outside 480..67108864 bytes",
		"relp.cert_file, relp.key_file: cannot load " + cert + " with " + otherKey,
		"the key belongs to the certificate",
		"relp.client_ca_file: open " + missing + ": no such file or directory",
		"relp.ack_timeout: 0s is outside 1s..10m",
		"relp.idle_timeout: 10ms must be at least 1s",
		`relp.address: "127.0.0.1:7000" takes the port of syslog.tcp.address`,
	} {
		require.Contains(t, msg, want)
	}

	_, err = load(t, "relp: {address: 127.0.0.1:2514, key_file: "+key+", client_auth: require}\n", nil)
	require.ErrorContains(t, err, "relp: set both cert_file and key_file for TLS, or neither for plain RELP")
	require.ErrorContains(t, err, "relp.client_ca_file: client_auth require needs the CA")

	_, err = load(t, "relp: {address: 127.0.0.1:2514, client_ca_file: "+cert+"}\n", nil)
	require.ErrorContains(t, err, "relp: client_ca_file and client_auth need TLS")
	require.ErrorContains(t, err, "relp.client_ca_file: set, but client_auth is none")

	// A disabled listener's files are not read.
	_, err = load(t, "relp: {cert_file: "+missing+", key_file: "+missing+"}\n", nil)
	require.NoError(t, err)
}

func TestTLSFlagsAndHelp(t *testing.T) {
	c, err := load(t, "", nil, "--syslog-tls-client-auth", "request", "--syslog-tls-client-ca-file", "x")
	require.NoError(t, err, "the listener has no address, so its files are not read")
	require.Equal(t, "request", c.Syslog.TLS.ClientAuth)
	require.Equal(t, "x", c.Syslog.TLS.ClientCAFile)
	c, err = load(t, "", []string{"TOCSIN_RELP_ACK_TIMEOUT=2m"})
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, c.RELP.AckTimeout)

	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	require.Contains(t, fs.Lookup("syslog-tls-cert-file").Usage, "env TOCSIN_SYSLOG_TLS_CERT_FILE")
	require.Contains(t, fs.Lookup("relp-ack-timeout").Usage, "default 30s")
	require.Contains(t, fs.Lookup("relp-max-connections").Usage, "default 1024")
	require.Contains(t, fs.Lookup("syslog-udp-rate").Usage, "env TOCSIN_SYSLOG_UDP_RATE")
}

// Every pair of TCP listeners is checked for a shared port, the API and
// the HTTP ingest endpoint included.
func TestListenerPortsClash(t *testing.T) {
	c := Default()
	c.RELP.Address = "127.0.0.1:8080" // the API's default
	c.Syslog.TLS.Address = "0.0.0.0:5514"
	c.Syslog.TLS.CertFile, c.Syslog.TLS.KeyFile = "x", "y"
	c.HTTPIngest.Address = "127.0.0.1:5514"
	err := c.Validate()
	require.Error(t, err)
	require.Contains(t, err.Error(), `http.address: "127.0.0.1:8080" takes the port of relp.address`)
	require.Contains(t, err.Error(), `syslog.tls.address: "0.0.0.0:5514" takes the port of syslog.tcp.address`)
	require.Contains(t, err.Error(), `takes the port of http_ingest.address ("127.0.0.1:5514")`)
}
