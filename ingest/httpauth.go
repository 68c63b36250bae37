package ingest

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// httpAuth checks the credentials of an HTTP ingest request. Secrets are
// kept as SHA-256 digests and compared in constant time, so that neither
// their content nor their length leaks through timing.
type httpAuth struct {
	token, apiKey, apiKeyEncoded, user, password [sha256.Size]byte
	hasToken, hasAPIKey, hasBasic                bool
}

func newHTTPAuth(o HTTPOptions) httpAuth {
	var a httpAuth
	if o.Token != "" {
		a.token, a.hasToken = sha256.Sum256([]byte(o.Token)), true
	}
	if o.APIKey != "" {
		a.apiKey, a.hasAPIKey = sha256.Sum256([]byte(o.APIKey)), true
		a.apiKeyEncoded = sha256.Sum256([]byte(base64.StdEncoding.EncodeToString([]byte(o.APIKey))))
	}
	if o.Username != "" {
		a.user, a.password, a.hasBasic = sha256.Sum256([]byte(o.Username)), sha256.Sum256([]byte(o.Password)), true
	}
	return a
}

// required reports whether any credential is configured.
func (a *httpAuth) required() bool { return a.hasToken || a.hasAPIKey || a.hasBasic }

// allow reports whether r carries one of the configured credentials:
// "Bearer <token>", "ApiKey <key>" (the key as configured or its base64
// form, which is what Beats send for an api_key of "id:key"), or Basic
// user and password.
func (a *httpAuth) allow(r *http.Request) bool {
	if !a.required() {
		return true
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	sum := sha256.Sum256([]byte(cred))
	switch {
	case strings.EqualFold(scheme, "Bearer") && a.hasToken:
		return subtle.ConstantTimeCompare(sum[:], a.token[:]) == 1
	case strings.EqualFold(scheme, "ApiKey") && a.hasAPIKey:
		return subtle.ConstantTimeCompare(sum[:], a.apiKeyEncoded[:])|subtle.ConstantTimeCompare(sum[:], a.apiKey[:]) == 1
	case strings.EqualFold(scheme, "Basic") && a.hasBasic:
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return false
		}
		u, p, _ := strings.Cut(string(raw), ":")
		us, ps := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		return subtle.ConstantTimeCompare(us[:], a.user[:])&subtle.ConstantTimeCompare(ps[:], a.password[:]) == 1
	}
	return false
}

// challenge is the WWW-Authenticate value of a 401 answer.
func (a *httpAuth) challenge() string {
	var s []string
	if a.hasToken {
		s = append(s, `Bearer realm="tocsin"`)
	}
	if a.hasAPIKey {
		s = append(s, `ApiKey`)
	}
	if a.hasBasic {
		s = append(s, `Basic realm="tocsin", charset="UTF-8"`)
	}
	return strings.Join(s, ", ")
}

// httpTLSConfig loads the server certificate and, when clientCA is set,
// the CA that client certificates must chain to; a client without one is
// refused in the handshake.
func httpTLSConfig(certFile, keyFile, clientCA string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load the certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("cannot read the client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cannot use the client CA file %s: it holds no PEM certificate", clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// recordBucket limits the records per second a listener takes: a token
// bucket holding one second's worth that may run into debt, so that a
// request larger than the bucket still passes and the requests after it
// wait for the debt to be paid. It is safe for concurrent use.
type recordBucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func newRecordBucket(rate float64, now time.Time) *recordBucket {
	return &recordBucket{rate: rate, tokens: rate, last: now}
}

func (b *recordBucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.rate, b.tokens+dt*b.rate)
		b.last = now
	}
}

// admit reports whether a request may be read now; when not, it returns
// how long until it may.
func (b *recordBucket) admit(now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens > 0 {
		return 0, true
	}
	wait := time.Duration(math.Ceil((-b.tokens + 1) / b.rate * float64(time.Second)))
	return wait, false
}

// take spends n records.
func (b *recordBucket) take(n int, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.tokens -= float64(n)
}
