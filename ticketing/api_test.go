package ticketing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

type apiEnv struct {
	*env
	h     http.Handler
	token string
}

func newAPIEnv(t *testing.T, token string) *apiEnv {
	e := newEnv(t, nil)
	h := ticketing.NewAPI(ticketing.APIOptions{Manager: e.m, Gatherer: e.reg, Token: token})
	return &apiEnv{env: e, h: h, token: token}
}

// do sends a request, with the env's token unless auth is false, and
// decodes a JSON answer into out when out is not nil.
func (a *apiEnv) do(method, target, body string, out any) (int, http.Header) {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	if out != nil {
		require.NoError(a.t, json.Unmarshal(rec.Body.Bytes(), out), "body %s", rec.Body.String())
	}
	return rec.Code, rec.Header()
}

type apiError struct {
	Error string `json:"error"`
}

// seed makes six incidents:
//
//	INC-000001 rule a low      open
//	INC-000002 rule a medium   acknowledged
//	INC-000003 rule b high     open
//	INC-000004 rule b critical resolved
//	INC-000005 rule b high     open
//	INC-000006 rule c medium   open
func seed(t *testing.T, e *env) {
	sevs := []schemas.Severity{schemas.SeverityLow, schemas.SeverityMedium, schemas.SeverityHigh,
		schemas.SeverityCritical, schemas.SeverityHigh, schemas.SeverityMedium}
	rules := []string{"a", "a", "b", "b", "b", "c"}
	for i, sev := range sevs {
		e.handle(mkAlert(rules[i], "10.0.0."+string(rune('1'+i)), sev, t0.Add(time.Duration(i)*time.Minute)))
	}
	ctx := context.Background()
	_, err := e.m.Patch(ctx, "INC-000002", ticketing.Patch{Status: ptr(schemas.StatusAcknowledged)}, "x")
	require.NoError(t, err)
	_, err = e.m.Patch(ctx, "INC-000004", ticketing.Patch{Status: ptr(schemas.StatusResolved), Resolution: "ok"}, "x")
	require.NoError(t, err)
}

func TestAPIListFilters(t *testing.T) {
	a := newAPIEnv(t, "")
	seed(t, a.env)
	for _, c := range []struct {
		query string
		want  []string
		total int
	}{
		{"", []string{"6", "5", "4", "3", "2", "1"}, 6},
		{"?status=open", []string{"6", "5", "3", "1"}, 4},
		{"?status=acknowledged", []string{"2"}, 1},
		{"?severity=high", []string{"5", "3"}, 2},
		{"?min_severity=high", []string{"5", "4", "3"}, 3},
		{"?min_severity=HIGH&status=open", []string{"5", "3"}, 2},
		{"?rule=b&severity=critical", []string{"4"}, 1},
		{"?rule=nope", nil, 0},
		{"?limit=2", []string{"6", "5"}, 6},
		{"?limit=2&offset=2", []string{"4", "3"}, 6},
		{"?limit=2&offset=5", []string{"1"}, 6},
		{"?offset=9", nil, 6},
	} {
		var out ticketing.IncidentList
		code, _ := a.do("GET", "/api/v1/incidents"+c.query, "", &out)
		require.Equal(t, http.StatusOK, code, c.query)
		var ids []string
		for _, inc := range out.Incidents {
			ids = append(ids, strings.TrimLeft(strings.TrimPrefix(inc.ID, "INC-"), "0"))
		}
		require.Equal(t, c.want, ids, c.query)
		require.Equal(t, c.total, out.Total, c.query)
		require.NotNil(t, out.Incidents, "an empty page is [] not null")
	}
	var out ticketing.IncidentList
	a.do("GET", "/api/v1/incidents?limit=3&offset=1", "", &out)
	require.Equal(t, 3, out.Limit)
	require.Equal(t, 1, out.Offset)
	a.do("GET", "/api/v1/incidents", "", &out)
	require.Equal(t, ticketing.DefaultListLimit, out.Limit)
}

