package ticketing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

// receiver is a webhook endpoint on 127.0.0.1 that answers with the
// statuses in script, then 200, and records what it got.
type receiver struct {
	srv *httptest.Server

	mu      sync.Mutex
	script  []int
	bodies  []ticketing.WebhookPayload
	headers []http.Header
	// hold, when not nil, keeps each request waiting until it is closed;
	// arrived gets a value per request.
	hold    chan struct{}
	arrived chan struct{}
}

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{script: script, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var p ticketing.WebhookPayload
	_ = json.Unmarshal(body, &p)
	r.mu.Lock()
	r.bodies = append(r.bodies, p)
	r.headers = append(r.headers, req.Header.Clone())
	status := http.StatusOK
	if len(r.script) > 0 {
		status, r.script = r.script[0], r.script[1:]
	}
	hold := r.hold
	r.mu.Unlock()
	r.arrived <- struct{}{}
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
		}
	}
	w.WriteHeader(status)
}

func (r *receiver) got() []ticketing.WebhookPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ticketing.WebhookPayload(nil), r.bodies...)
}

func fastHook(url string) ticketing.WebhookConfig {
	return ticketing.WebhookConfig{URL: url, Backoff: time.Millisecond, Timeout: 5 * time.Second}
}

// closeManager waits for the webhook queues to drain.
func closeManager(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.m.Close(ctx))
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusBadGateway)
	hook := fastHook(rcv.srv.URL)
	hook.BearerToken = "s3cret"
	hook.Headers = map[string]string{"X-Tenant": "blue"}
	e := newEnv(t, func(o *ticketing.Options) { o.Webhooks = []ticketing.WebhookConfig{hook} })
	a := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityHigh, t0)
	e.handle(a)
	closeManager(t, e)

	got := rcv.got()
	require.Len(t, got, 3, "two failures, then success")
	for _, p := range got {
		require.Equal(t, ticketing.EventOpened, p.Event)
		require.Equal(t, "INC-000001", p.Incident.ID)
		require.Equal(t, a.ID, p.Alert.ID)
		require.Equal(t, "2 failed logins", p.Alert.Reason)
		require.Nil(t, p.PreviousSeverity)
	}
	h := rcv.headers[0]
	require.Equal(t, "Bearer s3cret", h.Get("Authorization"))
	require.Equal(t, "blue", h.Get("X-Tenant"))
	require.Equal(t, "application/json", h.Get("Content-Type"))
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "delivered"))
	require.Equal(t, 0.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "failed"))
}

func TestWebhookGivesUp(t *testing.T) {
	for _, c := range []struct {
		name     string
		status   int
		attempts int
		want     int
	}{
		{"server errors retried up to the limit", http.StatusServiceUnavailable, 4, 4},
		{"default limit is three", http.StatusInternalServerError, 0, 3},
		{"client errors not retried", http.StatusBadRequest, 4, 1},
		{"redirects not followed", http.StatusFound, 4, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			script := make([]int, 10)
			for i := range script {
				script[i] = c.status
			}
			rcv := newReceiver(t, script...)
			hook := fastHook(rcv.srv.URL)
			hook.MaxAttempts = c.attempts
			e := newEnv(t, func(o *ticketing.Options) { o.Webhooks = []ticketing.WebhookConfig{hook} })
			e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityHigh, t0))
			closeManager(t, e)
			require.Len(t, rcv.got(), c.want)
			require.Equal(t, 1.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "failed"))
			require.Equal(t, 0.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "delivered"))
		})
	}
}

func TestWebhookSeverityFilters(t *testing.T) {
	all := newReceiver(t)
	high := newReceiver(t)
	onlyLow := newReceiver(t)
	hAll, hHigh, hLow := fastHook(all.srv.URL), fastHook(high.srv.URL), fastHook(onlyLow.srv.URL)
	hHigh.MinSeverity = schemas.SeverityHigh
	hLow.Severities = []schemas.Severity{schemas.SeverityLow}
	e := newEnv(t, func(o *ticketing.Options) { o.Webhooks = []ticketing.WebhookConfig{hAll, hHigh, hLow} })

	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityLow, t0))
	// Same severity: no notification.
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityLow, t0.Add(time.Minute)))
	raise := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityCritical, t0.Add(2*time.Minute))
	e.handle(raise)
	// Lower severity: no notification.
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0.Add(3*time.Minute)))
	closeManager(t, e)

	events := func(r *receiver) []string {
		var out []string
		for _, p := range r.got() {
			out = append(out, p.Event+"/"+p.Incident.Severity.String())
		}
		return out
	}
	require.Equal(t, []string{"incident.opened/low", "incident.severity_raised/critical"}, events(all))
	require.Equal(t, []string{"incident.severity_raised/critical"}, events(high))
	require.Equal(t, []string{"incident.opened/low"}, events(onlyLow))

	p := high.got()[0]
	require.NotNil(t, p.PreviousSeverity)
	require.Equal(t, schemas.SeverityLow, *p.PreviousSeverity)
	require.Equal(t, raise.ID, p.Alert.ID)
	require.Equal(t, 3, p.Incident.AlertCount)
	require.Equal(t, 4.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "delivered"))
}

func TestWebhookQueueOverflowIsCounted(t *testing.T) {
	rcv := newReceiver(t)
	rcv.hold = make(chan struct{})
	hook := fastHook(rcv.srv.URL)
	hook.QueueSize = 1
	e := newEnv(t, func(o *ticketing.Options) { o.Webhooks = []ticketing.WebhookConfig{hook} })

	e.handle(mkAlert("ssh-bf", "10.0.0.1", schemas.SeverityHigh, t0))
	<-rcv.arrived // the first delivery is in flight and held
	var batch []schemas.Alert
	for _, ip := range []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"} {
		batch = append(batch, mkAlert("ssh-bf", ip, schemas.SeverityHigh, t0))
	}
	start := time.Now()
	e.handle(batch...)
	require.Less(t, time.Since(start), 5*time.Second, "Handle does not wait for the receiver")
	require.Equal(t, 3.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "dropped"))
	_, total := e.list(ticketing.IncidentQuery{})
	require.Equal(t, 5, total, "dropped notifications lose no incident")

	close(rcv.hold)
	closeManager(t, e)
	require.Equal(t, 2.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "delivered"))
	var ids []string
	for _, p := range rcv.got() {
		ids = append(ids, p.Incident.ID)
	}
	require.Equal(t, []string{"INC-000001", "INC-000002"}, ids)
}

func TestCloseAbortsAHungReceiver(t *testing.T) {
	rcv := newReceiver(t)
	rcv.hold = make(chan struct{})
	t.Cleanup(func() { close(rcv.hold) })
	hook := fastHook(rcv.srv.URL)
	hook.Timeout = time.Minute
	e := newEnv(t, func(o *ticketing.Options) { o.Webhooks = []ticketing.WebhookConfig{hook} })
	e.handle(mkAlert("ssh-bf", "10.0.0.1", schemas.SeverityHigh, t0), mkAlert("ssh-bf", "10.0.0.2", schemas.SeverityHigh, t0))
	<-rcv.arrived

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.m.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "cannot finish deliveries to webhook")
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "failed"))
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_webhook_deliveries_total", "result", "dropped"))
	require.ErrorContains(t, e.m.Handle(context.Background(), []schemas.Alert{mkAlert("r", "1", 0, t0)}), "closed")
}
