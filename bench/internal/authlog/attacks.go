package authlog

import (
	"time"

	"github.com/tocsin-siem/tocsin/bench/internal/truth"
)

// Each plan function schedules one attacker's lines from offset start on
// and returns its truth entry; plan fills in FirstSeen and LastSeen.
// Attempts are counted as tocsin counts them (see truth.Attacker).

// planFast is a bot with several parallel connections: some spend
// sshd's six tries on root (rsyslog folds the repeats into "message
// repeated"), others try one of two made-up names once each. It makes
// 30 to 60 attempts in well under a minute per dozen.
func (g *Generator) planFast(start time.Duration) truth.Attacker {
	h := g.exposedHost()
	ip := g.ips.next()
	target := 30 + g.rnd.IntN(31)
	names := []string{g.invalidUser(), g.invalidUser()}
	if names[1] == names[0] {
		names = names[:1]
	}
	used := map[string]bool{}
	workers := 3 + g.rnd.IntN(3)
	clock := make([]time.Duration, workers)
	for i := range clock {
		clock[i] = start + g.jitter(0, 3*time.Second)
	}
	attempts := 0
	for w := 0; attempts < target; w = (w + 1) % workers {
		t := clock[w]
		pid := g.pid(h, t, true)
		port := g.port()
		if g.chance(0.4) {
			k := min(6, target-attempts)
			used["root"] = true
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, "root"))
			t += g.jitter(1500*time.Millisecond, 2500*time.Millisecond)
			failed := msgFailed("root", ip, port, false)
			g.emit(t, h, progSSHD, sevInfo, pid, failed)
			if k > 1 {
				t += time.Duration(k-1) * g.jitter(1500*time.Millisecond, 2500*time.Millisecond)
				g.emit(t, h, progSSHD, sevInfo, pid, msgRepeated(k-1, failed))
			}
			if k == 6 {
				g.emit(t, h, progSSHD, sevErr, pid, "error: maximum authentication attempts exceeded for root from "+
					ip+" port "+itoa(port)+" ssh2 [preauth]")
				g.emit(t, h, progSSHD, sevInfo, pid, "Disconnecting authenticating user root "+ip+" port "+
					itoa(port)+": Too many authentication failures [preauth]")
			} else {
				g.emit(t, h, progSSHD, sevInfo, pid, msgClosedBy("authenticating user root", ip, port))
			}
			if k > 1 {
				g.emit(t, h, progSSHD, sevNotice, pid, msgPAMMore(k-1, ip, "root"))
			}
			attempts += k
		} else {
			u := names[g.rnd.IntN(len(names))]
			used[u] = true
			g.emit(t, h, progSSHD, sevInfo, pid, msgInvalidUser(u, ip, port))
			g.emit(t, h, progSSHD, sevNotice, pid, msgCheckPass)
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, ""))
			t += g.jitter(1500*time.Millisecond, 2500*time.Millisecond)
			g.emit(t, h, progSSHD, sevInfo, pid, msgFailed(u, ip, port, true))
			t += g.jitter(50*time.Millisecond, 300*time.Millisecond)
			g.emit(t, h, progSSHD, sevInfo, pid, msgByeBye(ip, port))
			g.emit(t, h, progSSHD, sevInfo, pid, msgDisconnected("invalid user "+u, ip, port, true))
			attempts++
		}
		clock[w] = t + g.jitter(300*time.Millisecond, 1500*time.Millisecond)
	}
	return truth.Attacker{
		Kind: truth.KindSSHBruteForceFast, SourceIP: ip, Host: g.fleet.hosts[h].name,
		Attempts: attempts, Users: len(used),
		Also: []truth.Kind{truth.KindSSHBruteForceSlow},
	}
}

