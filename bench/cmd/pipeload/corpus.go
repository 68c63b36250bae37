package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// tsKind is the format of a line's timestamp, which pipeload replaces
// with the time of sending.
type tsKind uint8

const (
	// tsNone: no timestamp found; the line is sent as it is.
	tsNone tsKind = iota
	// ts3164: "Mar  2 18:01:51" (RFC 3164, with or without <PRI>).
	ts3164
	// tsRFC3339: an RFC 3339 stamp, as RFC 5424 and rsyslog's precise
	// file format write it; rewritten with microseconds in UTC.
	tsRFC3339
)

// span is a byte range of a line.
type span struct{ off, len int32 }

// addrSpan is an IP address inside a line, rewritten on every pass over
// the corpus after the first so that each pass has its own sources.
type addrSpan struct {
	span
	addr netip.Addr
}

// tmpl is one corpus line, with what pipeload rewrites marked.
type tmpl struct {
	text  []byte
	kind  tsKind
	ts    span
	addrs []addrSpan
	// burst is set when an address is in burstNet: it is moved even on
	// the first pass.
	burst bool
}

// corpus is the background traffic: lines sent in order, over and over.
// Pass k (from 0) sends every line with a fresh timestamp and, for k > 0,
// with each IP address moved by k (see shiftAddr), so that a source seen
// in one pass is a new source in the next: the rules see the same mix of
// traffic every pass instead of every scanner becoming a slow brute force.
// Addresses of burstNet are moved out of it on every pass, so that only
// the planted bursts come from there.
type corpus struct {
	lines []tmpl
	bytes int64
}

// parseCorpus splits data into lines (LF, with an optional CR) and finds
// each line's timestamp and addresses. Empty lines are skipped.
func parseCorpus(data []byte) (*corpus, error) {
	c := &corpus{}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if len(line) > 1<<20 {
			return nil, fmt.Errorf("cannot use line %d: %d bytes is longer than the 1 MiB a syslog TCP listener accepts",
				len(c.lines)+1, len(line))
		}
		c.lines = append(c.lines, parseLine(line))
		c.bytes += int64(len(line)) + 1
	}
	if len(c.lines) == 0 {
		return nil, errors.New("the input holds no lines")
	}
	return c, nil
}

// parseLine marks a line's timestamp and the IP addresses after it.
func parseLine(line []byte) tmpl {
	t := tmpl{text: line}
	i := 0
	if len(line) > 2 && line[0] == '<' {
		if j := bytes.IndexByte(line[:min(len(line), 6)], '>'); j > 1 && allDigits(line[1:j]) {
			i = j + 1
		}
	}
	rest := line[i:]
	switch {
	case bytes.HasPrefix(rest, []byte("1 ")):
		// RFC 5424: VERSION SP TIMESTAMP SP ...
		tok := token(rest[2:])
		if _, err := time.Parse(time.RFC3339Nano, string(tok)); err == nil {
			t.kind, t.ts = tsRFC3339, span{int32(i + 2), int32(len(tok))}
		}
	case len(rest) >= len(time.Stamp) && isStamp3164(rest[:len(time.Stamp)]):
		t.kind, t.ts = ts3164, span{int32(i), int32(len(time.Stamp))}
	case len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9':
		tok := token(rest)
		if _, err := time.Parse(time.RFC3339Nano, string(tok)); err == nil {
			t.kind, t.ts = tsRFC3339, span{int32(i), int32(len(tok))}
		}
	}
	from := i
	if t.kind != tsNone {
		from = int(t.ts.off + t.ts.len)
	}
	t.addrs = findAddrs(line, from)
	for _, a := range t.addrs {
		t.burst = t.burst || burstNet.Contains(a.addr)
	}
	return t
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// token returns b up to its first space.
func token(b []byte) []byte {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i]
	}
	return b
}

func isStamp3164(b []byte) bool {
	_, err := time.Parse(time.Stamp, string(b))
	return err == nil
}

func isAddrByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.'
}

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

