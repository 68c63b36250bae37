package authlog

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/tocsin-siem/tocsin/bench/internal/truth"
)

type prog uint8

const (
	progSSHD prog = iota
	progSudo
	progSu
	progCron
	progLogind
	progSystemd
	progPolkit
	progPkexec
)

// Syslog severities used by the programs modelled here.
const (
	sevAlert  = 1
	sevErr    = 3
	sevNotice = 5
	sevInfo   = 6
)

var progs = [...]struct {
	name     string
	facility uint8
}{
	progSSHD:    {"sshd", 4},
	progSudo:    {"sudo", 10},
	progSu:      {"su", 10},
	progCron:    {"CRON", 10},
	progLogind:  {"systemd-logind", 4},
	progSystemd: {"systemd", 10},
	progPolkit:  {"polkitd", 10},
	progPkexec:  {"pkexec", 10},
}

// record is one pending line. at is the offset from Options.Start; seq
// breaks ties in the order lines were scheduled.
type record struct {
	at   time.Duration
	seq  uint64
	msg  string
	pid  int32
	host uint16
	prog prog
	sev  uint8
}

func (r *record) before(o *record) bool {
	return r.at < o.at || (r.at == o.at && r.seq < o.seq)
}

// Generator writes one log. It is not safe for concurrent use.
type Generator struct {
	opts  Options
	rnd   *rand.Rand
	fleet *fleet
	ips   ipPool
	seq   uint64

	// pending holds scheduled benign lines; attacks holds the planted
	// lines, sorted once planning ends. planning routes emit to attacks.
	pending  recHeap
	attacks  []record
	planning bool
	started  bool

	// linesPer and pidsPer are calibrated averages per episode of each
	// kind (pidsPer per host); rates are episode arrivals per second.
	linesPer  [numEpisodes]float64
	pidsPer   [numEpisodes][]float64
	rates     [numEpisodes]float64
	totalRate float64
	// pidBase and pidRate estimate each host's benign process counter at
	// a given offset, so planted processes get IDs that fit their time.
	pidBase []int64
	pidRate []float64

	truth truth.File
	buf   []byte
}

// New plans the attackers and calibrates the benign traffic so the log
// spans about opts.Duration.
func New(opts Options) (*Generator, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		opts: opts,
		rnd:  rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5DEECE66D)),
		buf:  make([]byte, 0, 512),
	}
	g.ips.salt = uint32(opts.Seed*0x9E3779B97F4A7C15>>32) | 1
	g.fleet = newFleet(&g.opts, g.rnd)
	g.truth = truth.File{
		Generator: "authgen",
		Seed:      opts.Seed,
		Lines:     opts.Lines,
		Format:    opts.Format.String(),
		Start:     opts.Start,
	}
	for _, h := range g.fleet.hosts {
		g.truth.Hosts = append(g.truth.Hosts, h.name)
	}
	g.calibrate()
	// Plan with rates for the whole line budget, then settle them on what
	// the attackers leave.
	g.setRates(opts.Lines)
	g.plan()
	if len(g.attacks)*2 > opts.Lines {
		return nil, fmt.Errorf("cannot fit %d attack lines into %d lines: raise -lines or lower -attackers",
			len(g.attacks), opts.Lines)
	}
	g.setRates(opts.Lines - len(g.attacks))
	return g, nil
}

// Truth returns the ground truth. Attackers are known from New on; End
// and the benign counts are filled in by WriteTo.
func (g *Generator) Truth() *truth.File { return &g.truth }

