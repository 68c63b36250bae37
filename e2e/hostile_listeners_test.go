package e2e

// The tests in this file attack the listeners of `tocsin run` with hostile
// input: TestHostileInputEveryListener attacks all of them at once (syslog
// over UDP, TCP and TLS, RELP, HTTP ingest and a tailed file), and the
// TestHostileHTTP tests abuse the HTTP ingest listener's request slots and
// body buffers. Every attack is bounded by a fixed count or a deadline.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Sizes of the attacks.
const (
	// hostileBig is the size of the oversized line, frame, record and body
	// sent to each listener: ten times every default limit (1 MiB).
	hostileBig = 10 << 20
	// hostileDepth is the nesting of the deep JSON records.
	hostileDepth = 100_000
	// hostileSlowGap is the pause between the bytes of a slow sender.
	hostileSlowGap = 100 * time.Millisecond
	// hostileUDPMax is the UDP listener's message size for this test.
	hostileUDPMax = 1024
	// hostileUDPRate and hostileUDPFlood: the UDP listener takes 100
	// lines a second (burst 100) and is flooded with 1,000 datagrams.
	hostileUDPRate  = 100
	hostileUDPFlood = 1000
	// hostileRSSLimit bounds tocsin's peak resident memory (VmHWM).
	hostileRSSLimit = 600 << 20
	// hostileFailureRaw is what a stored failure keeps of its line.
	hostileFailureRaw = 8 << 10
)

// hostileSource is what one listener must show after the attack: the
// address its good lines carry, the users of those lines, its failures
// by reason and its blank lines.
type hostileSource struct {
	name     string // the source label: udp, tcp, tls, relp, http, tail
	ip       string // source.ip of its good lines
	lines    map[string]string
	failures map[string]int
	blank    int
	pid      int
}

func newHostileSource(name, ip string) *hostileSource {
	return &hostileSource{name: name, ip: ip, lines: map[string]string{}, failures: map[string]int{}}
}

// good returns an sshd line of this source for user, which the test rule
// turns into an alert, and records it as expected.
func (h *hostileSource) good(user string) string {
	line, msg := h.line(user)
	h.lines[user] = msg
	return line
}

// line returns an sshd line of this source for user and its message,
// without expecting it. The pid tells the lines of one source apart.
func (h *hostileSource) line(user string) (line, msg string) {
	h.pid++
	msg = fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", user, h.ip, 40000+h.pid)
	return fmt.Sprintf("<38>%s hostile-%s sshd[%d]: %s", time.Now().UTC().Format(time.Stamp), h.name, 5000+h.pid, msg), msg
}

// events returns the good lines expected, as events.
func (h *hostileSource) events() int { return len(h.lines) }

// total returns the lines expected in tocsin_ingest_lines_total.
func (h *hostileSource) total() int {
	n := h.events() + h.blank
	for _, c := range h.failures {
		n += c
	}
	return n
}

// hostileJunk is a line that is neither syslog nor JSON, with bytes that
// are not UTF-8 (a lone continuation byte, an overlong encoding, a bare
// lead byte).
const hostileJunk = "\xff\xfe\xfd hostile junk \x80\xc0\xaf \xc3"

// deepObject returns a JSON object nested hostileDepth levels deep.
func deepObject() string {
	return strings.Repeat(`{"a":`, hostileDepth) + "1" + strings.Repeat("}", hostileDepth)
}

// deepArray returns a JSON array nested hostileDepth levels deep.
func deepArray() string {
	return strings.Repeat("[", hostileDepth) + strings.Repeat("]", hostileDepth)
}

// bigLine returns hostileBig bytes without LF or NUL, with bytes that are
// not UTF-8 among them.
func bigLine() []byte { return bytes.Repeat([]byte("x\xff"), hostileBig/2) }

// gzipBomb returns n concatenated gzip members of 1 MiB of zeros each,
// about 1 KB each compressed; n of 0 makes it about 10 MB compressed and
// 10 GiB decompressed.
func gzipBomb(t *testing.T, n int) []byte {
	t.Helper()
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(make([]byte, 1<<20))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	if n == 0 {
		n = hostileBig/member.Len() + 1
	}
	return bytes.Repeat(member.Bytes(), n)
}

// octet frames msg with RFC 6587 octet counting.
func octet(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }

// writeSlowly writes b one byte every hostileSlowGap.
// writeSlowlyIn writes b n bytes at a time, hostileSlowGap apart.
func writeSlowlyIn(c net.Conn, b []byte, n int) error {
	for i := 0; i < len(b); i += n {
		if _, err := c.Write(b[i:min(i+n, len(b))]); err != nil {
			return fmt.Errorf("slow write at byte %d: %w", i, err)
		}
		time.Sleep(hostileSlowGap)
	}
	return nil
}

func writeSlowly(c net.Conn, b []byte) error {
	for i := range b {
		if _, err := c.Write(b[i : i+1]); err != nil {
			return fmt.Errorf("slow write of byte %d: %w", i, err)
		}
		time.Sleep(hostileSlowGap)
	}
	return nil
}

// waitClosedByServer reads c until tocsin closes it, and fails when that
// takes longer than within.
func waitClosedByServer(c net.Conn, within time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, c)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return took, fmt.Errorf("tocsin kept the connection open for %s", within)
	}
	return took, nil
}

// hostileRun collects the errors of attacks running at once; each attack
// returns its error instead of failing the test from its goroutine.
type hostileRun struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (r *hostileRun) start(name string, f func() error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := f(); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, fmt.Errorf("%s: %w", name, err))
			r.mu.Unlock()
		}
	}()
}

func (r *hostileRun) wait(t *testing.T) {
	t.Helper()
	r.wg.Wait()
	require.NoError(t, errors.Join(r.errs...))
}