// findAddrs returns the IPv4 and IPv6 addresses of line[from:] that stand
// alone (not part of a longer word), such as "from 192.0.2.7 port" or
// "rhost=2001:db8::1".
func findAddrs(line []byte, from int) []addrSpan {
	var out []addrSpan
	for i := from; i < len(line); {
		if !isAddrByte(line[i]) || (i > 0 && (isWordByte(line[i-1]) || line[i-1] == '.' || line[i-1] == ':')) {
			i++
			continue
		}
		j := i
		dots, colons := 0, 0
		for j < len(line) && isAddrByte(line[j]) {
			switch line[j] {
			case '.':
				dots++
			case ':':
				colons++
			}
			j++
		}
		if j < len(line) && isWordByte(line[j]) {
			i = j
			continue
		}
		end := j
		// "192.0.2.7:" or "2001:db8::1:" before a port or a message.
		for end > i && (line[end-1] == ':' || line[end-1] == '.') {
			end--
		}
		if (dots == 3 && colons <= 1) || colons >= 2 {
			if a, err := netip.ParseAddr(string(line[i:end])); err == nil && !a.Is4In6() && a.Zone() == "" {
				out = append(out, addrSpan{span{int32(i), int32(end - i)}, a})
			}
		}
		i = j
	}
	return out
}

// burstNet is where planted bursts come from (198.18.0.0/15, set aside
// for benchmarks); shiftAddr never moves a background address into it.
var burstNet = netip.MustParsePrefix("198.18.0.0/15")

// shiftAddr moves an address for pass k: an IPv4 address keeps its first
// octet (a private address stays private) and moves its other 24 bits;
// an IPv6 address keeps its first 32 bits (2001:db8::/32 stays in the
// documentation range) and moves the next 32. Pass 0 keeps the address,
// unless it is in burstNet. No pass yields an address of burstNet.
func shiftAddr(a netip.Addr, k uint64) netip.Addr {
	if k == 0 && !burstNet.Contains(a) {
		return a
	}
	step := uint32(k * 0x9E3779B1)
	if a.Is4() {
		b := a.As4()
		u := binary.BigEndian.Uint32(b[:])
		u = u&0xFF000000 | (u+step)&0x00FFFFFF
		binary.BigEndian.PutUint32(b[:], u)
		out := netip.AddrFrom4(b)
		if burstNet.Contains(out) {
			b[1] ^= 0x04 // 198.18-19 becomes 198.22-23
			out = netip.AddrFrom4(b)
		}
		return out
	}
	b := a.As16()
	u := binary.BigEndian.Uint32(b[4:8])
	binary.BigEndian.PutUint32(b[4:8], u+step)
	return netip.AddrFrom16(b)
}

// stamps holds one instant in the two written formats; every line of a
// chunk gets the same one.
type stamps struct {
	s3164   []byte
	rfc3339 []byte
}

func makeStamps(now time.Time) stamps {
	now = now.UTC()
	return stamps{
		s3164:   now.AppendFormat(nil, time.Stamp),
		rfc3339: now.AppendFormat(nil, "2006-01-02T15:04:05.000000Z07:00"),
	}
}

// appendLine appends line number n of the endless stream (pass n/len,
// line n%len), rewritten, and a newline.
func (c *corpus) appendLine(dst []byte, n uint64, st *stamps) []byte {
	t := &c.lines[n%uint64(len(c.lines))]
	pass := n / uint64(len(c.lines))
	at := 0
	if t.kind != tsNone {
		dst = append(dst, t.text[:t.ts.off]...)
		if t.kind == ts3164 {
			dst = append(dst, st.s3164...)
		} else {
			dst = append(dst, st.rfc3339...)
		}
		at = int(t.ts.off + t.ts.len)
	}
	if pass > 0 || t.burst {
		for _, a := range t.addrs {
			dst = append(dst, t.text[at:a.off]...)
			dst = shiftAddr(a.addr, pass).AppendTo(dst)
			at = int(a.off + a.len)
		}
	}
	dst = append(dst, t.text[at:]...)
	return append(dst, '\n')
}
