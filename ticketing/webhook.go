package ticketing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Webhook defaults, applied when a WebhookConfig leaves the field zero.
const (
	DefaultWebhookTimeout     = 10 * time.Second
	DefaultWebhookMaxAttempts = 3
	DefaultWebhookBackoff     = time.Second
	DefaultWebhookQueueSize   = 256
)

// WebhookConfig is one webhook receiver.
//
// Which incidents it hears about: by default every severity. With
// MinSeverity it hears about incidents at that severity or above. With
// Severities it hears about exactly those; MinSeverity must then be left
// at its zero value (info). The severity compared is the incident's after
// the change, so a receiver with min_severity high hears about a medium
// incident when it rises to high, and not before.
type WebhookConfig struct {
	// Name identifies the webhook in logs. Default: its host.
	Name string `yaml:"name"`
	// URL receives a POST with a JSON WebhookPayload; http or https.
	URL         string             `yaml:"url"`
	MinSeverity schemas.Severity   `yaml:"min_severity"`
	Severities  []schemas.Severity `yaml:"severities"`
	// BearerToken, when set, is sent as "Authorization: Bearer <token>".
	BearerToken string `yaml:"bearer_token"`
	// Headers are added to every request; they may not set
	// Content-Type, nor Authorization together with BearerToken.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds each attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts is how many times a notification is tried before it
	// is given up. Default 3.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait before the second attempt; it doubles before
	// each further one. Default 1s (1s, 2s, 4s, ...).
	Backoff time.Duration `yaml:"backoff"`
	// QueueSize bounds the notifications waiting for delivery; when it
	// is full a new one is dropped and counted. Default 256.
	QueueSize int `yaml:"queue_size"`
}

// WebhookPayload is the JSON body a webhook receives.
type WebhookPayload struct {
	// Event is EventOpened or EventSeverityRaised.
	Event string `json:"event"`
	// PreviousSeverity is set for EventSeverityRaised.
	PreviousSeverity *schemas.Severity `json:"previous_severity,omitempty"`
	// Incident is the incident after the change.
	Incident schemas.Incident `json:"incident"`
	// Alert is the alert that opened the incident or raised it.
	Alert AlertSummary `json:"alert"`
}

// AlertSummary is an alert without its events.
type AlertSummary struct {
	ID          string           `json:"id"`
	RuleID      string           `json:"rule_id"`
	RuleTitle   string           `json:"rule_title"`
	Severity    schemas.Severity `json:"severity"`
	Reason      string           `json:"reason"`
	GroupKey    string           `json:"group_key"`
	Entities    []schemas.Entity `json:"entities"`
	FirstSeen   time.Time        `json:"first_seen"`
	LastSeen    time.Time        `json:"last_seen"`
	Count       int              `json:"count"`
	EventsTotal int              `json:"events_total"`
}

func summarize(a *schemas.Alert) AlertSummary {
	return AlertSummary{
		ID: a.ID, RuleID: a.RuleID, RuleTitle: a.RuleTitle, Severity: a.Severity,
		Reason: a.Reason, GroupKey: a.GroupKey, Entities: slices.Clone(a.Entities),
		FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Count: a.Count, EventsTotal: a.EventsTotal,
	}
}