// hostileAttack is what the attacks of TestHostileInputEveryListener
// share. Each attack builds its lines, and records what it expects, on
// the test's goroutine before it starts its senders, so that the senders
// share nothing but read-only payloads.
type hostileAttack struct {
	t       *testing.T
	run     hostileRun
	syslog  string // UDP and TCP
	tls     string
	relp    string
	http    string
	tail    string // the tailed file
	tlsConf *tls.Config

	big     []byte // hostileBig bytes, read only
	deepObj string
	deepArr string

	// halfOpen are connections left open until closeHalfOpen, which then
	// runs closed to add what their closing makes tocsin take.
	halfOpen []net.Conn
	closed   []func()

	// api is tocsin's HTTP API, for the senders that wait on metrics.
	api string
	// udpSent counts the UDP datagrams sent, one line each.
	udpSent int

	mu   sync.Mutex
	took map[string]time.Duration
}

// note records how long a bounded attack took, for the log.
func (a *hostileAttack) note(what string, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.took[what] = d
}

// attackUDP sends junk, NUL inside and after a line, bytes that are not
// UTF-8, a datagram over the limit, then a flood over the rate.
func (a *hostileAttack) attackUDP(src *hostileSource) {
	datagrams := [][]byte{
		[]byte(hostileJunk),
		[]byte(src.good("nul\x00inside")),
		[]byte(src.good("trailing-nul") + "\x00\x00"),
		[]byte(src.good("utf8\xffbad")),
		bytes.Repeat([]byte("u"), 60000),
		[]byte(src.good("aftercut")),
	}
	src.failures["no_header"], src.failures["too_long"] = 1, 1
	a.udpSent += len(datagrams) + hostileUDPFlood
	sent, events := a.udpSent, src.events()
	a.run.start("udp", func() error {
		c, err := net.Dial("udp", a.syslog)
		if err != nil {
			return err
		}
		defer c.Close()
		for _, d := range datagrams {
			if _, err := c.Write(d); err != nil {
				return err
			}
		}
		start := time.Now()
		for i := range hostileUDPFlood {
			if _, err := fmt.Fprintf(c, "hostile flood %d \xff", i); err != nil {
				return err
			}
			if i%25 == 24 {
				time.Sleep(time.Millisecond) // let tocsin read, so that the kernel drops none
			}
		}
		a.note("udp flood", time.Since(start))
		// tocsin read every datagram before it counted them: at most
		// the burst and what the rate refilled until then got through,
		// give or take the bucket's rounding.
		deadline := start.Add(10 * time.Second)
		for {
			m, err := scrapeMetrics(a.api)
			if err != nil {
				return err
			}
			if missingUDP(m, sent, events) == "" {
				window := time.Since(start)
				a.note("udp flood, until counted", window)
				limited := sumMetric(m, "tocsin_ingest_rate_limited_total", `source="udp"`) +
					sumMetric(m, "tocsin_ingest_udp_kernel_drops_total")
				if through := hostileUDPRate + hostileUDPRate*window.Seconds() + 1; limited < hostileUDPFlood-through {
					return fmt.Errorf("a flood of %d datagrams read within %s was not held to %d lines a second: %.0f refused",
						hostileUDPFlood, window, hostileUDPRate, limited)
				}
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("not every datagram counted after 10s: %s", missingUDP(m, sent, events))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// attackTCP sends a 10 MB newline-framed line and a 10 MB octet-counted
// frame, each followed on its connection by good messages; junk; NUL
// between messages and inside an octet-counted one; deep JSON; a slow
// sender; and leaves two connections half-open: a newline-framed message
// without its LF and an octet-counted one shorter than its count.
func (a *hostileAttack) attackTCP(src *hostileSource) {
	newline := append(append([]byte{}, a.big...), "\n"+src.good("aftercut")+"\n"...)
	counted := append([]byte(strconv.Itoa(hostileBig)+" "), a.big...)
	counted = append(counted, octet(src.good("octet-aftercut"))+octet(src.good("nul\x00inside"))...)
	mixed := hostileJunk + "\n" + src.good("utf8\xffbad") + "\n" +
		src.good("between1") + "\x00" + src.good("between2") + "\x00\x00\n" +
		a.deepObj + "\n" + a.deepArr + "\n"
	src.failures["too_long"], src.failures["no_header"], src.failures["bad_json"] = 2, 2, 1
	src.blank = 2 // the empty frames after "between2": NUL, then LF
	slow := src.good("slow") + "\n"
	a.run.start("tcp 10 MB newline-framed line", func() error { return sendStream(a.syslog, nil, newline) })
	a.run.start("tcp 10 MB octet-counted frame", func() error { return sendStream(a.syslog, nil, counted) })
	a.run.start("tcp junk, NUL, deep JSON", func() error { return sendStream(a.syslog, nil, []byte(mixed)) })
	a.run.start("tcp slow sender", func() error { return sendSlowStream(a.syslog, nil, []byte(slow)) })

	halfLine, halfMsg := src.line("halfopen")
	for _, data := range []string{halfLine, "400 <38>Dec  4 10:00:00 hostile-tcp sshd[1]: cut short"} {
		c, err := net.Dial("tcp", a.syslog)
		require.NoError(a.t, err)
		a.halfOpen = append(a.halfOpen, c)
		_, err = io.WriteString(c, data)
		require.NoError(a.t, err)
	}
	// Closed, the newline-framed message is taken as it is and the
	// octet-counted one is kept as truncated.
	a.closed = append(a.closed, func() {
		src.lines["halfopen"] = halfMsg
		src.failures["truncated"] = 1
	})
}

// attackTLS sends the same as attackTCP over TLS, bar the half-open
// connections, plus a client that never starts its handshake and one that
// speaks plain text to the TLS port.
func (a *hostileAttack) attackTLS(src *hostileSource) {
	newline := append(append([]byte{}, a.big...), "\n"+src.good("aftercut")+"\n"...)
	mixed := hostileJunk + "\n" + src.good("utf8\xffbad") + "\n" +
		src.good("between1") + "\x00" + src.good("between2") + "\n" +
		octet(src.good("nul\x00inside")) + a.deepObj + "\n"
	src.failures["too_long"], src.failures["no_header"], src.failures["bad_json"] = 1, 1, 1
	slow := src.good("slow") + "\n"
	plain, _ := src.line("plaintext-never-read")
	a.run.start("tls 10 MB line", func() error { return sendStream(a.tls, a.tlsConf, newline) })
	a.run.start("tls junk, NUL, deep JSON", func() error { return sendStream(a.tls, a.tlsConf, []byte(mixed)) })
	a.run.start("tls slow sender", func() error { return sendSlowStream(a.tls, a.tlsConf, []byte(slow)) })
	a.run.start("tls client that never handshakes", func() error {
		c, err := net.Dial("tcp", a.tls)
		if err != nil {
			return err
		}
		defer c.Close()
		took, err := waitClosedByServer(c, 20*time.Second)
		a.note("tls client that never handshakes, until closed", took)
		return err
	})
	a.run.start("plain text to the tls port", func() error {
		c, err := net.Dial("tcp", a.tls)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := io.WriteString(c, plain+"\n"); err != nil {
			return err
		}
		_, err = waitClosedByServer(c, 20*time.Second)
		return err
	})
}

// attackRELP opens a session with a 10 MB frame, the good frame after it,
// junk, NUL inside and after a message, bytes that are not UTF-8 and deep
// JSON; sessions that break the protocol before and after open, with a
// DATALEN longer and one shorter than the data; a slow session; and a
// half-open one that stops inside a frame.
func (a *hostileAttack) attackRELP(src *hostileSource) {
	frames := [][]byte{
		a.big,
		[]byte(src.good("aftercut")),
		[]byte(hostileJunk),
		[]byte(src.good("nul\x00inside") + "\x00\x00"),
		[]byte(src.good("utf8\xffbad")),
		[]byte(a.deepObj),
	}
	src.failures["too_long"], src.failures["no_header"], src.failures["bad_json"] = 1, 1, 1
	slow := src.good("slow")
	liarLong, _ := src.line("liar-long")
	liarShort, _ := src.line("liar-short")
	a.run.start("relp session with a 10 MB frame", func() error { return relpSession(a.relp, frames) })
	for name, garbage := range map[string]string{
		"relp garbage before open": "GET / HTTP/1.1\r\nHost: tocsin\r\n\r\n",
		"relp NUL bytes":           "\x00\x00\x00\x00\n",
		"relp syslog before open":  "1 syslog 5 hello\n",
	} {
		a.run.start(name, func() error { return relpBroken(a.relp, false, garbage) })
	}
	a.run.start("relp DATALEN longer than the data", func() error {
		return relpBroken(a.relp, true, "2 syslog "+strconv.Itoa(len(liarLong)+40)+" "+liarLong+"\n"+strings.Repeat("y", 80))
	})
	a.run.start("relp DATALEN shorter than the data", func() error {
		return relpBroken(a.relp, true, "2 syslog 20 "+liarShort+"\n")
	})
	a.run.start("relp slow sender", func() error { return relpSlowSession(a.relp, slow) })

	half, err := dialRELP(a.relp)
	require.NoError(a.t, err)
	a.halfOpen = append(a.halfOpen, half.c)
	require.NoError(a.t, half.open())
	_, err = io.WriteString(half.c, "2 syslog 300 <38>Dec  4 10:00:00 hostile-relp sshd[1]: cut")
	require.NoError(a.t, err)
}

// attackHTTP posts a 10 MB record before a good one, a 10 MB gzip bomb,
// deep JSON as a JSON body and as a text line, a malformed _bulk body and
// one with a document that is not an object, a wrong and a false
// Content-Encoding, bytes that are not UTF-8 in a JSON string, a slow
// body, and headers that never end.
func (a *hostileAttack) attackHTTP(src *hostileSource) {
	big := append(append([]byte{}, a.big...), "\n"+src.good("aftercut")+"\n"...)
	mixed := a.deepObj + "\n" + hostileJunk + "\n\x00\x00\n" + src.good("nul\x00inside") + "\n"
	src.failures["too_long"], src.failures["bad_json"], src.failures["no_header"] = 1, 1, 1
	src.blank = 1
	bulk := "{\"index\":{}}\n\"not an object\"\n{\"index\":{}}\n{\"message\":\"" + src.good("bulk") + "\"}\n"
	// Built by hand: encoding/json would replace the byte that is not
	// UTF-8.
	badUTF8 := `{"message":"` + src.good("json\xffutf8") + `"}`
	slow := src.good("slow") + "\n"
	brotli, _ := src.line("brotli-never-read")
	notGzip, _ := src.line("notgzip-never-read")
	bomb := gzipBomb(a.t, 0)
	a.run.start("http 10 MB record", func() error { return postExpect(a.http, "/", "text/plain", "", big, 200) })
	a.run.start("http gzip bomb", func() error { return rawPostExpect(a.http, "/", "gzip", bomb, 413, false) })
	a.run.start("http deep JSON body", func() error {
		return postExpect(a.http, "/", "application/x-ndjson", "", []byte(a.deepObj+"\n"), 400)
	})
	a.run.start("http junk, NUL, deep JSON line", func() error {
		return postExpect(a.http, "/", "text/plain", "", []byte(mixed), 200)
	})
	a.run.start("http malformed _bulk", func() error {
		return postExpect(a.http, "/_bulk", "application/x-ndjson", "", []byte("{\"index\":\n{\"message\":\"x\"}\n"), 400)
	})
	a.run.start("http _bulk with a bad document", func() error {
		return postExpect(a.http, "/_bulk", "application/x-ndjson", "", []byte(bulk), 200)
	})
	a.run.start("http wrong Content-Encoding", func() error {
		return postExpect(a.http, "/", "text/plain", "br", []byte(brotli), 415)
	})
	a.run.start("http gzip that is not gzip", func() error {
		return postExpect(a.http, "/", "text/plain", "gzip", []byte(notGzip), 400)
	})
	a.run.start("http bytes that are not UTF-8 in JSON", func() error {
		return postExpect(a.http, "/", "application/json", "", []byte(badUTF8), 200)
	})
	a.run.start("http slow body", func() error { return rawPostExpect(a.http, "/", "", []byte(slow), 200, true) })
	a.run.start("http headers that never end", func() error {
		c, err := net.Dial("tcp", a.http)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: tocsin\r\nContent-Type: text/plain\r\n"); err != nil {
			return err
		}
		took, err := waitClosedByServer(c, 20*time.Second)
		a.note("http headers that never end, until closed", took)
		return err
	})
}

// attackTail appends junk, a line of NULs, NUL inside a line, bytes that
// are not UTF-8, deep JSON, a 10 MB line and the good line after it, then
// a last line without its LF.
func (a *hostileAttack) attackTail(src *hostileSource) {
	var data bytes.Buffer
	data.WriteString(hostileJunk + "\n\x00\x00\x00\n" + src.good("nul\x00inside") + "\n" +
		src.good("utf8\xffbad") + "\n" + a.deepObj + "\n")
	data.Write(a.big)
	data.WriteString("\n" + src.good("aftercut") + "\n" + src.good("partial"))
	src.failures["no_header"], src.failures["bad_json"], src.failures["too_long"] = 1, 1, 1
	src.blank = 1
	a.run.start("tail", func() error { return appendFile(a.tail, data.Bytes()) })
}

// closeHalfOpen closes the half-open connections and adds what that
// makes tocsin take.
func (a *hostileAttack) closeHalfOpen() {
	for _, c := range a.halfOpen {
		require.NoError(a.t, c.Close())
	}
	a.halfOpen = nil
	for _, f := range a.closed {
		f()
	}
}

// sendFinal sends a good line to every listener, each in its own way.
func (a *hostileAttack) sendFinal(udp, tcp, tlsSrc, relp, httpSrc, tail *hostileSource) {
	t := a.t
	c, err := net.Dial("udp", a.syslog)
	require.NoError(t, err)
	_, err = c.Write([]byte(udp.good("final")))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	a.udpSent++
	require.NoError(t, sendStream(a.syslog, nil, []byte(tcp.good("final")+"\n")))
	require.NoError(t, sendStream(a.tls, a.tlsConf, []byte(tlsSrc.good("final")+"\n")))
	require.NoError(t, relpSession(a.relp, [][]byte{[]byte(relp.good("final"))}))
	require.NoError(t, postExpect(a.http, "/", "text/plain", "", []byte(httpSrc.good("final")+"\n"), 200))
	require.NoError(t, appendFile(a.tail, []byte(tail.good("final")+"\n")))
}

// appendFile appends data to the file at path.
func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startHostile starts `tocsin run` with every listener on loopback: the
// syslog UDP listener limited to hostileUDPMax bytes and hostileUDPRate
// lines a second, TLS with a certificate made here, and the test rule
// that alerts on every sshd login attempt in place of the built-in rules.
func startHostile(t *testing.T) (*server, *hostileAttack) {
	dir := t.TempDir()
	pki := writeRsyslogPKI(t, dir)
	rulesDir, err := filepath.Abs(filepath.Join(sendersData, "rules"))
	require.NoError(t, err)
	a := &hostileAttack{
		t: t, tls: loopback(t), relp: loopback(t), http: loopback(t), tail: filepath.Join(dir, "app.log"),
		big: bigLine(), deepObj: deepObject(), deepArr: deepArray(), took: map[string]time.Duration{},
	}
	t.Cleanup(func() {
		for _, c := range a.halfOpen {
			c.Close()
		}
	})
	require.NoError(t, os.WriteFile(a.tail, nil, 0o644))
	s := startServer(t, filepath.Join(dir, "data"),
		"--rules-builtin", "false", "--rules-dirs", rulesDir,
		"--syslog-udp-max-message-size", strconv.Itoa(hostileUDPMax),
		"--syslog-udp-rate", strconv.Itoa(hostileUDPRate), "--syslog-udp-burst", strconv.Itoa(hostileUDPRate),
		"--syslog-tls-address", a.tls, "--syslog-tls-cert-file", pki.serverCert, "--syslog-tls-key-file", pki.serverKey,
		"--relp-address", a.relp,
		"--http-ingest-address", a.http,
		"--tail-paths", a.tail, "--tail-start-at", "end")
	a.syslog = fmt.Sprintf("127.0.0.1:%d", s.port)
	a.api = s.api
	t.Logf("tocsin resident memory at start (VmHWM): %d MiB", vmHWM(t, s.cmd.Process.Pid)>>20)
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(pki.ca)
	require.NoError(t, err)
	require.True(t, roots.AppendCertsFromPEM(caPEM))
	a.tlsConf = &tls.Config{RootCAs: roots, ServerName: pki.serverName, MinVersion: tls.VersionTLS12}
	return s, a
}

// TestHostileInputEveryListener attacks every listener at once, then
// sends each a good line. Each listener must count every bad input with
// its reason, take every good line (those after a cut oversized message
// on the same stream included) parsed and unchanged, keep serving, and
// keep tocsin's memory bounded.
func TestHostileInputEveryListener(t *testing.T) {
	s, a := startHostile(t)
	udp := newHostileSource("udp", "198.51.100.16")
	tcp := newHostileSource("tcp", "198.51.100.11")
	tlsSrc := newHostileSource("tls", "198.51.100.12")
	relp := newHostileSource("relp", "198.51.100.13")
	httpSrc := newHostileSource("http", "198.51.100.14")
	tail := newHostileSource("tail", "198.51.100.15")
	// UDP first: streams are the listeners that take every line they are
	// sent; UDP drops what is over its rate.
	sources := []*hostileSource{udp, tcp, tlsSrc, relp, httpSrc, tail}
	streams := sources[1:]

	a.attackUDP(udp)
	a.attackTCP(tcp)
	a.attackTLS(tlsSrc)
	a.attackRELP(relp)
	a.attackHTTP(httpSrc)
	a.attackTail(tail)
	a.run.wait(t)
	for what, took := range a.took {
		t.Logf("%s: %s", what, took)
	}

	// Every stream listener took what it was sent, the tailed last line
	// without LF included, but nothing of the half-open connections,
	// which are still open and counted.
	waitMetrics(t, s, 20*time.Second, "the lines sent so far to be taken", func(m string) string {
		return missingLines(m, streams)
	})
	waitFor(t, 10*time.Second, "the half-open connections to be the only ones left", func() bool {
		m := s.exposition()
		return sumMetric(m, "tocsin_ingest_connections", `source="tcp"`) == 2 &&
			sumMetric(m, "tocsin_ingest_connections", `source="relp"`) == 1 &&
			sumMetric(m, "tocsin_ingest_connections", `source="tls"`) == 0
	})
	m := s.exposition()
	for _, src := range streams {
		require.Equal(t, float64(src.events()), sumMetric(m, "tocsin_ingest_events_total", `source="`+src.name+`"`),
			"%s: events while the half-open connections are open", src.name)
	}

	a.sendFinal(udp, tcp, tlsSrc, relp, httpSrc, tail)
	a.closeHalfOpen()
	waitMetrics(t, s, 30*time.Second, "every line to be counted", func(m string) string {
		return missingLines(m, streams) + missingUDP(m, a.udpSent, udp.events())
	})
	time.Sleep(500 * time.Millisecond) // anything extra would show now
	m = s.exposition()

	// UDP: every datagram is a line taken, one over the rate, or one the
	// kernel dropped; the flood lines taken failed as junk.
	taken := sumMetric(m, "tocsin_ingest_lines_total", `source="udp"`)
	limited := sumMetric(m, "tocsin_ingest_rate_limited_total", `source="udp"`)
	kernel := sumMetric(m, "tocsin_ingest_udp_kernel_drops_total")
	require.Equal(t, float64(a.udpSent), taken+limited+kernel,
		"udp: taken %.0f, over the rate %.0f, dropped by the kernel %.0f", taken, limited, kernel)
	udp.failures["no_header"] += int(taken) - udp.total()
	t.Logf("udp flood: %.0f lines taken, %.0f over the rate, %.0f dropped by the kernel", taken, limited, kernel)

	for _, src := range sources {
		checkHostileCounts(t, s, m, src)
	}
	require.Equal(t, 2.0, sumMetric(m, "tocsin_ingest_tls_handshake_failures_total", `source="tls"`),
		"tls: the client that never handshook and the plain-text one")
	for code, n := range map[string]float64{"200": 6, "400": 3, "413": 1, "415": 1} {
		require.Equal(t, n, sumMetric(m, "tocsin_ingest_http_requests_total", `code="`+code+`"`), "http: answers %s", code)
	}
	require.Equal(t, 1.0, sumMetric(m, "tocsin_ingest_http_records_total", `result="refused"`),
		"http: the bulk document that is not an object")

	checkHostileEvents(t, s, sources)

	// Still alive, still serving, and its memory stayed bounded.
	select {
	case err := <-s.done:
		t.Fatalf("tocsin run exited during the attack: %v", err)
	default:
	}
	resp, err := http.Get(s.api + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	hwm := vmHWM(t, s.cmd.Process.Pid)
	t.Logf("tocsin peak resident memory (VmHWM): %d MiB", hwm>>20)
	require.Less(t, hwm, int64(hostileRSSLimit), "peak resident memory")

	s.stop()
	logs := s.logs.String()
	require.Contains(t, logs, "relp session closed: the client broke the protocol")
	// Handshake failures are logged once per interval with a count: the
	// first of the two is in the log.
	require.Contains(t, logs, "tls connection refused: handshake")
}

// checkHostileCounts checks one source's counters in exposition m, and
// its failures as the API lists them.
func checkHostileCounts(t *testing.T, s *server, m string, src *hostileSource) {
	t.Helper()
	label := `source="` + src.name + `"`
	require.Equal(t, src.failures, failuresByReason(m, src.name), "%s: parse failures by reason", src.name)
	require.Equal(t, float64(src.failures["too_long"]), sumMetric(m, "tocsin_ingest_oversize_total", label), "%s: oversize", src.name)
	require.Equal(t, float64(src.events()), sumMetric(m, "tocsin_ingest_events_total", label), "%s: events", src.name)
	require.Equal(t, float64(src.total()), sumMetric(m, "tocsin_ingest_lines_total", label), "%s: lines", src.name)
	require.Equal(t, float64(src.blank), sumMetric(m, "tocsin_ingest_blank_lines_total", label), "%s: blank lines", src.name)
	require.Zero(t, sumMetric(m, "tocsin_ingest_dropped_total", label), "%s: nothing lost on the bus", src.name)

	var page struct {
		Failures []struct {
			Source string `json:"source"`
			Reason string `json:"reason"`
			Raw    string `json:"raw"`
		} `json:"failures"`
		Total    int            `json:"total"`
		ByReason map[string]int `json:"by_reason"`
	}
	waitFor(t, 10*time.Second, src.name+" failures to be stored", func() bool {
		s.get("/api/v1/parse-failures?limit=1000&source="+src.name, &page)
		n := 0
		for _, c := range src.failures {
			n += c
		}
		return page.Total >= n
	})
	require.Equal(t, src.failures, page.ByReason, "%s: stored failures by reason", src.name)
	for _, f := range page.Failures {
		require.Equal(t, src.name, f.Source)
		// The API shows each byte that is not UTF-8 as U+FFFD, 3 bytes.
		require.LessOrEqual(t, len(f.Raw), 3*hostileFailureRaw, "%s: a %s failure keeps at most 8 KiB", src.name, f.Reason)
	}
}

// checkHostileEvents checks that every good line arrived, parsed, once,
// and unchanged, on its listener: the cut messages did not spill into the
// next ones.
func checkHostileEvents(t *testing.T, s *server, sources []*hostileSource) {
	t.Helper()
	var byIP map[string]map[string]schemas.Event
	waitFor(t, 30*time.Second, "every good line to be an alert", func() bool {
		byIP = hostileEvents(s)
		for _, src := range sources {
			if len(byIP[src.ip]) < src.events() {
				return false
			}
		}
		return true
	})
	for _, src := range sources {
		want := map[string]string{}
		for user, msg := range src.lines {
			want[strings.ToValidUTF8(user, "\uFFFD")] = strings.ToValidUTF8(msg, "\uFFFD")
		}
		got := map[string]string{}
		for user, ev := range byIP[src.ip] {
			got[user] = ev.Message
			require.Equal(t, schemas.ActionSSHLogin, ev.Event.Action, "%s: %s", src.name, user)
			require.Equal(t, "failure", ev.Event.Outcome, "%s: %s", src.name, user)
			require.Equal(t, "hostile-"+src.name, ev.Host.Name, "%s: %s", src.name, user)
			require.Equal(t, "sshd", ev.Process.Name, "%s: %s", src.name, user)
		}
		require.Equal(t, want, got, "%s: the good lines, by user, as messages", src.name)
	}
	require.Len(t, byIP, len(sources), "no event came from an address no good line carried")
}

// waitMetrics polls tocsin's metrics until missing, given them, returns
// "", and fails with what is still missing after timeout.
func waitMetrics(t *testing.T, s *server, timeout time.Duration, what string, missing func(exposition string) string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := missing(s.exposition())
		if m == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// missingLines says which of sources have not counted all their lines
// and events yet, or returns "".
func missingLines(exposition string, sources []*hostileSource) string {
	var b strings.Builder
	for _, src := range sources {
		label := `source="` + src.name + `"`
		lines := sumMetric(exposition, "tocsin_ingest_lines_total", label)
		events := sumMetric(exposition, "tocsin_ingest_events_total", label)
		if lines < float64(src.total()) || events < float64(src.events()) {
			fmt.Fprintf(&b, "%s: %.0f of %d lines, %.0f of %d events, failures %v; ",
				src.name, lines, src.total(), events, src.events(), failuresByReason(exposition, src.name))
		}
	}
	return b.String()
}

// missingUDP says, or returns "", when the UDP listener has not yet
// accounted for every datagram sent (a line taken, over the rate, or
// dropped by the kernel) or not published the events expected.
func missingUDP(exposition string, sent, events int) string {
	seen := sumMetric(exposition, "tocsin_ingest_lines_total", `source="udp"`) +
		sumMetric(exposition, "tocsin_ingest_rate_limited_total", `source="udp"`) +
		sumMetric(exposition, "tocsin_ingest_udp_kernel_drops_total")
	published := sumMetric(exposition, "tocsin_ingest_events_total", `source="udp"`)
	if seen < float64(sent) || published < float64(events) {
		return fmt.Sprintf("udp: %.0f of %d datagrams, %.0f of %d events; ", seen, sent, published, events)
	}
	return ""
}

// scrapeMetrics returns the text of the /metrics of the API at api.
func scrapeMetrics(api string) (string, error) {
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// exposition returns the text of tocsin's /metrics.
func (s *server) exposition() string {
	s.t.Helper()
	m, err := scrapeMetrics(s.api)
	require.NoError(s.t, err)
	return m
}

// failuresByReason reads tocsin_ingest_parse_failures_total of source
// from an exposition, leaving out reasons at zero.
func failuresByReason(exposition, source string) map[string]int {
	out := map[string]int{}
	for _, line := range strings.Split(exposition, "\n") {
		m := metricLine.FindStringSubmatch(line)
		if m == nil || m[1] != "tocsin_ingest_parse_failures_total" || !strings.Contains(m[2], `source="`+source+`"`) {
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		if v == 0 {
			continue
		}
		_, rest, _ := strings.Cut(m[2], `reason="`)
		reason, _, _ := strings.Cut(rest, `"`)
		out[reason] += int(v)
	}
	return out
}

// hostileEvents returns the events behind every incident, by source.ip
// and user.name; it fails when one arrived twice.
func hostileEvents(s *server) map[string]map[string]schemas.Event {
	out := map[string]map[string]schemas.Event{}
	seen := map[uint64]bool{}
	for _, inc := range s.incidents() {
		for _, ev := range incidentEvents(s, inc.ID) {
			if seen[ev.ID] {
				continue
			}
			seen[ev.ID] = true
			if out[ev.Source.IP] == nil {
				out[ev.Source.IP] = map[string]schemas.Event{}
			}
			_, dup := out[ev.Source.IP][ev.User.Name]
			require.False(s.t, dup, "%s %q arrived twice", ev.Source.IP, ev.User.Name)
			out[ev.Source.IP][ev.User.Name] = ev
		}
	}
	return out
}

// vmHWM returns the peak resident set size of process pid.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc/%d/status here to read the peak memory from: %v", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err, "VmHWM line %q", line)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// dialStream connects to a stream listener, over TLS when conf is set.
func dialStream(addr string, conf *tls.Config) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil || conf == nil {
		return c, err
	}
	tc := tls.Client(c, conf)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}

// sendStream writes data on a new connection and closes it.
func sendStream(addr string, conf *tls.Config, data []byte) error {
	c, err := dialStream(addr, conf)
	if err != nil {
		return err
	}
	_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(data); err != nil {
		c.Close()
		return err
	}
	return c.Close()
}

// sendSlowStream writes data one byte at a time on a new connection.
func sendSlowStream(addr string, conf *tls.Config, data []byte) error {
	c, err := dialStream(addr, conf)
	if err != nil {
		return err
	}
	if err := writeSlowly(c, data); err != nil {
		c.Close()
		return err
	}
	return c.Close()
}

// postExpect posts body and checks the answer's status.
func postExpect(addr, path, contentType, encoding string, body []byte, want int) error {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s answered %d, want %d: %s", path, resp.StatusCode, want, answer)
	}
	return nil
}

// rawPostExpect posts body over a plain connection, slowly when slow is
// set, reading the answer while the body is being written: tocsin may
// answer (and stop reading) before the body ends.
func rawPostExpect(addr, path, encoding string, body []byte, want int, slow bool) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: tocsin\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n", path, len(body))
	if encoding != "" {
		head += "Content-Encoding: " + encoding + "\r\n"
	}
	if _, err := io.WriteString(c, head+"\r\n"); err != nil {
		return err
	}
	go func() {
		if slow {
			// HTTP wants a body to keep coming at 1 KiB/s once 10 s have
			// passed (a drip-feeder past that gets 408; see
			// TestHostileHTTPStalledBodiesLeaveRoom): this one is slow
			// but ends within the grace.
			_ = writeSlowlyIn(c, body, 8)
		} else {
			_, _ = c.Write(body) // cut short by tocsin's answer, when it refuses the body
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return fmt.Errorf("no answer to POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s answered %d, want %d: %s", path, resp.StatusCode, want, answer)
	}
	return nil
}

// relpClient is a minimal RELP sender.
type relpClient struct {
	c    net.Conn
	r    *bufio.Reader
	txnr int
}

func dialRELP(addr string) (*relpClient, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(40 * time.Second))
	return &relpClient{c: c, r: bufio.NewReader(c), txnr: 1}, nil
}

// frame returns the next frame of command cmd with data, numbered.
func (rc *relpClient) frame(cmd string, data []byte) []byte {
	b := fmt.Appendf(nil, "%d %s %d", rc.txnr, cmd, len(data))
	rc.txnr++
	if len(data) > 0 {
		b = append(append(b, ' '), data...)
	}
	return append(b, '\n')
}

// open opens the session and checks the answer.
func (rc *relpClient) open() error {
	if _, err := rc.c.Write(rc.frame("open", []byte("relp_version=0\nrelp_software=tocsin-e2e\ncommands=syslog"))); err != nil {
		return err
	}
	txnr, cmd, data, err := rc.read()
	if err != nil {
		return fmt.Errorf("no answer to open: %w", err)
	}
	if txnr != 1 || cmd != "rsp" || !strings.HasPrefix(data, "200 OK") {
		return fmt.Errorf("open answered %d %s %q", txnr, cmd, data)
	}
	return nil
}

// read reads one frame from tocsin.
func (rc *relpClient) read() (txnr int, cmd, data string, err error) {
	field := func() (string, byte, error) {
		var b []byte
		for {
			c, err := rc.r.ReadByte()
			if err != nil {
				return "", 0, err
			}
			if c == ' ' || c == '\n' {
				return string(b), c, nil
			}
			if len(b) > 32 {
				return "", 0, fmt.Errorf("header field %q too long", b)
			}
			b = append(b, c)
		}
	}
	t, _, err := field()
	if err != nil {
		return 0, "", "", err
	}
	if txnr, err = strconv.Atoi(t); err != nil {
		return 0, "", "", fmt.Errorf("transaction number %q: %w", t, err)
	}
	if cmd, _, err = field(); err != nil {
		return 0, "", "", err
	}
	l, end, err := field()
	if err != nil {
		return 0, "", "", err
	}
	n, err := strconv.Atoi(l)
	if err != nil || n > 4096 {
		return 0, "", "", fmt.Errorf("DATALEN %q", l)
	}
	if n == 0 {
		if end != '\n' {
			return 0, "", "", errors.New("no trailer after DATALEN 0")
		}
		return txnr, cmd, "", nil
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(rc.r, buf); err != nil {
		return 0, "", "", err
	}
	if buf[n] != '\n' {
		return 0, "", "", fmt.Errorf("no trailer after %q", buf[:n])
	}
	return txnr, cmd, string(buf[:n]), nil
}

// expectServerClose reads what tocsin sends until it closes: the
// serverclose hint and the end of the connection.
func (rc *relpClient) expectServerClose() error {
	txnr, cmd, _, err := rc.read()
	if err != nil {
		return fmt.Errorf("no serverclose hint: %w", err)
	}
	if txnr != 0 || cmd != "serverclose" {
		return fmt.Errorf("got %d %s where the serverclose hint belongs", txnr, cmd)
	}
	if _, err := rc.r.ReadByte(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("the connection stayed open after serverclose: %v", err)
	}
	return nil
}

// relpSession opens a session, sends each message as a syslog frame
// and a close, and checks that each is answered 200 in order.
func relpSession(addr string, msgs [][]byte) error {
	rc, err := dialRELP(addr)
	if err != nil {
		return err
	}
	defer rc.c.Close()
	if err := rc.open(); err != nil {
		return err
	}
	var out []byte
	for _, m := range msgs {
		out = append(out, rc.frame("syslog", m)...)
	}
	closeTxnr := rc.txnr
	out = append(out, rc.frame("close", nil)...)
	errc := make(chan error, 1)
	go func() {
		_, err := rc.c.Write(out)
		errc <- err
	}()
	for i := range msgs {
		txnr, cmd, data, err := rc.read()
		if err != nil {
			return fmt.Errorf("no answer to frame %d: %w", i+2, err)
		}
		if txnr != i+2 || cmd != "rsp" || data != "200 OK" {
			return fmt.Errorf("frame %d answered %d %s %q", i+2, txnr, cmd, data)
		}
	}
	if err := <-errc; err != nil {
		return err
	}
	txnr, cmd, data, err := rc.read()
	if err != nil || txnr != closeTxnr || cmd != "rsp" || data != "" {
		return fmt.Errorf("close answered %d %s %q: %v", txnr, cmd, data, err)
	}
	return rc.expectServerClose()
}

// relpBroken sends bytes that break the protocol, after an open when
// open is set, and checks that tocsin ends the session with the
// serverclose hint.
func relpBroken(addr string, open bool, garbage string) error {
	rc, err := dialRELP(addr)
	if err != nil {
		return err
	}
	defer rc.c.Close()
	if open {
		if err := rc.open(); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(rc.c, garbage); err != nil {
		return err
	}
	return rc.expectServerClose()
}

// relpSlowSession sends one syslog frame a byte at a time and checks it
// is answered 200.
func relpSlowSession(addr, msg string) error {
	rc, err := dialRELP(addr)
	if err != nil {
		return err
	}
	defer rc.c.Close()
	if err := rc.open(); err != nil {
		return err
	}
	if err := writeSlowly(rc.c, rc.frame("syslog", []byte(msg))); err != nil {
		return err
	}
	txnr, cmd, data, err := rc.read()
	if err != nil || txnr != 2 || cmd != "rsp" || data != "200 OK" {
		return fmt.Errorf("slow frame answered %d %s %q: %v", txnr, cmd, data, err)
	}
	return nil
}

// stallHTTP opens n requests to the HTTP ingest listener at addr that
// send their headers and the first bytes of a body, then nothing more,
// and closes them when the test ends.
func stallHTTP(t *testing.T, addr string, n int) {
	t.Helper()
	for range n {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = io.WriteString(c, "POST / HTTP/1.1\r\nHost: tocsin\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n<38>")
		require.NoError(t, err)
	}
}

// TestHostileHTTPStalledBodiesLeaveRoom stalls as many request bodies as
// the HTTP ingest listener handles at once: a sender with a good batch
// must still be served within 15 seconds, retrying on 429 as shippers do.
func TestHostileHTTPStalledBodiesLeaveRoom(t *testing.T) {
	addr := loopback(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--http-ingest-address", addr, "--http-ingest-max-concurrent", "16")
	stallHTTP(t, addr, 16)
	waitFor(t, 10*time.Second, "the stalled requests to be in flight", func() bool {
		return s.metric("tocsin_ingest_http_requests_in_flight") == 16
	})
	src := newHostileSource("http", "198.51.100.21")
	line := src.good("legit")
	var last error
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if last = postExpect(addr, "/", "text/plain", "", []byte(line+"\n"), 200); last == nil {
			break
		}
		time.Sleep(time.Second) // the Retry-After tocsin sends with 429
	}
	require.NoError(t, last, "16 senders that stalled their bodies keep a good batch out")
	waitFor(t, 10*time.Second, "the good batch to be an event", func() bool {
		return s.metric("tocsin_ingest_events_total", `source="http"`) == 1
	})
}

// TestHostileHTTPStalledBodyDoesNotHoldStop stalls one request body and
// stops tocsin: it must exit cleanly within the harness's 30 seconds.
func TestHostileHTTPStalledBodyDoesNotHoldStop(t *testing.T) {
	addr := loopback(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--http-ingest-address", addr)
	stallHTTP(t, addr, 1)
	waitFor(t, 10*time.Second, "the stalled request to be in flight", func() bool {
		return s.metric("tocsin_ingest_http_requests_in_flight") == 1
	})
	start := time.Now()
	s.stop()
	t.Logf("tocsin stopped %s after SIGINT with a stalled request body", time.Since(start))
}

// TestHostileHTTPConcurrentGzipBombs sends as many gzip bombs at once as
// the HTTP ingest listener handles, three times: each about 20 KB that
// decompresses to 20 MiB, past the 16 MiB body limit. Each must be
// answered 413 and tocsin's peak memory must stay under 600 MB.
func TestHostileHTTPConcurrentGzipBombs(t *testing.T) {
	addr := loopback(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--http-ingest-address", addr, "--http-ingest-max-concurrent", "16")
	bomb := gzipBomb(t, 20)
	for round := range 3 {
		var run hostileRun
		for i := range 16 {
			run.start(fmt.Sprintf("round %d bomb %d", round, i), func() error {
				return rawPostExpect(addr, "/", "gzip", bomb, 413, false)
			})
		}
		run.wait(t)
	}
	hwm := vmHWM(t, s.cmd.Process.Pid)
	t.Logf("3 rounds of 16 bombs of %d bytes: tocsin peak resident memory (VmHWM) %d MiB", len(bomb), hwm>>20)
	require.Less(t, hwm, int64(hostileRSSLimit), "peak resident memory")
	require.Equal(t, 48.0, s.metric("tocsin_ingest_http_requests_total", `code="413"`))
	s.stop()
}
