package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// ClientAuth says whether a TLS listener asks senders for certificates.
type ClientAuth string

// Client certificate modes.
const (
	// ClientAuthNone asks for no client certificate (the default).
	ClientAuthNone ClientAuth = "none"
	// ClientAuthRequest asks for a client certificate and verifies one
	// that is given against the client CA; senders without one are
	// served too.
	ClientAuthRequest ClientAuth = "request"
	// ClientAuthRequire refuses senders without a client certificate
	// that verifies against the client CA.
	ClientAuthRequire ClientAuth = "require"
)

// ParseClientAuth reads a client certificate mode; the empty string is
// ClientAuthNone.
func ParseClientAuth(s string) (ClientAuth, error) {
	switch ClientAuth(s) {
	case "", ClientAuthNone:
		return ClientAuthNone, nil
	case ClientAuthRequest, ClientAuthRequire:
		return ClientAuth(s), nil
	}
	return "", fmt.Errorf("client auth %q is not one of none, request, require", s)
}

// TLSOptions names the files of a TLS listener.
type TLSOptions struct {
	// CertFile and KeyFile are the server's PEM certificate (chain) and
	// private key. Required.
	CertFile, KeyFile string
	// ClientCAFile holds the PEM certificates that client certificates
	// must chain to. Required with ClientAuthRequest and
	// ClientAuthRequire; not allowed with ClientAuthNone.
	ClientCAFile string
	// ClientAuth is the client certificate mode (default none).
	ClientAuth ClientAuth
}

// ServerConfig reads the files and returns the listener's TLS config:
// TLS 1.2 at least, Go's default cipher suites. Every problem is
// reported at once.
//
// Known shortcoming: the certificate is read once; a renewed certificate
// takes effect when tocsin restarts.
func (o TLSOptions) ServerConfig() (*tls.Config, error) {
	var errs []error
	mode, err := ParseClientAuth(string(o.ClientAuth))
	if err != nil {
		errs = append(errs, err)
	}
	if o.CertFile == "" || o.KeyFile == "" {
		errs = append(errs, errors.New("a certificate file and a key file are required"))
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CertFile != "" && o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot load the certificate %s with the key %s: %w; "+
				"check that both are PEM, readable by tocsin, and that the key belongs to the certificate",
				o.CertFile, o.KeyFile, err))
		} else {
			cfg.Certificates = []tls.Certificate{cert}
		}
	}
	switch {
	case mode == ClientAuthNone && o.ClientCAFile != "":
		errs = append(errs, fmt.Errorf("a client CA file (%s) is set but client auth is none, so it would not be used; "+
			"set client auth to request or require, or remove the file", o.ClientCAFile))
	case mode != ClientAuthNone && o.ClientCAFile == "":
		errs = append(errs, fmt.Errorf("client auth %s needs a client CA file to verify client certificates against", mode))
	case mode != ClientAuthNone:
		pool, err := loadCertPool(o.ClientCAFile)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if mode == ClientAuthRequire {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cannot configure TLS: %w", err)
	}
	return cfg, nil
}

// loadCertPool reads PEM certificates from path.
func loadCertPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the client CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("the client CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// serverTLS returns a copy of cfg that refuses versions below TLS 1.2.
func serverTLS(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		return nil
	}
	c := cfg.Clone()
	c.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	return c
}

// NewTLSListener checks opts and returns a listener of syslog over TLS
// (RFC 5425) that Start binds: a TCPListener whose opts.TLS is required
// and whose metrics and logs carry the source "tls". Framing is as on
// TCP: RFC 5425 prescribes octet counting, and newline framing, which
// rsyslog's gtls driver sends unless told otherwise, is detected per
// message.
func NewTLSListener(p *Pipeline, opts ListenerOptions) (*TCPListener, error) {
	if opts.TLS == nil {
		return nil, errors.New("cannot configure tls syslog listener: a TLS config is required")
	}
	return newStreamListener(p, opts, KindTLS, (*TCPListener).serveSyslog)
}

// handshake runs the TLS handshake of a new connection within the
// handshake timeout. Until it ends, the connection counts as waiting for
// data since it was accepted, so at the connection limit it may be
// evicted like an idle one.
func (l *TCPListener) handshake(c *tcpConn, tc *tls.Conn) error {
	c.mu.Lock()
	if c.evicted {
		c.mu.Unlock()
		return errEvicted
	}
	deadline := time.Now().Add(l.opts.HandshakeTimeout)
	if c.draining && c.drainAt.Before(deadline) {
		deadline = c.drainAt
	}
	_ = c.conn.SetDeadline(deadline)
	c.reading.Store(true)
	c.mu.Unlock()
	err := tc.HandshakeContext(l.runCtx)
	c.reading.Store(false)
	c.mu.Lock()
	evicted := c.evicted
	c.mu.Unlock()
	if err != nil {
		if evicted {
			return errEvicted
		}
		return err
	}
	// tcpConn.Read sets the read deadline; writers set their own.
	_ = c.conn.SetWriteDeadline(time.Time{})
	st := tc.ConnectionState()
	ev := l.logger.Debug().
		Str("remote", c.conn.RemoteAddr().String()).
		Str("tls_version", tls.VersionName(st.Version)).
		Str("cipher", tls.CipherSuiteName(st.CipherSuite))
	if len(st.PeerCertificates) > 0 {
		ev = ev.Str("client_cn", st.PeerCertificates[0].Subject.CommonName)
	}
	ev.Msg("tls session established")
	return nil
}

// handshakeFailed counts and logs a failed handshake.
func (l *TCPListener) handshakeFailed(c *tcpConn, err error) {
	if errors.Is(err, errEvicted) {
		l.closed(c, err)
		return
	}
	if l.isStopping() {
		l.logger.Debug().Err(err).Str("remote", c.conn.RemoteAddr().String()).Msg("tls handshake cut short by stop")
		return
	}
	l.km.handshakes.Inc()
	reason := "handshake failed"
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		reason = "handshake timed out: the client sent no TLS handshake in time (a plain-text sender on the TLS port, or a stalled client)"
	}
	if n, ok := l.handshakeErrs.allow(time.Now()); ok {
		l.logger.Warn().Err(err).
			Str("remote", c.conn.RemoteAddr().String()).
			Int("count", n).
			Dur("handshake_timeout", l.opts.HandshakeTimeout).
			Msg("tls connection refused: " + reason)
	}
}
