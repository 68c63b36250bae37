package authlog

import (
	"math"
	"time"
)

// episode is one kind of benign activity; an episode writes a few related
// lines spread over seconds to hours.
type episode uint8

const (
	// epScan is an internet scanner trying one or two passwords.
	epScan episode = iota
	// epProbe is an external connection that never authenticates.
	epProbe
	// epLogin is an accepted SSH login with its session.
	epLogin
	epCron
	epSudo
	epSu
	epNoise
	numEpisodes
)

// episodeShare is each episode kind's share of benign lines. Scanner noise
// dominates, as on any host with port 22 open to the internet.
var episodeShare = [numEpisodes]float64{
	epScan:  0.38,
	epProbe: 0.07,
	epLogin: 0.22,
	epCron:  0.16,
	epSudo:  0.11,
	epSu:    0.02,
	epNoise: 0.04,
}

// typoGap is the least time between two benign failures of one account
// or one internal address. It keeps every benign source far below any
// detection threshold: at most one failure per two hours.
const typoGap = 2 * time.Hour

func (g *Generator) startEpisode(e episode, at time.Duration) {
	switch e {
	case epScan:
		g.scan(at)
	case epProbe:
		g.probe(at)
	case epLogin:
		g.login(at)
	case epCron:
		g.cron(at)
	case epSudo:
		g.sudo(at)
	case epSu:
		g.su(at)
	case epNoise:
		g.noise(at)
	}
}

func (g *Generator) chance(p float64) bool { return g.rnd.Float64() < p }

func (g *Generator) port() int { return 32768 + g.rnd.IntN(28232) }

func (g *Generator) tty() string { return "pts/" + itoa(g.rnd.IntN(6)) }

func (g *Generator) exposedHost() int {
	return g.fleet.exposed[g.rnd.IntN(len(g.fleet.exposed))]
}

func (g *Generator) anyHost() int { return g.rnd.IntN(len(g.fleet.hosts)) }

func (g *Generator) externalIP() string {
	if g.opts.IPv6Share > 0 && g.chance(g.opts.IPv6Share) {
		return g.ips.next6()
	}
	return g.ips.next()
}

func (g *Generator) invalidUser() string { return invalidUsers[g.rnd.IntN(len(invalidUsers))] }

// allowTypo reports whether the account and the address may make a benign
// mistake at offset at, and records it when they may.
func (g *Generator) allowTypo(last *int64, ip string, at time.Duration) bool {
	t := int64(at)
	if t-*last < int64(typoGap) {
		return false
	}
	if ip != "" {
		if l, ok := g.fleet.ipFail[ip]; ok && t-l < int64(typoGap) {
			return false
		}
		g.fleet.ipFail[ip] = t
	}
	*last = t
	return true
}

// scan is a scanner with one or two password attempts, each on its own
// connection, for root or a name that exists nowhere.
func (g *Generator) scan(at time.Duration) {
	h := g.exposedHost()
	ip := g.externalIP()
	rhost := ip
	if g.chance(0.15) {
		rhost = rdns(ip)
	}
	n := 1
	if g.chance(0.3) {
		n = 2
	}
	g.truth.Benign.Scanners++
	t := at
	for i := range n {
		pid := g.pid(h, t, false)
		if i == 0 && g.chance(0.1) {
			g.emit(t, h, progSSHD, sevInfo, pid, msgReverse(ip))
		}
		port := g.port()
		if g.chance(0.4) {
			g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(rhost, "root"))
			t += g.jitter(1500*time.Millisecond, 3*time.Second)
			g.emit(t, h, progSSHD, sevInfo, pid, msgFailed("root", ip, port, false))
			t += g.jitter(100*time.Millisecond, 2*time.Second)
			if g.chance(0.5) {
				g.emit(t, h, progSSHD, sevInfo, pid, msgClosedBy("authenticating user root", ip, port))
			} else {
				g.emit(t, h, progSSHD, sevInfo, pid, msgByeBye(ip, port))
				g.emit(t, h, progSSHD, sevInfo, pid, msgDisconnected("authenticating user root", ip, port, true))
			}
		} else {
			u := g.invalidUser()
			g.emit(t, h, progSSHD, sevInfo, pid, msgInvalidUser(u, ip, port))
			t += g.jitter(time.Millisecond, 200*time.Millisecond)
			if g.chance(0.1) {
				// Gave up before sending a password.
				g.emit(t, h, progSSHD, sevInfo, pid, msgClosedBy("invalid user "+u, ip, port))
			} else {
				g.emit(t, h, progSSHD, sevNotice, pid, msgCheckPass)
				g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(rhost, ""))
				t += g.jitter(1500*time.Millisecond, 3*time.Second)
				g.emit(t, h, progSSHD, sevInfo, pid, msgFailed(u, ip, port, true))
				t += g.jitter(100*time.Millisecond, 2*time.Second)
				g.emit(t, h, progSSHD, sevInfo, pid, msgByeBye(ip, port))
				g.emit(t, h, progSSHD, sevInfo, pid, msgDisconnected("invalid user "+u, ip, port, true))
			}
		}
		t += g.jitter(time.Second, 30*time.Second)
	}
}

