package ticketing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// DefaultQuietPeriod is how long an incident stays active without new
// alerts when Options.QuietPeriod is zero.
const DefaultQuietPeriod = 24 * time.Hour

// ActorAuto names the Manager itself in history rows it writes when it
// resolves a quiet incident.
const ActorAuto = "auto"

// maxEntities bounds the entities merged into one incident. Alerts carry
// attacker-chosen values (user names, hosts), so an unbounded union would
// let one noisy source grow a single row without limit; entities past the
// cap are dropped, and the alerts that carried them still hold them.
const maxEntities = 64

// Options configures a Manager.
type Options struct {
	// Store keeps incidents and parse failures. Required.
	Store Store
	// QuietPeriod is how long an incident stays active without a new
	// alert before it is resolved automatically. Default 24h.
	QuietPeriod time.Duration
	// Webhooks are notified when an incident opens or its severity
	// rises. Each has its own bounded queue and delivery goroutine.
	Webhooks []WebhookConfig
	// Now is the wall clock, used for created/updated times and history
	// rows. Default time.Now.
	Now func() time.Time
	// Logger receives the stage's logs; the zero value logs nothing.
	Logger zerolog.Logger
	// Registerer receives the stage's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Manager turns alerts into incidents. Handle, Sweep and Patch are the
// only writers and are serialised by one mutex; the query methods read
// the store directly and may run concurrently with them.
type Manager struct {
	store Store
	quiet time.Duration
	now   func() time.Time
	log   zerolog.Logger
	// noisy logs per incident, sampled: a spray of source addresses
	// opens incidents faster than anyone reads log lines.
	noisy zerolog.Logger
	met   *metrics
	hooks []*hook

	mu     sync.Mutex
	closed bool
	seq    int64
	// active holds every open or acknowledged incident by its rule and
	// group key.
	//
	// The index is not capped: an attacker who makes a rule fire for
	// many distinct group keys (a spray of source addresses) grows it
	// until the quiet period resolves those incidents. Each entry is a
	// few hundred bytes and the engine bounds how many groups a rule
	// tracks; a cap here would need a store lookup on every miss.
	active map[string]*IncidentRecord
	batch  Batch
}

// New builds a Manager, rebuilds its index of active incidents from the
// store and starts one delivery goroutine per webhook. Close stops them.
func New(opts Options) (*Manager, error) {
	if opts.Store == nil {
		return nil, errors.New("cannot create ticketing manager: no store given")
	}
	if opts.QuietPeriod < 0 {
		return nil, fmt.Errorf("cannot create ticketing manager: negative quiet period %s", opts.QuietPeriod)
	}
	if opts.QuietPeriod == 0 {
		opts.QuietPeriod = DefaultQuietPeriod
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	met := newMetrics()
	m := &Manager{
		store:  opts.Store,
		quiet:  opts.QuietPeriod,
		now:    opts.Now,
		log:    opts.Logger.With().Str("component", "ticketing").Logger(),
		met:    met,
		active: map[string]*IncidentRecord{},
	}
	m.noisy = m.log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Minute})
	for i, c := range opts.Webhooks {
		h, err := newHook(c, m.log, met)
		if err != nil {
			return nil, fmt.Errorf("cannot configure webhook %d (%q): %w", i, c.Name, err)
		}
		m.hooks = append(m.hooks, h)
	}
	if err := m.load(context.Background()); err != nil {
		return nil, err
	}
	// Registered last, so that a failed New leaves the registry as it
	// was and can be retried with it.
	if err := met.register(opts.Registerer); err != nil {
		return nil, fmt.Errorf("cannot register ticketing metrics: %w", err)
	}
	for _, h := range m.hooks {
		h.start()
	}
	return m, nil
}

// Reload rebuilds the index of active incidents from the store. A
// ticketing instance calls it when it takes over the alerts from another
// one that wrote to the same store in the meantime.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for k, r := range m.active {
		m.met.openGauge(r.Severity).Dec()
		delete(m.active, k)
	}
	return m.load(ctx)
}

func (m *Manager) load(ctx context.Context) error {
	st, err := m.store.LoadActive(ctx)
	if err != nil {
		return fmt.Errorf("cannot load active incidents: %w", err)
	}
	m.seq = st.LastSeq
	for i := range st.Active {
		r := st.Active[i]
		if r.Seq > m.seq {
			m.seq = r.Seq
		}
		k := recordKey(&r)
		if old, ok := m.active[k]; ok {
			// Only one incident per key is active at a time; two can
			// only come from an older writer's bug. Keep the newer.
			m.log.Warn().Str("incident", old.ID).Str("other", r.ID).Msg("two active incidents share a rule and group key; keeping the newer")
			if old.Seq > r.Seq {
				continue
			}
			m.met.openGauge(old.Severity).Dec()
		}
		m.active[k] = &r
		m.met.openGauge(r.Severity).Inc()
	}
	return nil
}