// calibrate measures how many lines and processes each benign episode
// kind makes on average, by running it on a scratch generator.
func (g *Generator) calibrate() {
	const runs = 400
	s := &Generator{
		opts: g.opts,
		rnd:  rand.New(rand.NewPCG(g.opts.Seed+1, 7)),
	}
	s.fleet = newFleet(&s.opts, s.rnd)
	hosts := len(s.fleet.hosts)
	g.pidBase = make([]int64, hosts)
	for h := range g.fleet.hosts {
		g.pidBase[h] = g.fleet.hosts[h].pidK
	}
	for e := range numEpisodes {
		s.pending = s.pending[:0]
		before := make([]int64, hosts)
		for h := range s.fleet.hosts {
			before[h] = s.fleet.hosts[h].pidK
		}
		for i := range runs {
			s.startEpisode(episode(e), time.Duration(i)*time.Hour)
		}
		g.linesPer[e] = float64(len(s.pending)) / runs
		g.pidsPer[e] = make([]float64, hosts)
		for h := range s.fleet.hosts {
			g.pidsPer[e][h] = float64(s.fleet.hosts[h].pidK-before[h]) / runs
		}
	}
}

// setRates sets episode arrival rates so that lines benign lines span
// the duration, in the shares of episodeShare.
func (g *Generator) setRates(lines int) {
	lineRate := float64(lines) / g.opts.Duration.Seconds()
	g.totalRate = 0
	g.pidRate = make([]float64, len(g.fleet.hosts))
	for e := range g.rates {
		g.rates[e] = episodeShare[e] * lineRate / g.linesPer[e]
		g.totalRate += g.rates[e]
		for h, p := range g.pidsPer[e] {
			g.pidRate[h] += g.rates[e] * p
		}
	}
}

// pid returns a process ID on host h at offset at. Benign processes take
// even IDs from a counter; planted ones take odd IDs near the benign
// counter's expected value at that time, so the two never share an sshd
// process (tocsin pairs "Invalid user" and "Failed" lines by process).
func (g *Generator) pid(h int, at time.Duration, planted bool) int32 {
	hs := &g.fleet.hosts[h]
	var k int64
	if planted {
		k = max(hs.attackK+1, g.pidBase[h]+int64(at.Seconds()*g.pidRate[h]))
		hs.attackK = k
		k = 2*k + 1
	} else {
		hs.pidK++
		k = 2 * hs.pidK
	}
	return int32(1000 + k%4_190_000)
}

func (g *Generator) emit(at time.Duration, h int, p prog, sev uint8, pid int32, msg string) {
	g.seq++
	r := record{at: at, seq: g.seq, msg: msg, pid: pid, host: uint16(h), prog: p, sev: sev}
	if g.planning {
		g.attacks = append(g.attacks, r)
		return
	}
	g.pending.push(r)
}

// jitter returns a random duration in [lo, hi).
func (g *Generator) jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rnd.Int64N(int64(hi-lo)))
}

