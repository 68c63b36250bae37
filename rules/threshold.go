package rules

import (
	"strconv"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// maxThreshold bounds a threshold so a group's window (at most threshold
// entries) stays small.
const maxThreshold = 100_000

// thresholdKind counts matching events per group in a sliding event-time
// window and fires once when the count reaches the threshold.
//
//	threshold: 10        # N: sum of event.count (or distinct values) to reach
//	window: 1m           # sliding window, event time
//	distinct: user.name  # optional: count distinct values of this field
//	followed_by:         # optional: fire only when, once N is reached, an
//	  condition: ...     #   event matching this condition arrives within
//	  within: 5m         #   `within` of the last counted event
type thresholdKind struct{}

func (thresholdKind) Name() string { return "threshold" }

func (thresholdKind) Placeholders() map[string]string {
	return map[string]string{"threshold": "", "window": "", "distinct": "distinct", "within": "followed_by"}
}

func (thresholdKind) Compile(c *KindContext) Detector {
	d := &thresholdDetector{}
	ok := true
	if n, good := c.Int("threshold", true); good {
		if n < 1 || n > maxThreshold {
			c.Errorf("threshold", "must be between 1 and %d, got %d", maxThreshold, n)
			ok = false
		}
		d.n = n
	} else {
		ok = false
	}
	if w, good := c.Duration("window", true); good {
		d.window = w
	} else {
		ok = false
	}
	if c.Has("distinct") {
		f, good := c.Field("distinct", false)
		ok = ok && good
		d.distinct = f
	}
	if c.Has("followed_by") {
		fb, good := c.Sub("followed_by", false)
		if good {
			cond, okc := fb.Condition("condition", true)
			within, okw := fb.Duration("within", true)
			d.follow, d.within = cond, within
			good = okc && okw
		}
		ok = ok && good
	}
	if !ok {
		return nil
	}
	return d
}

type thresholdDetector struct {
	n        int
	window   time.Duration
	distinct schemas.FieldSpec // Get is nil unless distinct is set
	follow   *Condition
	within   time.Duration
}

func (d *thresholdDetector) Extra() []*Condition {
	if d.follow == nil {
		return nil
	}
	return []*Condition{d.follow}
}

func (d *thresholdDetector) NewGroup() Group { return newWindowGroup(d) }

func (d *thresholdDetector) Horizon() time.Duration { return d.window + d.within }

func (d *thresholdDetector) Vars() map[string]string {
	v := map[string]string{
		"threshold": strconv.Itoa(d.n),
		"window":    d.window.String(),
	}
	if d.distinct.Get != nil {
		v["distinct"] = d.distinct.Name
	}
	if d.follow != nil {
		v["within"] = d.within.String()
	}
	return v
}

func (d *thresholdDetector) DefaultReason() string {
	s := "{count} events of {title} for {group} within {window} (threshold {threshold})"
	if d.distinct.Get != nil {
		s = "{distinct_count} distinct {distinct} values in {title} for {group} within {window} (threshold {threshold})"
	}
	if d.follow != nil {
		s += ", followed by a matching event within {within}"
	}
	return s
}

// DecodeGroup implements Detector: it reads a state of version 2 (binary)
// or 1 (JSON) that windowGroup.AppendState wrote, and refuses one that
// is malformed, cut short, followed by more bytes, of an unknown version,
// or inconsistent with the rule (more entries than the threshold, a
// distinct rule's event without the field). It never panics.
func (d *thresholdDetector) DecodeGroup(data []byte) (Group, error) {
	g, err := decodeWindowGroup(d, data)
	if err != nil {
		return nil, err
	}
	return g, nil
}
