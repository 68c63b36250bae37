package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// newRegistry returns a registry with the Go and process collectors, one
// per role: the roles of `tocsin run` each serve their own metrics.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// opsServer serves /metrics and /healthz for a role without an API.
type opsServer struct {
	srv  *http.Server
	ln   net.Listener
	errc chan error
}

// startOps listens on addr and serves reg on /metrics (behind token when
// one is set), ready on /healthz (200 "ok", or 503 with the reason: for
// readiness probes) and /livez (200 while serving: for liveness probes).
func startOps(role, addr, token string, reg prometheus.Gatherer, ready func() error, log zerolog.Logger) (*opsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for %s metrics on %s (set %s.metrics_address): %w", role, addr, role, err)
	}
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tocsin"`)
			http.Error(w, "a bearer token is required (http.token)", http.StatusUnauthorized)
			return
		}
		metrics.ServeHTTP(w, r)
	})
	// /livez answers while the process serves: a liveness probe must not
	// restart a role that is only waiting (for Kafka, or for partitions).
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "%s: %v\n", role, err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	o := &opsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		ln:   ln,
		errc: make(chan error, 1),
	}
	go func() { o.errc <- o.srv.Serve(ln) }()
	log.Info().Str("address", ln.Addr().String()).Msg("metrics and health listener started")
	return o, nil
}

// Err delivers the server's error if it stops serving.
func (o *opsServer) Err() <-chan error { return o.errc }

// Stop shuts the server down.
func (o *opsServer) Stop(ctx context.Context) error {
	if err := o.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("cannot stop the metrics listener: %w", err)
	}
	return nil
}