// hook delivers to one webhook from its own bounded queue.
type hook struct {
	cfg    WebhookConfig
	accept [numSeverities]bool
	header http.Header
	client *http.Client
	log    zerolog.Logger
	drop   zerolog.Logger
	met    *metrics

	queue  chan []byte
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newHook(c WebhookConfig, log zerolog.Logger, met *metrics) (*hook, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("invalid url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid url %q: want http:// or https:// and a host", c.URL)
	}
	if c.Name == "" {
		c.Name = u.Host
	}
	if len(c.Severities) > 0 && c.MinSeverity != schemas.SeverityInfo {
		return nil, errors.New("set min_severity or severities, not both")
	}
	if c.Timeout < 0 || c.Backoff < 0 || c.MaxAttempts < 0 || c.QueueSize < 0 {
		return nil, errors.New("timeout, backoff, max_attempts and queue_size may not be negative")
	}
	c.Timeout = orDefault(c.Timeout, DefaultWebhookTimeout)
	c.Backoff = orDefault(c.Backoff, DefaultWebhookBackoff)
	c.MaxAttempts = orDefault(c.MaxAttempts, DefaultWebhookMaxAttempts)
	c.QueueSize = orDefault(c.QueueSize, DefaultWebhookQueueSize)

	h := &hook{cfg: c, header: http.Header{}, met: met, done: make(chan struct{})}
	for s := range numSeverities {
		sev := schemas.Severity(s)
		if len(c.Severities) > 0 {
			h.accept[s] = slices.Contains(c.Severities, sev)
		} else {
			h.accept[s] = sev >= c.MinSeverity
		}
	}
	for k, v := range c.Headers {
		switch {
		case strings.EqualFold(k, "Content-Type"):
			return nil, fmt.Errorf("header %q is set by tocsin", k)
		case strings.EqualFold(k, "Authorization") && c.BearerToken != "":
			return nil, errors.New("set bearer_token or an Authorization header, not both")
		case strings.ContainsAny(k+v, "\r\n"):
			return nil, fmt.Errorf("header %q holds a line break", k)
		}
		h.header.Set(k, v)
	}
	h.header.Set("Content-Type", "application/json")
	if h.header.Get("User-Agent") == "" {
		h.header.Set("User-Agent", "tocsin-ticketing")
	}
	if c.BearerToken != "" {
		h.header.Set("Authorization", "Bearer "+c.BearerToken)
	}
	h.client = &http.Client{
		// A receiver that redirects is misconfigured; following it
		// would send incident data to a host nobody configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	h.log = log.With().Str("webhook", c.Name).Logger()
	// A dead receiver under an alert storm would log one line per
	// dropped notification; the counter keeps the exact number.
	h.drop = h.log.Sample(&zerolog.BurstSampler{Burst: 5, Period: time.Minute})
	h.queue = make(chan []byte, c.QueueSize)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (h *hook) start() { go h.run() }

// stop closes the queue and waits for the goroutine to deliver what is
// left, until ctx ends; then it aborts the deliveries in flight.
func (h *hook) stop(ctx context.Context) error {
	h.once.Do(func() { close(h.queue) })
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		h.cancel()
		<-h.done
		return fmt.Errorf("cannot finish deliveries to webhook %q: %w", h.cfg.Name, ctx.Err())
	}
}

func (h *hook) run() {
	defer close(h.done)
	defer h.cancel()
	for body := range h.queue {
		if h.ctx.Err() != nil {
			h.met.deliveries[deliveryDropped].Inc()
			continue
		}
		h.deliver(body)
	}
}

// enqueue hands body to the delivery goroutine without blocking.
func (h *hook) enqueue(body []byte, incident string) {
	select {
	case h.queue <- body:
	default:
		h.met.deliveries[deliveryDropped].Inc()
		h.drop.Warn().Str("incident", incident).Int("queue_size", h.cfg.QueueSize).
			Msg("webhook queue full, notification dropped; raise queue_size or fix the receiver")
	}
}

func (h *hook) deliver(body []byte) {
	wait := h.cfg.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := h.post(body)
		if err == nil {
			h.met.deliveries[deliveryDelivered].Inc()
			return
		}
		if !retry || attempt >= h.cfg.MaxAttempts || h.ctx.Err() != nil {
			h.met.deliveries[deliveryFailed].Inc()
			h.log.Warn().Err(err).Int("attempts", attempt).Msg("webhook delivery failed, notification given up")
			return
		}
		h.log.Debug().Err(err).Int("attempt", attempt).Dur("backoff", wait).Msg("webhook delivery failed, will retry")
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
		}
		wait *= 2
	}
}

// post makes one attempt. It reports whether a failure is worth retrying:
// network errors, timeouts, 408, 429 and 5xx are; other answers are not.
func (h *hook) post(body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("cannot build webhook request: %w", err)
	}
	req.Header = h.header.Clone()
	resp, err := h.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("cannot post to webhook: %w", err)
	}
	// Drain a little so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return false, fmt.Errorf("webhook answered %s", resp.Status)
	}
}

// dispatch encodes n once and queues it for every webhook that takes the
// incident's severity. It is called with m.mu held, after a commit.
func (m *Manager) dispatch(n *notification) {
	sev := clampSeverity(n.incident.Severity)
	var body []byte
	for _, h := range m.hooks {
		if !h.accept[sev] {
			continue
		}
		if body == nil {
			p := WebhookPayload{Event: n.event, Incident: n.incident, Alert: n.alert}
			if n.event == EventSeverityRaised {
				prev := n.previous
				p.PreviousSeverity = &prev
			}
			var err error
			if body, err = json.Marshal(&p); err != nil {
				m.log.Error().Err(err).Str("incident", n.incident.ID).Msg("cannot encode webhook payload")
				return
			}
		}
		h.enqueue(body, n.incident.ID)
	}
}
