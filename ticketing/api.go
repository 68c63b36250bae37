package ticketing

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/schemas"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// APIOptions configures NewAPI.
type APIOptions struct {
	// Manager serves every /api/ request. Required.
	Manager *Manager
	// Gatherer is served on /metrics; nil leaves /metrics out.
	Gatherer prometheus.Gatherer
	// Token, when set, must come as "Authorization: Bearer <token>" on
	// every /api/ request and on /metrics (Prometheus sends it with
	// authorization.credentials in its scrape config). /healthz stays
	// open for load balancers and probes; it reveals nothing.
	Token string
	// Logger receives server-side failures; the zero value logs nothing.
	Logger zerolog.Logger
}

// NewAPI returns the ticketing HTTP API:
//
//	GET   /api/v1/incidents?status=&severity=&min_severity=&rule=&limit=&offset=
//	GET   /api/v1/incidents/{id}?alerts_limit=&alerts_offset=&events_limit=&events_offset=
//	PATCH /api/v1/incidents/{id}
//	GET   /api/v1/parse-failures?reason=&source=&limit=&offset=
//	GET   /healthz   200 while the store answers, else 503 (readiness)
//	GET   /livez     200 while the process serves (liveness)
//	GET   /metrics
//
// Lists are newest first; an incident's alerts and events oldest first.
// Answers are JSON; errors are {"error": "..."} with a 4xx or 5xx status:
// 400 for a malformed request, 401 without the token, 404 for an unknown
// incident, 409 for a status change the incident's state forbids, 413
// for a body over 1 MiB, 503 while shutting down.
// Unknown or repeated query parameters and unknown body fields are
// rejected with 400.
func NewAPI(opts APIOptions) http.Handler {
	if opts.Manager == nil {
		panic("ticketing.NewAPI: APIOptions.Manager is nil")
	}
	a := &api{m: opts.Manager, log: opts.Logger.With().Str("component", "ticketing_api").Logger()}
	if opts.Token != "" {
		sum := sha256.Sum256([]byte(opts.Token))
		a.tokenSum = sum[:]
	}
	mux := http.NewServeMux()
	a.route(mux, "/api/v1/incidents", map[string]http.HandlerFunc{http.MethodGet: a.listIncidents})
	a.route(mux, "/api/v1/incidents/{id}", map[string]http.HandlerFunc{
		http.MethodGet:   a.getIncident,
		http.MethodPatch: a.patchIncident,
	})
	a.route(mux, "/api/v1/parse-failures", map[string]http.HandlerFunc{http.MethodGet: a.listFailures})
	mux.HandleFunc("GET /healthz", a.health)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", a.auth(promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}).ServeHTTP))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return mux
}

type api struct {
	m        *Manager
	log      zerolog.Logger
	tokenSum []byte
}

// route registers the handlers of one path by method, behind the token
// check, and answers other methods with a JSON 405.
func (a *api) route(mux *http.ServeMux, path string, byMethod map[string]http.HandlerFunc) {
	allow := make([]string, 0, len(byMethod))
	for method, h := range byMethod {
		mux.Handle(method+" "+path, a.auth(h))
		allow = append(allow, method)
	}
	slices.Sort(allow)
	allowed := strings.Join(allow, ", ")
	mux.Handle(path, a.auth(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+allowed)
	}))
}

func (a *api) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.tokenSum != nil && !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tocsin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next(w, r)
	})
}

// authorized compares digests, so that the time taken reveals neither
// the token nor its length.
func (a *api) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], a.tokenSum) == 1
}

// IncidentList is the answer to GET /api/v1/incidents.
type IncidentList struct {
	Incidents []schemas.Incident `json:"incidents"`
	Total     int                `json:"total"`
	Limit     int                `json:"limit"`
	Offset    int                `json:"offset"`
}

func (a *api) listIncidents(w http.ResponseWriter, r *http.Request) {
	q, err := ParseIncidentQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	list, total, err := a.m.Incidents(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, IncidentList{Incidents: list, Total: total, Limit: q.Limit, Offset: q.Offset})
}

func (a *api) getIncident(w http.ResponseWriter, r *http.Request) {
	alerts, events, err := ParseDetailQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d, err := a.m.Incident(r.Context(), r.PathValue("id"), alerts, events)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *api) patchIncident(w http.ResponseWriter, r *http.Request) {
	p, actor, err := DecodePatch(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body is larger than 1 MiB")
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	inc, err := a.m.Patch(r.Context(), r.PathValue("id"), p, actor)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

// FailureList is the answer to GET /api/v1/parse-failures.
type FailureList struct {
	Failures []FailureView `json:"failures"`
	Total    int           `json:"total"`
	// ByReason counts the failures of the requested source per reason,
	// whatever reason was asked for.
	ByReason map[string]int `json:"by_reason"`
	Limit    int            `json:"limit"`
	Offset   int            `json:"offset"`
}

// FailureView is a parse failure with its raw line as text: bytes that
// are not UTF-8 show as U+FFFD.
type FailureView struct {
	Source   string    `json:"source"`
	Address  string    `json:"address,omitempty"`
	Reason   string    `json:"reason"`
	Detail   string    `json:"detail,omitempty"`
	Raw      string    `json:"raw"`
	Received time.Time `json:"received"`
}

func (a *api) listFailures(w http.ResponseWriter, r *http.Request) {
	q, err := ParseFailureQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := a.m.ParseFailures(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := FailureList{Failures: make([]FailureView, len(p.Failures)), Total: p.Total,
		ByReason: p.ByReason, Limit: q.Limit, Offset: q.Offset}
	for i, f := range p.Failures {
		out.Failures[i] = FailureView{Source: f.Source, Address: f.Address, Reason: f.Reason,
			Detail: f.Detail, Raw: string(f.Raw), Received: f.Received}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.m.store.Ping(ctx); err != nil {
		a.log.Warn().Err(err).Msg("health check failed")
		writeError(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// fail maps a Manager error to a status. Store failures are logged and
// answered without detail, which could hold file paths.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var invalid *InvalidPatchError
	var transition *TransitionError
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "incident "+r.PathValue("id")+" not found")
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &transition):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "tocsin is shutting down")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
	default:
		a.log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("request failed")
		writeError(w, http.StatusInternalServerError, "internal error; see the tocsin log")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
