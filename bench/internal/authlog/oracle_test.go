package authlog_test

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// oracle re-reads a generated log in FormatFile with regular expressions,
// independently of the generator, and counts failed authentication
// attempts the way tocsin's rules are specified to: an "Invalid user" line
// and the "Failed ... invalid user" line of the same sshd process are one
// attempt, "message repeated N times" of a failure is N.
type oracle struct {
	lines int
	// attempts per source address, in time order.
	ssh map[string][]attempt
	// accepted logins per source address.
	accepted map[string][]time.Time
	// sudo failures per "user@host": count-weighted, time ordered.
	sudo map[string][]attempt
	// kinds counts lines by a short shape name, to check the mix.
	kinds map[string]int
}

type attempt struct {
	at    time.Time
	n     int
	user  string
	host  string
	valid bool
}

var (
	reHeader   = regexp.MustCompile(`^([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) (\S+) ([\w-]+)(?:\[(\d+)\])?: (.*)$`)
	reInvalid  = regexp.MustCompile(`^Invalid user (\S*) from (\S+) port \d+$`)
	reFailed   = regexp.MustCompile(`^Failed (\S+) for (invalid user )?(\S*) from (\S+) port \d+ ssh2$`)
	reRepeated = regexp.MustCompile(`^message repeated (\d+) times: \[ (.*)\]$`)
	reAccepted = regexp.MustCompile(`^Accepted (\S+) for (\S+) from (\S+) port \d+ ssh2`)
	reSudoPAM  = regexp.MustCompile(`^pam_unix\(sudo:auth\): authentication failure; logname=(\S+) `)
	reSudoBad  = regexp.MustCompile(`^\s*(\S+) : (\d+) incorrect password attempts ; TTY=`)
)

func readOracle(t *testing.T, log []byte, year int) *oracle {
	t.Helper()
	o := &oracle{
		ssh:      map[string][]attempt{},
		accepted: map[string][]time.Time{},
		sudo:     map[string][]attempt{},
		kinds:    map[string]int{},
	}
	invalidSeen := map[string]bool{} // host/pid that logged "Invalid user"
	var prev time.Time
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		o.lines++
		m := reHeader.FindStringSubmatch(sc.Text())
		require.NotNil(t, m, "line %d has no RFC 3164 header: %q", o.lines, sc.Text())
		ts, err := time.Parse(time.Stamp, m[1])
		require.NoError(t, err)
		ts = ts.AddDate(year, 0, 0)
		require.False(t, ts.Before(prev), "line %d goes back in time: %q", o.lines, sc.Text())
		prev = ts
		host, prog, pid, msg := m[2], m[3], m[4], m[5]
		key := host + "/" + pid
		o.kinds[prog]++
		if prog == "sshd" {
			failure := msg
			n := 1
			if r := reRepeated.FindStringSubmatch(msg); r != nil {
				o.kinds["repeated"]++
				n, _ = strconv.Atoi(r[1])
				failure = r[2]
			}
			if r := reInvalid.FindStringSubmatch(failure); r != nil {
				o.kinds["invalid"]++
				invalidSeen[key] = true
				o.ssh[r[2]] = append(o.ssh[r[2]], attempt{at: ts, n: n, user: r[1], host: host})
			} else if r := reFailed.FindStringSubmatch(failure); r != nil {
				o.kinds["failed"]++
				if r[2] != "" && invalidSeen[key] {
					n = 0
					o.kinds["pair"]++
				}
				o.ssh[r[4]] = append(o.ssh[r[4]], attempt{at: ts, n: n, user: r[3], host: host, valid: r[2] == ""})
			} else if r := reAccepted.FindStringSubmatch(msg); r != nil {
				o.kinds["accepted-"+r[1]]++
				o.accepted[r[3]] = append(o.accepted[r[3]], ts)
			}
		}
		if prog == "sudo" {
			if r := reSudoPAM.FindStringSubmatch(msg); r != nil {
				o.kinds["sudo-pam-fail"]++
				o.sudo[r[1]+"@"+host] = append(o.sudo[r[1]+"@"+host], attempt{at: ts, n: 1})
			} else if r := reSudoBad.FindStringSubmatch(msg); r != nil {
				o.kinds["sudo-incorrect"]++
				n, _ := strconv.Atoi(r[2])
				o.sudo[r[1]+"@"+host] = append(o.sudo[r[1]+"@"+host], attempt{at: ts, n: n})
			}
		}
	}
	require.NoError(t, sc.Err())
	return o
}

// maxIn returns the largest count-weighted sum of attempts within any
// window of length w (both ends inclusive).
func maxIn(as []attempt, w time.Duration) int {
	best, sum, lo := 0, 0, 0
	for hi := range as {
		sum += as[hi].n
		for as[hi].at.Sub(as[lo].at) > w {
			sum -= as[lo].n
			lo++
		}
		best = max(best, sum)
	}
	return best
}

// maxDistinctIn returns the most distinct user names within any window.
func maxDistinctIn(as []attempt, w time.Duration) int {
	best := 0
	for lo := range as {
		seen := map[string]bool{}
		for hi := lo; hi < len(as) && as[hi].at.Sub(as[lo].at) <= w; hi++ {
			seen[as[hi].user] = true
		}
		best = max(best, len(seen))
	}
	return best
}

func total(as []attempt) int {
	n := 0
	for _, a := range as {
		n += a.n
	}
	return n
}
