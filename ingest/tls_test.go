package ingest

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tlsSetup is a server CA with its files, and a CA of client
// certificates.
type tlsSetup struct {
	serverCA, clientCA *testCA
	files              tlsFiles
}

func newTLSSetup(t *testing.T) tlsSetup {
	t.Helper()
	s := tlsSetup{serverCA: newTestCA(t, "server CA"), clientCA: newTestCA(t, "client CA")}
	s.files = writeTLSFiles(t, s.serverCA, s.clientCA)
	return s
}

// serverConfig reads the setup's files for mode.
func (s tlsSetup) serverConfig(t *testing.T, mode ClientAuth) *tls.Config {
	t.Helper()
	o := TLSOptions{CertFile: s.files.cert, KeyFile: s.files.key, ClientAuth: mode}
	if mode != ClientAuthNone {
		o.ClientCAFile = s.files.clientCA
	}
	cfg, err := o.ServerConfig()
	require.NoError(t, err)
	return cfg
}

// clientConfig trusts the server CA and presents its certificate, if
// any, whatever CAs the server names (Go's client would otherwise keep
// back a certificate of a CA the server does not name).
func (s tlsSetup) clientConfig(certs ...tls.Certificate) *tls.Config {
	cfg := &tls.Config{RootCAs: s.serverCA.pool(), ServerName: "localhost"}
	if len(certs) > 0 {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	return cfg
}

func startTLS(t *testing.T, tp *testPipeline, opts ListenerOptions) *TCPListener {
	t.Helper()
	opts.Address = "127.0.0.1:0"
	l, err := NewTLSListener(tp.Pipeline, opts)
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return l
}

func dialTLS(t *testing.T, l *TCPListener, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := tls.Dialer{Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*tls.Conn), nil
}

// refused asserts that the server ends a TLS connection that the client
// already holds: with TLS 1.3 the client's handshake completes before the
// server has checked the client's certificate, so the refusal shows on
// the first read.
func refused(t *testing.T, c *tls.Conn, err error) {
	t.Helper()
	if err != nil {
		return // refused during the handshake (TLS 1.2, or a version refusal)
	}
	_, _ = io.WriteString(c, "<13>Jan  5 10:00:00 h app: must not arrive\n")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err)
	var ne net.Error
	require.False(t, asTimeout(err, &ne), "the server must end the connection, not leave it open: %v", err)
}

func asTimeout(err error, ne *net.Error) bool {
	if e, ok := err.(net.Error); ok {
		*ne = e
		return e.Timeout()
	}
	return false
}

func TestTLSListenerReceivesBothFramings(t *testing.T) {
	s := newTLSSetup(t)
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 10 * time.Millisecond })
	l := startTLS(t, tp, ListenerOptions{TLS: s.serverConfig(t, ClientAuthNone)})
	c, err := dialTLS(t, l, s.clientConfig())
	require.NoError(t, err)
	// RFC 5425 octet counting, then LF framing as rsyslog's gtls driver
	// sends by default.
	write(t, c, octet(sshLine("h", 1, "alice"))+sshLine("h", 2, "bob")+"\n")
	evs, fails := tp.sink.waitFor(t, 2)
	require.Empty(t, fails)
	require.Equal(t, "alice", evs[0].User.Name)
	require.Equal(t, "bob", evs[1].User.Name)
	require.Equal(t, "127.0.0.1", evs[0].Log.Source.Address)
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections", "source", "tls"))
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_events_total", "source", "tls"))
	require.Zero(t, tp.metric(t, "tocsin_ingest_events_total", "source", "tcp"))
	require.Equal(t, uint16(tls.VersionTLS13), c.ConnectionState().Version)
}

func TestTLSClientCertificates(t *testing.T) {
	s := newTLSSetup(t)
	good := s.clientCA.issue(t, "web01.example", false)
	stranger := newTestCA(t, "other CA").issue(t, "intruder", false)
	for _, tc := range []struct {
		name     string
		mode     ClientAuth
		certs    []tls.Certificate
		accepted bool
	}{
		{"require with a good certificate", ClientAuthRequire, []tls.Certificate{good}, true},
		{"require without a certificate", ClientAuthRequire, nil, false},
		{"require with a certificate of another CA", ClientAuthRequire, []tls.Certificate{stranger}, false},
		{"request without a certificate", ClientAuthRequest, nil, true},
		{"request with a good certificate", ClientAuthRequest, []tls.Certificate{good}, true},
		{"request with a certificate of another CA", ClientAuthRequest, []tls.Certificate{stranger}, false},
		{"none ignores a certificate", ClientAuthNone, []tls.Certificate{stranger}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 10 * time.Millisecond })
			l := startTLS(t, tp, ListenerOptions{TLS: s.serverConfig(t, tc.mode)})
			c, err := dialTLS(t, l, s.clientConfig(tc.certs...))
			if !tc.accepted {
				refused(t, c, err)
				require.Eventually(t, func() bool {
					return tp.metric(t, "tocsin_ingest_tls_handshake_failures_total", "source", "tls") == 1
				}, 5*time.Second, 5*time.Millisecond)
				require.Zero(t, tp.metric(t, "tocsin_ingest_lines_total", "source", "tls"))
				require.Contains(t, tp.logs.String(), "tls connection refused: handshake failed")
				return
			}
			require.NoError(t, err)
			write(t, c, sshLine("h", 1, "carol")+"\n")
			evs, _ := tp.sink.waitFor(t, 1)
			require.Equal(t, "carol", evs[0].User.Name)
			require.Zero(t, tp.metric(t, "tocsin_ingest_tls_handshake_failures_total", "source", "tls"))
		})
	}
}