// planSlow is a patient attacker: one attempt per connection, for root or
// "admin", spread evenly over SlowSpan with ±20% jitter and never two
// within 90 seconds.
func (g *Generator) planSlow(start time.Duration) truth.Attacker {
	h := g.exposedHost()
	ip := g.ips.next()
	n := g.opts.SlowAttempts
	step := g.opts.SlowSpan / time.Duration(n-1)
	used := map[string]bool{}
	t := start
	for i := range n {
		pid := g.pid(h, t, true)
		port := g.port()
		if g.chance(0.7) {
			used["root"] = true
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, "root"))
			ft := t + g.jitter(1500*time.Millisecond, 3*time.Second)
			g.emit(ft, h, progSSHD, sevInfo, pid, msgFailed("root", ip, port, false))
			g.emit(ft+g.jitter(100*time.Millisecond, time.Second), h, progSSHD, sevInfo, pid,
				msgClosedBy("authenticating user root", ip, port))
		} else {
			used["admin"] = true
			g.emit(t, h, progSSHD, sevInfo, pid, msgInvalidUser("admin", ip, port))
			g.emit(t, h, progSSHD, sevNotice, pid, msgCheckPass)
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, ""))
			ft := t + g.jitter(1500*time.Millisecond, 3*time.Second)
			g.emit(ft, h, progSSHD, sevInfo, pid, msgFailed("admin", ip, port, true))
			g.emit(ft, h, progSSHD, sevInfo, pid, msgByeBye(ip, port))
			g.emit(ft, h, progSSHD, sevInfo, pid, msgDisconnected("invalid user admin", ip, port, true))
		}
		if i < n-1 {
			gap := time.Duration(float64(step) * (0.8 + 0.4*g.rnd.Float64()))
			t += max(gap, 90*time.Second)
		}
	}
	return truth.Attacker{
		Kind: truth.KindSSHBruteForceSlow, SourceIP: ip, Host: g.fleet.hosts[h].name,
		Attempts: n, Users: len(used),
	}
}

// planSpray tries SprayUsers distinct names once each, 10 to 20 seconds
// apart: real accounts (failing on the password) and names that exist
// nowhere. At that pace no minute holds more than six attempts.
func (g *Generator) planSpray(start time.Duration) truth.Attacker {
	h := g.exposedHost()
	ip := g.ips.next()
	n := g.opts.SprayUsers
	type cand struct {
		name  string
		valid bool
	}
	var pool []cand
	for _, a := range g.fleet.humans {
		pool = append(pool, cand{a.name, true})
	}
	for _, u := range invalidUsers {
		pool = append(pool, cand{u, false})
	}
	g.rnd.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	t := start
	if g.chance(0.5) {
		g.emit(t, h, progSSHD, sevInfo, g.pid(h, t, true), msgReverse(ip))
	}
	for _, c := range pool[:n] {
		pid := g.pid(h, t, true)
		port := g.port()
		if c.valid {
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, c.name))
			ft := t + g.jitter(1500*time.Millisecond, 3*time.Second)
			g.emit(ft, h, progSSHD, sevInfo, pid, msgFailed(c.name, ip, port, false))
			g.emit(ft+g.jitter(50*time.Millisecond, 500*time.Millisecond), h, progSSHD, sevInfo, pid,
				msgClosedBy("authenticating user "+c.name, ip, port))
		} else {
			g.emit(t, h, progSSHD, sevInfo, pid, msgInvalidUser(c.name, ip, port))
			g.emit(t, h, progSSHD, sevNotice, pid, msgCheckPass)
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, ""))
			ft := t + g.jitter(1500*time.Millisecond, 3*time.Second)
			g.emit(ft, h, progSSHD, sevInfo, pid, msgFailed(c.name, ip, port, true))
			g.emit(ft, h, progSSHD, sevInfo, pid, msgByeBye(ip, port))
			g.emit(ft, h, progSSHD, sevInfo, pid, msgDisconnected("invalid user "+c.name, ip, port, true))
		}
		t += g.jitter(10*time.Second, 20*time.Second)
	}
	return truth.Attacker{
		Kind: truth.KindPasswordSpraying, SourceIP: ip, Host: g.fleet.hosts[h].name,
		Attempts: n, Users: n,
		Also: []truth.Kind{truth.KindSSHBruteForceSlow},
	}
}

