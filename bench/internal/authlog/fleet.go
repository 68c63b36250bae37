package authlog

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
)

// hostRoles name the fleet's hosts in order; exposed hosts accept SSH
// from the internet and so get scanners and attackers.
var hostRoles = [...]struct {
	name    string
	exposed bool
}{
	{"bastion", true}, {"web", true}, {"db", false}, {"api", true},
	{"git", true}, {"ci", false}, {"mail", true}, {"cache", false},
	{"vpn", true}, {"mon", false}, {"backup", false}, {"log", false},
}

var humanNames = [...]string{
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "karl", "laura", "mike", "nina", "oscar", "paula",
	"quentin", "rita", "sam", "tina", "umar", "vera", "walt", "xena",
	"yuri", "zoe", "amir", "bea", "chen", "dmitri", "elif", "femi",
	"gosia", "hana", "igor", "jana", "kenji", "lena", "marco", "nadia",
	"olga", "priya", "raj", "sofia", "tomas", "uma", "vik", "wen",
}

// invalidUsers are names that scanners try and that exist on no host.
var invalidUsers = [...]string{
	"admin", "test", "user", "oracle", "ubuntu", "pi", "ftpuser", "guest",
	"support", "hadoop", "nagios", "minecraft", "steam", "debian", "centos",
	"ec2-user", "azureuser", "test1", "tester", "dev", "administrator",
	"mysql", "tomcat", "odoo", "ts3", "vagrant", "docker", "elastic",
	"solr", "redis", "sftp", "ftp", "webmaster", "demo", "usuario",
	"operator", "sysadmin", "temp", "kafka", "zabbix", "student", "ubnt",
}

var sudoCommands = [...]string{
	"/usr/bin/systemctl restart nginx", "/usr/bin/apt update",
	"/usr/bin/apt upgrade -y", "/usr/bin/journalctl -u ssh --since today",
	"/usr/bin/tail -n 200 /var/log/syslog", "/usr/bin/vim /etc/hosts",
	"/usr/bin/docker ps", "/usr/bin/less /var/log/auth.log",
	"/usr/bin/systemctl status postgresql", "/usr/bin/du -sh /var/lib/docker",
	"/usr/bin/crontab -e -u www-data", "/usr/sbin/ufw status",
}

var ansibleModules = [...]string{"setup", "apt", "copy", "command", "systemd", "file", "stat"}

type host struct {
	name    string
	exposed bool
	// pidK counts benign processes; benign pids are even, planted ones odd
	// (see Generator.pid), so the two never collide.
	pidK      int64
	attackK   int64
	logind    int32
	polkit    int32
	listener  int32
	session   int
	dbusConns int
}

type account struct {
	name string
	uid  int
	ips  []string
	fp   string
	// lastFail is when this account last made a benign mistake, so that
	// no benign account ever comes near a threshold (see allowTypo).
	lastSSHFail  int64
	lastSudoFail int64
}

type fleet struct {
	hosts   []host
	exposed []int
	humans  []account
	ansible account
	deploy  account
	backup  account
	// ipFail holds the last benign failure per internal client address.
	ipFail map[string]int64
}

const never = -1 << 62

func newFleet(o *Options, r *rand.Rand) *fleet {
	f := &fleet{ipFail: map[string]int64{}}
	for i := 0; i < o.Hosts; i++ {
		role := hostRoles[i%len(hostRoles)]
		n := i/len(hostRoles) + 1
		h := host{
			name:     role.name + pad2(n),
			exposed:  role.exposed,
			pidK:     int64(r.IntN(4000)),
			logind:   int32(400 + r.IntN(500)),
			polkit:   int32(600 + r.IntN(500)),
			listener: int32(800 + r.IntN(300)),
			session:  1 + r.IntN(300),
		}
		h.attackK = h.pidK
		f.hosts = append(f.hosts, h)
		if h.exposed {
			f.exposed = append(f.exposed, i)
		}
	}
	if len(f.exposed) == 0 {
		f.exposed = []int{0}
	}
	for i := 0; i < o.Users; i++ {
		name := humanNames[i%len(humanNames)]
		if i >= len(humanNames) {
			name += strconv.Itoa(i / len(humanNames))
		}
		a := account{name: name, uid: 1001 + i, fp: fingerprint(r),
			lastSSHFail: never, lastSudoFail: never}
		a.ips = append(a.ips, "10.20."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250+2))
		if r.IntN(2) == 0 {
			a.ips = append(a.ips, "10.8."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250+10))
		}
		f.humans = append(f.humans, a)
	}
	f.ansible = account{name: "ansible", uid: 1500, ips: []string{"10.0.0.5"}, fp: fingerprint(r)}
	f.deploy = account{name: "deploy", uid: 1501, ips: []string{"10.0.0.6"}, fp: fingerprint(r)}
	f.backup = account{name: "backup", uid: 34, ips: []string{"10.0.0.7"}, fp: fingerprint(r)}
	return f
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func fingerprint(r *rand.Rand) string {
	var b [43]byte
	for i := range b {
		b[i] = b64[r.IntN(len(b64))]
	}
	return string(b[:])
}

// ipPool hands out distinct public IPv4 addresses in a scrambled order:
// every address comes from a bijection of a counter, so no two callers
// ever share one. Attackers and scanners draw from the same pool, so they
// look alike but never collide.
type ipPool struct {
	n    uint32
	salt uint32
	v6   uint64
}

func (p *ipPool) next() string {
	for {
		x := p.n ^ p.salt
		p.n++
		x *= 0x9E3779B1
		x ^= x >> 15
		x *= 0x2C1B3C6D
		x ^= x >> 12
		x += p.salt
		if public(x) {
			return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)}).String()
		}
	}
}

// next6 returns a distinct address in the documentation prefix
// 2001:db8::/32.
func (p *ipPool) next6() string {
	p.v6++
	v := p.v6*0x9E3779B97F4A7C15 ^ uint64(p.salt)
	var a [16]byte
	a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
	for i := 0; i < 8; i++ {
		a[8+i] = byte(v >> (8 * i))
	}
	a[4], a[5] = byte(p.v6>>8), byte(p.v6)
	return netip.AddrFrom16(a).String()
}

func public(x uint32) bool {
	a, b, c := x>>24, (x>>16)&0xff, (x>>8)&0xff
	switch {
	case a == 0, a == 10, a == 127, a >= 224:
		return false
	case a == 100 && b >= 64 && b < 128:
		return false
	case a == 169 && b == 254, a == 172 && b >= 16 && b < 32, a == 192 && b == 168:
		return false
	case a == 192 && b == 0 && (c == 0 || c == 2), a == 198 && (b == 18 || b == 19):
		return false
	case a == 198 && b == 51 && c == 100, a == 203 && b == 0 && c == 113:
		return false
	}
	return true
}

// rdns is a made-up reverse name for an address, as sshd and PAM print
// when DNS answers.
func rdns(ip string) string {
	b := []byte("host-")
	for i := 0; i < len(ip); i++ {
		if ip[i] == '.' || ip[i] == ':' {
			b = append(b, '-')
		} else {
			b = append(b, ip[i])
		}
	}
	return string(append(b, ".dyn.example.net"...))
}
