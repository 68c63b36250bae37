package kafkabus

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigValidateListsEveryProblem(t *testing.T) {
	err := Config{
		Brokers:     []string{"kafka1:9092", "nohost", ":9092", "h:99999"},
		SASL:        SASL{Mechanism: "scram-sha-1"},
		DialTimeout: -time.Second,
	}.Validate()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`broker "nohost" is not host:port`,
		`broker ":9092" has no host`,
		`broker "h:99999": port "99999" is not a number between 1 and 65535`,
		`unknown mechanism "scram-sha-1"`,
		"dial timeout -1s is negative",
	} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "kafka1:9092")

	err = Config{}.Validate()
	require.ErrorContains(t, err, "no brokers")

	err = Config{Brokers: []string{"k:1"}, SASL: SASL{Mechanism: "plain"}}.Validate()
	require.ErrorContains(t, err, "mechanism plain needs a username")
	require.ErrorContains(t, err, "mechanism plain needs a password")

	err = Config{Brokers: []string{"k:1"}, SASL: SASL{Username: "u", Password: "p"}}.Validate()
	require.ErrorContains(t, err, "no mechanism")

	require.NoError(t, Config{Brokers: []string{"127.0.0.1:9092", "[::1]:9093"},
		SASL: SASL{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"}}.Validate())
}

func TestConfigMechanism(t *testing.T) {
	for mech, name := range map[string]string{"plain": "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "SCRAM-SHA-512": "SCRAM-SHA-512"} {
		c := Config{Brokers: []string{"k:1"}, SASL: SASL{Mechanism: mech, Username: "u", Password: "p"}}
		require.Equal(t, name, c.mechanism().Name())
		require.Equal(t, name, c.dialer().SASLMechanism.Name())
		require.Equal(t, name, c.transport().SASL.Name())
	}
	require.Nil(t, Config{Brokers: []string{"k:1"}}.mechanism())
	require.Equal(t, "tocsin", Config{}.clientID())
	require.Equal(t, DefaultDialTimeout, Config{}.dialTimeout())
}

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	caCert, _ := writeCert(t, dir, "ca")
	clientCert, clientKey := writeCert(t, dir, "client")
	_, otherKey := writeCert(t, dir, "other")

	cfg, err := TLSConfig(caCert, clientCert, clientKey, "kafka.example", false)
	require.NoError(t, err)
	require.NotNil(t, cfg.RootCAs)
	require.Len(t, cfg.Certificates, 1)
	require.Equal(t, "kafka.example", cfg.ServerName)
	require.False(t, cfg.InsecureSkipVerify)

	cfg, err = TLSConfig("", "", "", "", true)
	require.NoError(t, err)
	require.Nil(t, cfg.RootCAs, "no CA file: the system roots")
	require.True(t, cfg.InsecureSkipVerify)

	_, err = TLSConfig(filepath.Join(dir, "missing.pem"), "", "", "", false)
	require.ErrorContains(t, err, "cannot read the CA file")
	require.ErrorContains(t, err, "missing.pem")

	junk := filepath.Join(dir, "junk.pem")
	require.NoError(t, os.WriteFile(junk, []byte("not a certificate"), 0o600))
	_, err = TLSConfig(junk, "", "", "", false)
	require.ErrorContains(t, err, "holds no PEM certificate")

	_, err = TLSConfig("", clientCert, "", "", false)
	require.ErrorContains(t, err, "needs both a certificate file and a key file")

	_, err = TLSConfig("", clientCert, otherKey, "", false)
	require.ErrorContains(t, err, "cannot load the client certificate")
	require.ErrorContains(t, err, "the key must match the certificate")

	// Every problem at once.
	_, err = TLSConfig(junk, clientCert, "", "", false)
	require.ErrorContains(t, err, "holds no PEM certificate")
	require.ErrorContains(t, err, "needs both")
}