// probe is a connection that ends before authentication: banner grabbers,
// port scanners, clients with no common key exchange.
func (g *Generator) probe(at time.Duration) {
	h := g.exposedHost()
	ip := g.externalIP()
	pid := g.pid(h, at, false)
	port := g.port()
	g.truth.Benign.Probes++
	switch g.rnd.IntN(6) {
	case 0:
		g.emit(at, h, progSSHD, sevInfo, pid, msgClosedBy("", ip, port))
	case 1:
		g.emit(at, h, progSSHD, sevInfo, pid, "Did not receive identification string from "+ip+" port "+itoa(port))
	case 2:
		g.emit(at, h, progSSHD, sevErr, pid, "error: kex_exchange_identification: Connection closed by remote host")
		g.emit(at, h, progSSHD, sevInfo, pid, "Connection closed by "+ip+" port "+itoa(port))
	case 3:
		g.emit(at, h, progSSHD, sevErr, pid, "error: kex_exchange_identification: read: Connection reset by peer")
		g.emit(at, h, progSSHD, sevInfo, pid, "Connection reset by "+ip+" port "+itoa(port))
	case 4:
		g.emit(at, h, progSSHD, sevInfo, pid, "Unable to negotiate with "+ip+" port "+itoa(port)+
			": no matching key exchange method found. Their offer: diffie-hellman-group14-sha1,"+
			"diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1 [preauth]")
	default:
		g.emit(at, h, progSSHD, sevInfo, pid, "banner exchange: Connection from "+ip+" port "+itoa(port)+
			": invalid format")
	}
}