// planSuccess guesses one real account's password 12 to 20 times, three
// tries per connection, every two to four seconds, and then gets in: an
// accepted password 3 to 10 seconds after the last failure, a session,
// and its end minutes later.
func (g *Generator) planSuccess(start time.Duration) truth.Attacker {
	h := g.exposedHost()
	ip := g.ips.next()
	acct := &g.fleet.humans[g.rnd.IntN(len(g.fleet.humans))]
	u := acct.name
	target := 12 + g.rnd.IntN(9)
	t := start
	attempts := 0
	for attempts < target {
		pid := g.pid(h, t, true)
		port := g.port()
		k := min(3, target-attempts)
		g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, u))
		t += g.jitter(1500*time.Millisecond, 2500*time.Millisecond)
		failed := msgFailed(u, ip, port, false)
		g.emit(t, h, progSSHD, sevInfo, pid, failed)
		if k > 1 {
			t += time.Duration(k-1) * g.jitter(2*time.Second, 4*time.Second)
			g.emit(t, h, progSSHD, sevInfo, pid, msgRepeated(k-1, failed))
		}
		g.emit(t, h, progSSHD, sevInfo, pid, msgClosedBy("authenticating user "+u, ip, port))
		if k > 1 {
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMMore(k-1, ip, u))
		}
		attempts += k
		t += g.jitter(500*time.Millisecond, 2*time.Second)
	}
	t += g.jitter(3*time.Second, 10*time.Second)
	pid := g.pid(h, t, true)
	port := g.port()
	g.emit(t, h, progSSHD, sevInfo, pid, msgAccepted("password", u, ip, port, ""))
	g.emit(t, h, progSSHD, sevInfo, pid, msgSessionOpened("sshd", u, acct.uid, "", 0))
	hs := &g.fleet.hosts[h]
	hs.session++
	sess := itoa(hs.session)
	g.emit(t, h, progLogind, sevInfo, hs.logind, "New session "+sess+" of user "+u+".")
	t += g.jitter(3*time.Minute, 15*time.Minute)
	g.emit(t, h, progSSHD, sevInfo, pid, "Received disconnect from "+ip+" port "+itoa(port)+":11: disconnected by user")
	g.emit(t, h, progSSHD, sevInfo, pid, msgDisconnected("user "+u, ip, port, false))
	g.emit(t, h, progSSHD, sevInfo, pid, msgSessionClosed("sshd", u))
	g.emit(t, h, progLogind, sevInfo, hs.logind, "Session "+sess+" logged out. Waiting for processes to exit.")
	g.emit(t+g.jitter(10*time.Millisecond, 200*time.Millisecond), h, progLogind, sevInfo, hs.logind,
		"Removed session "+sess+".")
	return truth.Attacker{
		Kind: truth.KindSSHBruteForceSuccess, SourceIP: ip, User: u, Host: hs.name,
		Attempts: attempts, Users: 1,
		Also: []truth.Kind{truth.KindSSHBruteForceFast, truth.KindSSHBruteForceSlow},
	}
}

var sudoTargets = [...]string{"/bin/bash", "/usr/bin/su -", "/usr/bin/cat /etc/shadow", "/usr/bin/passwd root"}

// planSudo is a user on one host failing sudo SudoEpisodes times in a
// few minutes, three wrong passwords each: pam_unix logs the first
// failure, sudo logs the give-up with the count.
func (g *Generator) planSudo(start time.Duration, taken map[[2]int]bool) truth.Attacker {
	var ui, h int
	for {
		ui, h = g.rnd.IntN(len(g.fleet.humans)), g.anyHost()
		if !taken[[2]int{ui, h}] {
			taken[[2]int{ui, h}] = true
			break
		}
	}
	a := &g.fleet.humans[ui]
	tty := g.tty()
	cmd := sudoTargets[g.rnd.IntN(len(sudoTargets))]
	t := start
	for i := range g.opts.SudoEpisodes {
		g.emit(t, h, progSudo, sevNotice, 0, msgSudoAuthFail(a.name, a.uid, tty))
		t += g.jitter(6*time.Second, 15*time.Second)
		g.emit(t, h, progSudo, sevAlert, 0, msgSudoIncorrect(a.name, 3, tty, cmd))
		if i < g.opts.SudoEpisodes-1 {
			t += g.jitter(40*time.Second, 120*time.Second)
		}
	}
	return truth.Attacker{
		Kind: truth.KindSudoFailures, User: a.name, Host: g.fleet.hosts[h].name,
		Attempts: 3 * g.opts.SudoEpisodes, Users: 1,
	}
}
