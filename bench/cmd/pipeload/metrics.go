package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// sample is one line of the Prometheus text exposition format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseMetrics reads the Prometheus text format (version 0.0.4) as
// client_golang writes it: comments, then `name{k="v",...} value
// [timestamp]` lines. A line it cannot read is an error naming it.
func parseMetrics(data []byte) ([]sample, error) {
	var out []sample
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		s, err := parseSample(string(line))
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSample(line string) (sample, error) {
	var s sample
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value in %q", clip(line))
	}
	s.name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		s.labels = map[string]string{}
		for {
			rest = strings.TrimLeft(rest, " \t,")
			if rest == "" {
				return s, fmt.Errorf("unterminated labels in %q", clip(line))
			}
			if rest[0] == '}' {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq <= 0 || eq+1 >= len(rest) || rest[eq+1] != '"' {
				return s, fmt.Errorf("bad label in %q", clip(line))
			}
			key := strings.TrimSpace(rest[:eq])
			val, n, err := unquoteLabel(rest[eq+1:])
			if err != nil {
				return s, fmt.Errorf("%w in %q", err, clip(line))
			}
			s.labels[key] = val
			rest = rest[eq+1+n:]
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 || len(fields) > 2 {
		return s, fmt.Errorf("want a value and an optional timestamp after %s in %q", s.name, clip(line))
	}
	v, err := parseValue(fields[0])
	if err != nil {
		return s, fmt.Errorf("bad value in %q: %w", clip(line), err)
	}
	s.value = v
	return s, nil
}

// unquoteLabel reads a quoted label value at the start of s (with the
// format's escapes \\, \" and \n) and says how many bytes it took.
func unquoteLabel(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			i++
			if i >= len(s) {
				return "", 0, errors.New("unterminated escape")
			}
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case '\\', '"':
				b.WriteByte(s[i])
			default:
				return "", 0, fmt.Errorf("unknown escape \\%c", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated label value")
}

func parseValue(s string) (float64, error) {
	switch s {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// metricSet is one scrape of one role.
type metricSet struct {
	samples []sample
	byKey   map[string]float64
}

// has reports whether any sample has this name.
func (m *metricSet) has(name string) bool {
	if m == nil {
		return false
	}
	for i := range m.samples {
		if m.samples[i].name == name {
			return true
		}
	}
	return false
}

// sum adds the samples named name whose labels include every pair of
// match (given as key, value, key, value...).
func (m *metricSet) sum(name string, match ...string) float64 {
	if m == nil {
		return 0
	}
	total := 0.0
	for i := range m.samples {
		s := &m.samples[i]
		if s.name == name && labelsMatch(s.labels, match) {
			total += s.value
		}
	}
	return total
}

func labelsMatch(l map[string]string, match []string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		if l[match[i]] != match[i+1] {
			return false
		}
	}
	return true
}

// seriesKey names one series: its metric name and its labels, sorted.
func seriesKey(s *sample) string {
	if len(s.labels) == 0 {
		return s.name
	}
	keys := make([]string, 0, len(s.labels))
	for k := range s.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(s.name)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(s.labels[k])
	}
	return b.String()
}

// index maps series keys to values, built on first use.
func (m *metricSet) value(key string) (float64, bool) {
	if m.byKey == nil {
		m.byKey = make(map[string]float64, len(m.samples))
		for i := range m.samples {
			// A series listed twice (which a registry does not write)
			// counts as the sum of its lines.
			m.byKey[seriesKey(&m.samples[i])] += m.samples[i].value
		}
	}
	v, ok := m.byKey[key]
	return v, ok
}

// counterDelta is how much the counters named name (and matching match)
// grew from prev to cur, summed over series. A series new in cur, or
// lower than in prev, counts from zero: its process restarted, or (as
// tocsin's per-partition engines do) it was removed and registered again
// when a partition moved. What a removed series counted after prev is
// lost. ok is false when cur has no such series.
func counterDelta(prev, cur *metricSet, name string, match ...string) (delta float64, ok bool) {
	if cur == nil {
		return 0, false
	}
	done := map[string]bool{}
	for i := range cur.samples {
		s := &cur.samples[i]
		if s.name != name || !labelsMatch(s.labels, match) {
			continue
		}
		ok = true
		key := seriesKey(s)
		if done[key] {
			continue
		}
		done[key] = true
		now, _ := cur.value(key)
		before, had := 0.0, false
		if prev != nil {
			before, had = prev.value(key)
		}
		if had && now >= before {
			delta += now - before
		} else {
			delta += now
		}
	}
	return delta, ok
}

// bucket is one cumulative histogram bucket.
type bucket struct {
	le    float64
	count float64
}

// quantile estimates the q-quantile from cumulative buckets the way
// Prometheus's histogram_quantile does: linear inside the bucket that
// holds the rank, the lower bound of the first bucket being 0, and the
// highest finite bound when the rank falls in the +Inf bucket. NaN when
// the buckets hold no observation.
func quantile(q float64, bs []bucket) float64 {
	if len(bs) == 0 || math.IsInf(bs[len(bs)-1].le, 1) && bs[len(bs)-1].count <= 0 {
		return math.NaN()
	}
	total := bs[len(bs)-1].count
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range bs {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				if i == 0 {
					return math.NaN()
				}
				return bs[i-1].le
			}
			inBucket := b.count - below
			if inBucket <= 0 {
				return b.le
			}
			return lower + (b.le-lower)*(rank-below)/inBucket
		}
		lower, below = b.le, b.count
	}
	return bs[len(bs)-1].le
}

// scrape fetches and parses one /metrics URL.
func scrape(ctx context.Context, hc *http.Client, url, token string) (*metricSet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot scrape %s: %w", url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot scrape %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot scrape %s: HTTP %d: %s", url, resp.StatusCode, clip(string(body)))
	}
	samples, err := parseMetrics(body)
	if err != nil {
		return nil, fmt.Errorf("cannot read the metrics of %s: %w", url, err)
	}
	return &metricSet{samples: samples}, nil
}