func TestAPIRejectsBadQueries(t *testing.T) {
	a := newAPIEnv(t, "")
	for q, want := range map[string]string{
		"/api/v1/incidents?sev=high":                     "unknown query parameter \"sev\"",
		"/api/v1/incidents?status=open&status=open":      "given 2 times",
		"/api/v1/incidents?status=closed":                "unknown status",
		"/api/v1/incidents?severity=urgent":              "unknown severity",
		"/api/v1/incidents?limit=0":                      "from 1 to 1000",
		"/api/v1/incidents?limit=1001":                   "from 1 to 1000",
		"/api/v1/incidents?offset=-1":                    "offset",
		"/api/v1/incidents?limit=1e3":                    "limit",
		"/api/v1/incidents/INC-000001?events_limit=5000": "events_limit",
		"/api/v1/parse-failures?reasons=x":               "unknown query parameter",
	} {
		var out apiError
		code, _ := a.do("GET", q, "", &out)
		require.Equal(t, http.StatusBadRequest, code, q)
		require.Contains(t, out.Error, want, q)
	}
}

func TestAPIGetIncident(t *testing.T) {
	a := newAPIEnv(t, "")
	for i := range 3 {
		a.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityHigh, t0.Add(time.Duration(i)*time.Minute)))
	}
	var d ticketing.IncidentDetail
	code, _ := a.do("GET", "/api/v1/incidents/INC-000001?alerts_limit=2&alerts_offset=1&events_limit=1&events_offset=1", "", &d)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "INC-000001", d.Incident.ID)
	require.Equal(t, 3, d.AlertsTotal)
	require.Len(t, d.Alerts, 2)
	require.Equal(t, 1, d.AlertsOffset)
	for _, al := range d.Alerts {
		require.Len(t, al.Events, 1)
		require.Equal(t, 2, al.EventsStored)
		require.Contains(t, al.Events[0].Event.Original, "Mar  1 10:00:01 web1 sshd[42]")
		require.Equal(t, "INC-000001", al.IncidentID)
	}
	require.NotEmpty(t, d.History)

	// The raw JSON carries the documented keys.
	req := httptest.NewRequest("GET", "/api/v1/incidents/INC-000001", nil)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &raw))
	for _, k := range []string{"incident", "alerts", "alerts_total", "history", "events_limit"} {
		require.Contains(t, raw, k)
	}
	require.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))

	var e apiError
	code, _ = a.do("GET", "/api/v1/incidents/INC-424242", "", &e)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "incident INC-424242 not found", e.Error)
}

func TestAPIPatch(t *testing.T) {
	a := newAPIEnv(t, "")
	a.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityHigh, t0))
	const path = "/api/v1/incidents/INC-000001"

	var inc schemas.Incident
	code, _ := a.do("PATCH", path, `{"status":"acknowledged","assignee":"carol","comment":"on it"}`, &inc)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, schemas.StatusAcknowledged, inc.Status)
	require.Equal(t, "carol", inc.Assignee)
	require.Equal(t, []schemas.Comment{{Author: ticketing.DefaultActor, Text: "on it", At: a.clock.Now()}}, inc.Comments)

	code, _ = a.do("PATCH", path, `{"status":"resolved","resolution":"blocked at edge","actor":"carol"}`, &inc)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, schemas.StatusResolved, inc.Status)
	d := a.incident("INC-000001")
	last := d.History[len(d.History)-1]
	require.Equal(t, "carol", last.By)
	require.Equal(t, "blocked at edge", last.New)

	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"status":"acknowledged"}`, http.StatusConflict, "reopen it first"},
		{`{"status":"acknowledged"`, http.StatusBadRequest, "invalid body"},
		{`{"status":"open","priority":1}`, http.StatusBadRequest, "unknown field \"priority\""},
		{`{"status":"open"} {}`, http.StatusBadRequest, "data after the JSON object"},
		{``, http.StatusBadRequest, "empty"},
		{`[]`, http.StatusBadRequest, "invalid body"},
		{`{}`, http.StatusBadRequest, "nothing to change"},
		{`{"status":"done"}`, http.StatusBadRequest, "unknown status"},
		{`{"status":"open","resolution":"x"}`, http.StatusBadRequest, "only with status resolved"},
		{`{"comment":"x","actor":"auto"}`, http.StatusBadRequest, "reserved"},
		{`{"comment":"` + strings.Repeat("x", ticketing.MaxCommentLen+1) + `"}`, http.StatusBadRequest, "comment is longer"},
		{`{"comment":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge, "larger than 1 MiB"},
	} {
		var e apiError
		code, _ := a.do("PATCH", path, c.body, &e)
		require.Equal(t, c.code, code, c.body[:min(len(c.body), 60)])
		require.Contains(t, e.Error, c.want)
	}
	var e apiError
	code, _ = a.do("PATCH", "/api/v1/incidents/INC-000009", `{"comment":"x"}`, &e)
	require.Equal(t, http.StatusNotFound, code)
	// The failed patches changed nothing.
	require.Equal(t, d, a.incident("INC-000001"))
}