// login is an accepted SSH login, by an automation account with a key or
// by a person with a key or a password (sometimes after one typo), and
// the session's end.
func (g *Generator) login(at time.Duration) {
	f := g.fleet
	var acct *account
	var h int
	human := false
	switch x := g.rnd.IntN(100); {
	case x < 20:
		acct, h = &f.ansible, g.anyHost()
	case x < 30:
		acct, h = &f.deploy, g.exposedHost()
	case x < 35:
		acct, h = &f.backup, g.anyHost()
	default:
		acct, h, human = &f.humans[g.rnd.IntN(len(f.humans))], g.anyHost(), true
	}
	ip := acct.ips[g.rnd.IntN(len(acct.ips))]
	method := "publickey"
	if human && g.chance(0.3) {
		method = "password"
	}
	pid := g.pid(h, at, false)
	port := g.port()
	t := at
	if method == "password" && g.chance(0.1) && g.allowTypo(&acct.lastSSHFail, ip, at) {
		g.truth.Benign.Typos++
		g.emit(t, h, progSSHD, sevNotice, pid, msgPAMAuthFail(ip, acct.name))
		t += g.jitter(1500*time.Millisecond, 3*time.Second)
		g.emit(t, h, progSSHD, sevInfo, pid, msgFailed(acct.name, ip, port, false))
		t += g.jitter(2*time.Second, 9*time.Second)
	}
	g.truth.Benign.Logins++
	g.emit(t, h, progSSHD, sevInfo, pid, msgAccepted(method, acct.name, ip, port, acct.fp))
	t += g.jitter(time.Millisecond, 20*time.Millisecond)
	g.emit(t, h, progSSHD, sevInfo, pid, msgSessionOpened("sshd", acct.name, acct.uid, "", 0))
	hs := &f.hosts[h]
	hs.session++
	sess := itoa(hs.session)
	g.emit(t, h, progLogind, sevInfo, hs.logind, "New session "+sess+" of user "+acct.name+".")
	if human && g.chance(0.3) {
		g.emit(t, h, progSystemd, sevInfo, g.pid(h, t, false),
			msgSessionOpened("systemd-user", acct.name, acct.uid, "", 0))
	}
	var stay time.Duration
	if human {
		// Log-uniform between one minute and three hours.
		stay = time.Duration(float64(time.Minute) * pow180(g.rnd.Float64()))
	} else {
		stay = g.jitter(2*time.Second, 60*time.Second)
	}
	t += stay
	g.emit(t, h, progSSHD, sevInfo, pid, "Received disconnect from "+ip+" port "+itoa(port)+":11: disconnected by user")
	g.emit(t, h, progSSHD, sevInfo, pid, msgDisconnected("user "+acct.name, ip, port, false))
	g.emit(t, h, progSSHD, sevInfo, pid, msgSessionClosed("sshd", acct.name))
	g.emit(t, h, progLogind, sevInfo, hs.logind, "Session "+sess+" logged out. Waiting for processes to exit.")
	g.emit(t+g.jitter(10*time.Millisecond, 200*time.Millisecond), h, progLogind, sevInfo, hs.logind,
		"Removed session "+sess+".")
}

// pow180 maps [0,1) onto [1,180) log-uniformly.
func pow180(x float64) float64 { return math.Exp(x * math.Log(180)) }

// cron is a cron job's PAM session, started at a minute boundary.
func (g *Generator) cron(at time.Duration) {
	h := g.anyHost()
	t := at.Truncate(time.Minute) + time.Minute + g.jitter(0, 900*time.Millisecond)
	pid := g.pid(h, t, false)
	user, uid := "root", 0
	switch g.rnd.IntN(10) {
	case 0:
		user, uid = "www-data", 33
	case 1:
		user, uid = "postgres", 113
	}
	g.emit(t, h, progCron, sevInfo, pid, msgSessionOpened("cron", user, uid, "", 0))
	run := g.jitter(50*time.Millisecond, 3*time.Second)
	if g.chance(0.05) {
		run = g.jitter(time.Minute, 20*time.Minute)
	}
	g.emit(t+run, h, progCron, sevInfo, pid, msgSessionClosed("cron", user))
}

// sudo is a person's command (sometimes after one mistyped password) or
// an Ansible task becoming root.
func (g *Generator) sudo(at time.Duration) {
	f := g.fleet
	h := g.anyHost()
	t := at
	if g.chance(0.15) {
		a := &f.ansible
		cmd := "/bin/sh -c echo BECOME-SUCCESS-" + g.token(32) +
			" ; /usr/bin/python3 /home/ansible/.ansible/tmp/ansible-tmp-" + itoa(int(at.Seconds())) +
			"/AnsiballZ_" + ansibleModules[g.rnd.IntN(len(ansibleModules))] + ".py"
		g.emit(t, h, progSudo, sevNotice, 0, msgSudoCommand(a.name, "", cmd))
		g.emit(t, h, progSudo, sevInfo, 0, msgSessionOpened("sudo", "root", 0, a.name, a.uid))
		g.emit(t+g.jitter(200*time.Millisecond, 10*time.Second), h, progSudo, sevInfo, 0, msgSessionClosed("sudo", "root"))
		return
	}
	a := &f.humans[g.rnd.IntN(len(f.humans))]
	tty := g.tty()
	if g.chance(0.05) && g.allowTypo(&a.lastSudoFail, "", at) {
		g.truth.Benign.Typos++
		g.emit(t, h, progSudo, sevNotice, 0, msgSudoAuthFail(a.name, a.uid, tty))
		t += g.jitter(3*time.Second, 8*time.Second)
	}
	g.emit(t, h, progSudo, sevNotice, 0, msgSudoCommand(a.name, tty, sudoCommands[g.rnd.IntN(len(sudoCommands))]))
	g.emit(t, h, progSudo, sevInfo, 0, msgSessionOpened("sudo", "root", 0, a.name, a.uid))
	g.emit(t+g.jitter(100*time.Millisecond, 5*time.Minute), h, progSudo, sevInfo, 0, msgSessionClosed("sudo", "root"))
}

