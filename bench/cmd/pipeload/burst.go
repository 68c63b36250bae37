package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// planted is one brute-force burst: lines failed logins for root from
// one fresh address, the last written at last.
type planted struct {
	index int
	ip    string
	first time.Time
	last  time.Time
	err   error // the burst could not be written whole
}

// burster plants bursts on its own connection, so that a burst's lines do
// not queue behind the background traffic in the sender's socket buffers.
type burster struct {
	addr  string
	lines int
	span  time.Duration
	every time.Duration
	first time.Duration
	base  uint32 // offset in burstNet of the first burst's address
	host  string

	conn net.Conn
}

// burstAddr is the address of burst i: consecutive addresses of
// 198.18.0.0/15 from base, wrapping inside it.
func burstAddr(base uint32, i int) netip.Addr {
	var b [4]byte
	start := burstNet.Addr().As4()
	u := binary.BigEndian.Uint32(start[:]) + (base+uint32(i))%(1<<17)
	binary.BigEndian.PutUint32(b[:], u)
	return netip.AddrFrom4(b)
}

// burstLine is one failed login in RFC 5424 form, stamped now.
func burstLine(dst []byte, now time.Time, host string, pid int, ip string, port int) []byte {
	dst = append(dst, "<38>1 "...)
	dst = now.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	dst = append(dst, ' ')
	dst = append(dst, host...)
	dst = append(dst, " sshd "...)
	dst = strconv.AppendInt(dst, int64(pid), 10)
	dst = append(dst, " - - Failed password for root from "...)
	dst = append(dst, ip...)
	dst = append(dst, " port "...)
	dst = strconv.AppendInt(dst, int64(port), 10)
	return append(dst, " ssh2\n"...)
}

// run plants a burst every b.every (the first after b.first) until ctx
// ends, and hands each to out; it closes out when it returns.
func (b *burster) run(ctx context.Context, out chan<- planted) {
	defer close(out)
	defer func() {
		if b.conn != nil {
			b.conn.Close()
		}
	}()
	if !sleepCtx(ctx, b.first) {
		return
	}
	tick := time.NewTicker(b.every)
	defer tick.Stop()
	for i := 0; ; i++ {
		p := b.plant(ctx, i)
		if ctx.Err() != nil && p.err != nil {
			return // cut short by the end of the run: not a result
		}
		out <- p
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// plant writes one burst, its lines evenly spread over b.span.
func (b *burster) plant(ctx context.Context, i int) planted {
	p := planted{index: i, ip: burstAddr(b.base, i).String()}
	var gap time.Duration
	if b.lines > 1 {
		gap = b.span / time.Duration(b.lines-1)
	}
	var line []byte
	for j := range b.lines {
		if j > 0 && !sleepCtx(ctx, gap) {
			p.err = context.Canceled
			return p
		}
		if b.conn == nil {
			c, err := dial(ctx, b.addr)
			if err != nil {
				p.err = err
				return p
			}
			b.conn = c
		}
		now := time.Now()
		line = burstLine(line[:0], now, b.host, 30000+i%30000, p.ip, 40000+j)
		b.conn.SetWriteDeadline(now.Add(10 * time.Second))
		if _, err := b.conn.Write(line); err != nil {
			b.conn.Close()
			b.conn = nil
			p.err = fmt.Errorf("cannot write burst %d: %w", i, err)
			return p
		}
		if j == 0 {
			p.first = time.Now()
		}
	}
	p.last = time.Now()
	return p
}

// result is what became of one burst.
type result struct {
	planted
	seen     bool
	latency  time.Duration
	incident string
	stale    bool // the incident matched was created before the burst began
}

// poller watches the ticketing API for the incidents of planted bursts:
// while a burst is pending it lists the rule's incidents every interval
// and matches them by entity value (the burst's address).
type poller struct {
	hc       *http.Client
	api      string // base URL of the ticketing API, e.g. http://127.0.0.1:8080
	token    string
	rule     string
	interval time.Duration
	timeout  time.Duration // after the last line; then the burst is missed
	pageSize int

	pending map[string]*result
	done    []result // read only after run returned
	polls   int
	errs    int
	lastErr string

	// nSeen, nMissed and nPending are for progress lines, read while run
	// goes on.
	nSeen, nMissed, nPending atomic.Int64
}

type incidentList struct {
	Incidents []struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
		Entities  []struct {
			Value string `json:"value"`
		} `json:"entities"`
	} `json:"incidents"`
	Total int `json:"total"`
}

// run consumes planted bursts until in is closed and nothing is pending,
// or ctx ends (pending bursts are then left out of the results).
func (p *poller) run(ctx context.Context, in <-chan planted) {
	p.pending = map[string]*result{}
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for in != nil || len(p.pending) > 0 {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			r := &result{planted: b}
			if b.err != nil {
				p.finish(r)
				continue
			}
			p.pending[b.ip] = r
			p.nPending.Store(int64(len(p.pending)))
		case <-tick.C:
			if len(p.pending) > 0 {
				p.poll(ctx)
			}
		}
	}
}

// poll lists the rule's incidents page by page until every pending burst
// was found or the list ends, then expires bursts past the timeout.
func (p *poller) poll(ctx context.Context) {
	p.polls++
	for offset, pages := 0, 0; pages < 50; pages++ {
		list, err := p.list(ctx, offset)
		now := time.Now()
		if err != nil {
			p.errs++
			p.lastErr = err.Error()
			break
		}
		for _, inc := range list.Incidents {
			for _, e := range inc.Entities {
				r, ok := p.pending[e.Value]
				if !ok {
					continue
				}
				r.seen, r.latency, r.incident = true, now.Sub(r.last), inc.ID
				r.stale = inc.CreatedAt.Before(r.first.Add(-2 * time.Second))
				delete(p.pending, e.Value)
				p.finish(r)
			}
		}
		offset += len(list.Incidents)
		if len(p.pending) == 0 || len(list.Incidents) == 0 || offset >= list.Total {
			break
		}
	}
	now := time.Now()
	for ip, r := range p.pending {
		if now.Sub(r.last) > p.timeout {
			delete(p.pending, ip)
			p.finish(r)
		}
	}
}

// finish files a burst's result.
func (p *poller) finish(r *result) {
	p.done = append(p.done, *r)
	if r.seen {
		p.nSeen.Add(1)
	} else {
		p.nMissed.Add(1)
	}
	p.nPending.Store(int64(len(p.pending)))
}

func (p *poller) list(ctx context.Context, offset int) (*incidentList, error) {
	q := url.Values{"rule": {p.rule}, "limit": {strconv.Itoa(p.pageSize)}}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	u := p.api + "/api/v1/incidents?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot list incidents: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot list incidents: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot list incidents: GET %s: HTTP %d: %s", u, resp.StatusCode, clip(string(body)))
	}
	var l incidentList
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("cannot read the incident list of GET %s: %w", u, err)
	}
	return &l, nil
}