// WriteTo writes exactly Options.Lines lines to w. It can be called once.
func (g *Generator) WriteTo(w io.Writer) (int64, error) {
	if g.started {
		return 0, fmt.Errorf("cannot write log: WriteTo was already called")
	}
	g.started = true
	bw := bufio.NewWriterSize(w, 1<<20)
	var written int64
	var last time.Duration
	out := func(r *record) error {
		g.buf = g.appendLine(g.buf[:0], r)
		n, err := bw.Write(g.buf)
		written += int64(n)
		last = r.at
		return err
	}
	budget := g.opts.Lines - len(g.attacks)
	next := g.arrival(0)
	ai := 0
	for emitted := 0; emitted < budget; {
		var cand *record
		planted := false
		if len(g.pending) > 0 {
			cand = &g.pending[0]
		}
		if ai < len(g.attacks) && (cand == nil || g.attacks[ai].before(cand)) {
			cand, planted = &g.attacks[ai], true
		}
		if cand == nil || next < cand.at {
			g.startEpisode(g.pick(), next)
			next = g.arrival(next)
			continue
		}
		if err := out(cand); err != nil {
			return written, fmt.Errorf("cannot write log: %w", err)
		}
		if planted {
			ai++
		} else {
			g.pending.pop()
			emitted++
		}
	}
	for ; ai < len(g.attacks); ai++ {
		if err := out(&g.attacks[ai]); err != nil {
			return written, fmt.Errorf("cannot write log: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return written, fmt.Errorf("cannot write log: %w", err)
	}
	g.truth.End = g.opts.Start.Add(last)
	return written, nil
}

// arrival returns the next benign episode's start after now.
//
// Shortcoming: arrivals are uniform over the day, while real fleets log
// more in working hours and scanners come in waves. A constant rate keeps
// the mapping from line count to duration exact, and no planted attack
// depends on the background's rhythm; a daily cycle would matter only to
// rules that learn baselines.
func (g *Generator) arrival(now time.Duration) time.Duration {
	return now + time.Duration(g.rnd.ExpFloat64()/g.totalRate*float64(time.Second))
}

func (g *Generator) pick() episode {
	x := g.rnd.Float64() * g.totalRate
	for e, r := range g.rates {
		if x < r {
			return episode(e)
		}
		x -= r
	}
	return epLogin
}

func (g *Generator) appendLine(b []byte, r *record) []byte {
	t := g.opts.Start.Add(r.at)
	p := &progs[r.prog]
	pri := int64(p.facility)*8 + int64(r.sev)
	host := g.fleet.hosts[r.host].name
	switch g.opts.Format {
	case FormatRFC5424:
		b = append(b, '<')
		b = strconv.AppendInt(b, pri, 10)
		b = append(b, ">1 "...)
		b = t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
		b = append(b, ' ')
		b = append(b, host...)
		b = append(b, ' ')
		b = append(b, p.name...)
		b = append(b, ' ')
		if r.pid > 0 {
			b = strconv.AppendInt(b, int64(r.pid), 10)
		} else {
			b = append(b, '-')
		}
		b = append(b, " - - "...)
		b = append(b, r.msg...)
		return append(b, '\n')
	case FormatRFC3164:
		b = append(b, '<')
		b = strconv.AppendInt(b, pri, 10)
		b = append(b, '>')
	}
	b = t.AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	b = append(b, host...)
	b = append(b, ' ')
	b = append(b, p.name...)
	if r.pid > 0 {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(r.pid), 10)
		b = append(b, ']')
	}
	b = append(b, ':', ' ')
	b = append(b, r.msg...)
	return append(b, '\n')
}

// plan schedules every attacker's lines into g.attacks, sorted by time,
// and records each attacker in the truth.
func (g *Generator) plan() {
	g.planning = true
	defer func() { g.planning = false }()
	var order []truth.Kind
	for range g.opts.Attackers {
		order = append(order, truth.Kinds...)
	}
	g.rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	sudoPairs := map[[2]int]bool{}
	d := g.opts.Duration
	for i, k := range order {
		start := time.Duration(float64(d) * (0.04 + 0.8*(float64(i)+g.rnd.Float64()*0.5)/float64(len(order))))
		first := len(g.attacks)
		var a truth.Attacker
		switch k {
		case truth.KindSSHBruteForceFast:
			a = g.planFast(start)
		case truth.KindSSHBruteForceSlow:
			a = g.planSlow(start)
		case truth.KindPasswordSpraying:
			a = g.planSpray(start)
		case truth.KindSSHBruteForceSuccess:
			a = g.planSuccess(start)
		case truth.KindSudoFailures:
			a = g.planSudo(start, sudoPairs)
		}
		lo, hi := g.attacks[first].at, g.attacks[first].at
		for _, r := range g.attacks[first:] {
			lo, hi = min(lo, r.at), max(hi, r.at)
		}
		a.FirstSeen, a.LastSeen = g.opts.Start.Add(lo), g.opts.Start.Add(hi)
		g.truth.Attackers = append(g.truth.Attackers, a)
	}
	sort.Slice(g.attacks, func(i, j int) bool { return g.attacks[i].before(&g.attacks[j]) })
}

// recHeap is a binary min-heap of records by (at, seq).
type recHeap []record

func (h *recHeap) push(r record) {
	*h = append(*h, r)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(&s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *recHeap) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	s[n] = record{}
	s = s[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && s[l].before(&s[m]) {
			m = l
		}
		if l+1 < n && s[l+1].before(&s[m]) {
			m = l + 1
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
}