func TestAPIToken(t *testing.T) {
	a := newAPIEnv(t, "t0ken")
	a.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityHigh, t0))
	send := func(method, target, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(`{"comment":"x"}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		return rec
	}
	for _, auth := range []string{"", "Bearer t0ke", "Bearer t0kenx", "Basic t0ken", "t0ken", "Bearer"} {
		for _, r := range []struct{ method, target string }{
			{"GET", "/api/v1/incidents"},
			{"GET", "/api/v1/incidents/INC-000001"},
			{"PATCH", "/api/v1/incidents/INC-000001"},
			{"GET", "/api/v1/parse-failures"},
			{"DELETE", "/api/v1/incidents/INC-000001"},
			{"GET", "/metrics"},
		} {
			rec := send(r.method, r.target, auth)
			require.Equal(t, http.StatusUnauthorized, rec.Code, "%s %s with %q", r.method, r.target, auth)
			require.Equal(t, `Bearer realm="tocsin"`, rec.Header().Get("WWW-Authenticate"))
			require.JSONEq(t, `{"error":"missing or wrong bearer token"}`, rec.Body.String())
		}
	}
	require.Equal(t, http.StatusOK, send("GET", "/api/v1/incidents", "Bearer t0ken").Code)
	require.Equal(t, http.StatusOK, send("GET", "/api/v1/incidents", "bearer  t0ken").Code)
	require.Equal(t, http.StatusOK, send("PATCH", "/api/v1/incidents/INC-000001", "Bearer t0ken").Code)
	require.Len(t, a.incident("INC-000001").Incident.Comments, 1, "only the authorised patch landed")

	health := send("GET", "/healthz", "")
	require.Equal(t, http.StatusOK, health.Code)
	require.JSONEq(t, `{"status":"ok"}`, health.Body.String())
	live := send("GET", "/livez", "")
	require.Equal(t, http.StatusOK, live.Code, "liveness needs no token")
	metrics := send("GET", "/metrics", "Bearer t0ken")
	require.Equal(t, http.StatusOK, metrics.Code)
	require.Contains(t, metrics.Body.String(), `tocsin_ticketing_alerts_total{result="opened"} 1`)
}

func TestAPIRoutingErrors(t *testing.T) {
	a := newAPIEnv(t, "")
	var e apiError
	code, h := a.do("DELETE", "/api/v1/incidents/INC-000001", "", &e)
	require.Equal(t, http.StatusMethodNotAllowed, code)
	require.Equal(t, "GET, PATCH", h.Get("Allow"))
	code, h = a.do("POST", "/api/v1/incidents", "{}", &e)
	require.Equal(t, http.StatusMethodNotAllowed, code)
	require.Equal(t, "GET", h.Get("Allow"))
	code, _ = a.do("GET", "/api/v2/incidents", "", &e)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, e.Error, "no such endpoint")
}

func TestAPIParseFailures(t *testing.T) {
	a := newAPIEnv(t, "")
	ctx := context.Background()
	fs := []schemas.ParseFailure{
		{Source: "udp", Reason: "no_header", Raw: []byte("hello\xff"), Received: t0},
		{Source: "udp", Reason: "too_long", Raw: []byte("x"), Received: t0},
		{Source: "tcp", Reason: "no_header", Raw: []byte("y"), Received: t0},
		{Source: "udp", Reason: "no_header", Raw: []byte("z"), Received: t0, Detail: "at byte 0"},
	}
	require.NoError(t, a.m.HandleFailures(ctx, fs))

	var out ticketing.FailureList
	code, _ := a.do("GET", "/api/v1/parse-failures?source=udp&reason=no_header", "", &out)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 2, out.Total)
	require.Equal(t, map[string]int{"no_header": 2, "too_long": 1}, out.ByReason)
	require.Len(t, out.Failures, 2)
	require.Equal(t, "z", out.Failures[0].Raw)
	require.Equal(t, "at byte 0", out.Failures[0].Detail)
	require.Equal(t, "hello\uFFFD", out.Failures[1].Raw)

	code, _ = a.do("GET", "/api/v1/parse-failures?limit=1&offset=3", "", &out)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 4, out.Total)
	require.Equal(t, "hello\uFFFD", out.Failures[0].Raw)
	require.Equal(t, map[string]int{"no_header": 3, "too_long": 1}, out.ByReason)
}