func TestTLSRefusesOldVersionsAndPlainText(t *testing.T) {
	s := newTLSSetup(t)
	tp := newTestPipeline(t, nil)
	cfg := s.serverConfig(t, ClientAuthNone)
	cfg.MinVersion = tls.VersionTLS10 // the listener raises it to 1.2
	l := startTLS(t, tp, ListenerOptions{TLS: cfg})

	old := s.clientConfig()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	_, err := dialTLS(t, l, old)
	require.Error(t, err, "TLS 1.1 must be refused")

	tls12 := s.clientConfig()
	tls12.MaxVersion = tls.VersionTLS12
	c, err := dialTLS(t, l, tls12)
	require.NoError(t, err, "TLS 1.2 is accepted")
	require.Equal(t, uint16(tls.VersionTLS12), c.ConnectionState().Version)

	// A plain-text sender on the TLS port is refused at once.
	plain, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer plain.Close()
	write(t, plain, "<13>Jan  5 10:00:00 h app: plain text\n")
	require.NoError(t, plain.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(plain)
	require.NoError(t, err, "the server closes the connection (an alert, then EOF)")
	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_tls_handshake_failures_total", "source", "tls") == 2
	}, 5*time.Second, 5*time.Millisecond, "the TLS 1.1 client and the plain-text sender")
	require.Zero(t, tp.metric(t, "tocsin_ingest_lines_total", "source", "tls"))
}

func TestTLSHandshakeTimeout(t *testing.T) {
	s := newTLSSetup(t)
	tp := newTestPipeline(t, nil)
	l := startTLS(t, tp, ListenerOptions{TLS: s.serverConfig(t, ClientAuthNone), HandshakeTimeout: 100 * time.Millisecond})
	silent, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer silent.Close()
	start := time.Now()
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := silent.Read(make([]byte, 1))
	require.Zero(t, n)
	require.ErrorIs(t, err, io.EOF, "the server hangs up on a client that never starts the handshake")
	require.Less(t, time.Since(start), 5*time.Second)
	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_tls_handshake_failures_total", "source", "tls") == 1 &&
			tp.metric(t, "tocsin_ingest_connections", "source", "tls") == 0
	}, 5*time.Second, 5*time.Millisecond)
	require.Contains(t, tp.logs.String(), "handshake timed out")
}

// TestTLSEvictsSilentHandshake checks that at the connection limit a
// client that connected and never started its handshake makes room for a
// new sender, as an idle connection would.
func TestTLSEvictsSilentHandshake(t *testing.T) {
	s := newTLSSetup(t)
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 10 * time.Millisecond })
	l := startTLS(t, tp, ListenerOptions{
		TLS:            s.serverConfig(t, ClientAuthNone),
		MaxConnections: 1,
		EvictIdle:      50 * time.Millisecond,
	})
	silent, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer silent.Close()
	require.Eventually(t, func() bool { return tp.metric(t, "tocsin_ingest_connections", "source", "tls") == 1 },
		5*time.Second, time.Millisecond)
	time.Sleep(100 * time.Millisecond) // longer than EvictIdle
	c, err := dialTLS(t, l, s.clientConfig())
	require.NoError(t, err)
	write(t, c, sshLine("h", 1, "dave")+"\n")
	evs, _ := tp.sink.waitFor(t, 1)
	require.Equal(t, "dave", evs[0].User.Name)
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections_evicted_total", "source", "tls"))
	require.Zero(t, tp.metric(t, "tocsin_ingest_tls_handshake_failures_total", "source", "tls"),
		"an evicted connection is not a failed handshake")
}

func TestTLSOptionsReportEveryProblem(t *testing.T) {
	s := newTLSSetup(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	require.NoError(t, os.WriteFile(empty, []byte("not a certificate\n"), 0o600))
	otherCert, _ := newTestCA(t, "x").issuePEM(t, "other", true)
	other := filepath.Join(dir, "other.crt")
	require.NoError(t, os.WriteFile(other, otherCert, 0o600))

	_, err := TLSOptions{CertFile: filepath.Join(dir, "missing.crt"), KeyFile: s.files.key}.ServerConfig()
	require.ErrorContains(t, err, "missing.crt")
	require.ErrorContains(t, err, "no such file")

	_, err = TLSOptions{CertFile: other, KeyFile: s.files.key}.ServerConfig()
	require.ErrorContains(t, err, "the key belongs to the certificate")

	_, err = TLSOptions{CertFile: s.files.cert, KeyFile: s.files.key, ClientAuth: ClientAuthRequire, ClientCAFile: empty}.ServerConfig()
	require.ErrorContains(t, err, "holds no PEM certificate")

	_, err = TLSOptions{ClientAuth: "maybe", ClientCAFile: s.files.clientCA}.ServerConfig()
	require.ErrorContains(t, err, `client auth "maybe" is not one of none, request, require`)
	require.ErrorContains(t, err, "a certificate file and a key file are required")

	_, err = TLSOptions{CertFile: s.files.cert, KeyFile: s.files.key, ClientCAFile: s.files.clientCA}.ServerConfig()
	require.ErrorContains(t, err, "client auth is none, so it would not be used")

	_, err = TLSOptions{CertFile: s.files.cert, KeyFile: s.files.key, ClientAuth: ClientAuthRequest}.ServerConfig()
	require.ErrorContains(t, err, "client auth request needs a client CA file")

	_, err = NewTLSListener(newTestPipeline(t, nil).Pipeline, ListenerOptions{})
	require.ErrorContains(t, err, "a TLS config is required")
	_, err = NewUDPListener(newTestPipeline(t, nil).Pipeline, ListenerOptions{TLS: &tls.Config{}})
	require.ErrorContains(t, err, "syslog over UDP has no TLS")
}