// Close stops the webhook goroutines after they deliver what is queued,
// or when ctx ends, whichever comes first. It does not close the store.
// Handle, Sweep and Patch fail after Close.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	var errs []error
	for _, h := range m.hooks {
		errs = append(errs, h.stop(ctx))
	}
	return errors.Join(errs...)
}

// ErrClosed is returned by Handle, Sweep and Patch after Close.
var ErrClosed = errors.New("ticketing manager is closed")

var _ bus.Handler[schemas.Alert] = (*Manager)(nil)

// Handle files each alert under an incident. It implements
// bus.Handler[schemas.Alert]. A batch is written in one store transaction:
// on error nothing of it is kept and the Manager's state is as before, so
// the batch can be delivered again.
func (m *Manager) Handle(ctx context.Context, alerts []schemas.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	ids := make([]string, 0, len(alerts))
	for i := range alerts {
		if alerts[i].ID != "" {
			ids = append(ids, alerts[i].ID)
		}
	}
	known, err := m.store.KnownAlerts(ctx, ids)
	if err != nil {
		m.met.storeErrors.Inc()
		return fmt.Errorf("cannot check alerts for redelivery: %w", err)
	}
	if known == nil {
		known = map[string]struct{}{}
	}
	tx := m.begin()
	invalid := 0
	for i := range alerts {
		a := &alerts[i]
		if a.ID == "" || a.RuleID == "" {
			invalid++
			continue
		}
		if _, dup := known[a.ID]; dup {
			tx.counts[alertDuplicate]++
			continue
		}
		known[a.ID] = struct{}{}
		tx.add(a)
	}
	tx.counts[alertInvalid] += invalid
	if err := m.commit(ctx, tx); err != nil {
		return err
	}
	if invalid > 0 {
		return fmt.Errorf("%w: cannot file %d of %d alerts: an alert needs an ID and a rule ID", ErrInvalidAlert, invalid, len(alerts))
	}
	return nil
}

// Sweep resolves every active incident that nothing has touched (no alert,
// no responder's change) for the quiet period before now, on the wall
// clock: a backlog of old events delivered late opens incidents that stay
// open for a whole quiet period. The live process calls it periodically;
// a replay need not, since Handle resolves quiet incidents in event time.
func (m *Manager) Sweep(ctx context.Context, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	var due []*IncidentRecord
	for _, r := range m.active {
		if r.UpdatedAt.Add(m.quiet).Before(now) {
			due = append(due, r)
		}
	}
	if len(due) == 0 {
		return nil
	}
	slices.SortFunc(due, func(a, b *IncidentRecord) int { return cmp.Compare(a.Seq, b.Seq) })
	tx := m.begin()
	for _, r := range due {
		r = tx.touch(r)
		tx.autoResolve(r, r.UpdatedAt.Add(m.quiet))
	}
	return m.commit(ctx, tx)
}

// Incidents lists incidents; see IncidentStore.Incidents.
func (m *Manager) Incidents(ctx context.Context, q IncidentQuery) ([]schemas.Incident, int, error) {
	list, total, err := m.store.Incidents(ctx, q)
	if err != nil {
		m.met.storeErrors.Inc()
		return nil, 0, fmt.Errorf("cannot list incidents: %w", err)
	}
	return list, total, nil
}

// ParseFailures lists stored parse failures; see FailureStore.
func (m *Manager) ParseFailures(ctx context.Context, q FailureQuery) (FailurePage, error) {
	p, err := m.store.ParseFailures(ctx, q)
	if err != nil {
		m.met.storeErrors.Inc()
		return FailurePage{}, fmt.Errorf("cannot list parse failures: %w", err)
	}
	return p, nil
}

// Store returns the store the Manager writes to.
func (m *Manager) Store() Store { return m.store }

func recordKey(r *IncidentRecord) string {
	rule := ""
	if len(r.RuleIDs) > 0 {
		rule = r.RuleIDs[0]
	}
	return incidentKey(rule, r.GroupKey)
}

func incidentKey(ruleID, groupKey string) string { return ruleID + "\x00" + groupKey }

// IncidentID formats an incident sequence number as an ID.
func IncidentID(seq int64) string { return fmt.Sprintf("INC-%06d", seq) }