func (g *Generator) token(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.rnd.IntN(len(letters))]
	}
	return string(b)
}

// su is a person switching to a service account.
func (g *Generator) su(at time.Duration) {
	f := g.fleet
	h := g.anyHost()
	a := &f.humans[g.rnd.IntN(len(f.humans))]
	to, uid := "postgres", 113
	switch g.rnd.IntN(3) {
	case 0:
		to, uid = "www-data", 33
	case 1:
		to, uid = "root", 0
	}
	pid := g.pid(h, at, false)
	tty := g.tty()
	g.emit(at, h, progSu, sevNotice, pid, "(to "+to+") "+a.name+" on "+tty)
	g.emit(at, h, progSu, sevInfo, pid, msgSessionOpened("su-l", to, uid, a.name, a.uid))
	g.emit(at+g.jitter(10*time.Second, 30*time.Minute), h, progSu, sevInfo, pid, msgSessionClosed("su-l", to))
}

// noise is background from polkit, pkexec and sshd reloads.
func (g *Generator) noise(at time.Duration) {
	f := g.fleet
	h := g.anyHost()
	hs := &f.hosts[h]
	switch g.rnd.IntN(4) {
	case 0, 1:
		proc := itoa(int(g.pid(h, at, false))) + ":" + itoa(10_000_000+g.rnd.IntN(90_000_000))
		hs.dbusConns++
		bus := ":1." + itoa(100+hs.dbusConns)
		g.emit(at, h, progPolkit, sevNotice, hs.polkit, "Registered Authentication Agent for unix-process:"+proc+
			" (system bus name "+bus+" [/usr/bin/pkttyagent --notify-fd 5 --fallback], object path "+
			"/org/freedesktop/PolicyKit1/AuthenticationAgent, locale en_US.UTF-8)")
		g.emit(at+g.jitter(time.Second, 6*time.Second), h, progPolkit, sevNotice, hs.polkit,
			"Unregistered Authentication Agent for unix-process:"+proc+" (system bus name "+bus+
				", object path /org/freedesktop/PolicyKit1/AuthenticationAgent, locale en_US.UTF-8) (disconnected from bus)")
	case 2:
		a := &f.humans[g.rnd.IntN(len(f.humans))]
		pid := g.pid(h, at, false)
		g.emit(at, h, progPkexec, sevNotice, pid, msgSessionOpened("polkit-1", "root", 0, a.name, a.uid))
		g.emit(at, h, progPkexec, sevNotice, pid, a.name+": Executing command [USER=root] [TTY=unknown] [CWD=/home/"+
			a.name+"] [COMMAND=/usr/lib/update-notifier/package-system-locked]")
	default:
		g.emit(at, h, progSSHD, sevInfo, hs.listener, "Received SIGHUP; restarting.")
		g.emit(at+g.jitter(10*time.Millisecond, 100*time.Millisecond), h, progSSHD, sevInfo, hs.listener,
			"Server listening on 0.0.0.0 port 22.")
		g.emit(at+g.jitter(100*time.Millisecond, 200*time.Millisecond), h, progSSHD, sevInfo, hs.listener,
			"Server listening on :: port 22.")
	}
}
