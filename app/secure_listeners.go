package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/ingest"
)

// startSecureListeners starts the syslog-over-TLS and RELP listeners of
// cfg feeding pipe, and returns their Stop functions. admit, when set,
// gates new connections as on TCP. On error the listeners it started
// are stopped.
func startSecureListeners(ctx context.Context, cfg config.Config, pipe *ingest.Pipeline, admit func() error,
	log zerolog.Logger) ([]func(context.Context) error, error) {
	var stops []func(context.Context) error
	stopAll := func() {
		for _, stop := range stops {
			_ = stop(context.Background())
		}
	}
	if t := cfg.Syslog.TLS; t.Address != "" {
		l, err := newTLSCapable(pipe, t, 0, admit, ingest.NewTLSListener)
		if err == nil {
			err = l.Start(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot listen for syslog over TLS on %s (set syslog.tls or --syslog-tls-address): %w", t.Address, err)
		}
		stops = append(stops, l.Stop)
		log.Info().Str("address", l.Addr().String()).Str("protocol", "tls").Str("client_auth", t.ClientAuth).
			Msg("syslog listener started")
	}
	if r := cfg.RELP; r.Address != "" {
		l, err := newTLSCapable(pipe, r.TLSListenerConfig, r.AckTimeout, admit, ingest.NewRELPListener)
		if err == nil {
			err = l.Start(ctx)
		}
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("cannot listen for RELP on %s (set relp or --relp-address): %w", r.Address, err)
		}
		stops = append(stops, l.Stop)
		log.Info().Str("address", l.Addr().String()).Str("protocol", "relp").Bool("tls", r.TLSEnabled()).
			Msg("syslog listener started")
	}
	return stops, nil
}

// newTLSCapable builds a listener with newListener from its settings,
// with TLS when the settings name a certificate.
func newTLSCapable(pipe *ingest.Pipeline, c config.TLSListenerConfig, ackTimeout time.Duration, admit func() error,
	newListener func(*ingest.Pipeline, ingest.ListenerOptions) (*ingest.TCPListener, error)) (*ingest.TCPListener, error) {
	var tc *tls.Config
	if c.TLSEnabled() {
		var err error
		tc, err = ingest.TLSOptions{
			CertFile:     c.CertFile,
			KeyFile:      c.KeyFile,
			ClientCAFile: c.ClientCAFile,
			ClientAuth:   ingest.ClientAuth(c.ClientAuth),
		}.ServerConfig()
		if err != nil {
			return nil, err
		}
	}
	return newListener(pipe, ingest.ListenerOptions{
		Address:        c.Address,
		MaxMessageSize: c.MaxMessageSize,
		MaxConnections: c.MaxConnections,
		IdleTimeout:    c.IdleTimeout,
		EvictIdle:      c.EvictIdle,
		Location:       c.ListenerLocation(),
		Format:         c.Format,
		Admit:          admit,
		TLS:            tc,
		Rate:           float64(c.Rate),
		Burst:          c.Burst,
		AckTimeout:     ackTimeout,
	})
}
