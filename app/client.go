package app

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// SendCommand sends the lines of files (or stdin) to a syslog listener over
// TCP, newline- or octet-framed, or over UDP, one line per datagram. It is
// a small shipper for trying tocsin out, not a replacement for rsyslog.
func SendCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", "send [flags] [FILE...]", stderr)
	addr := fs.String("address", "127.0.0.1:5514", "syslog listener address")
	proto := fs.String("protocol", "tcp", "tcp or udp")
	framing := fs.String("framing", "newline", "TCP framing: newline or octet-counting")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *proto != "tcp" && *proto != "udp" {
		return usageErr("--protocol must be tcp or udp, not %q", *proto)
	}
	if *framing != "newline" && *framing != "octet-counting" {
		return usageErr("--framing must be newline or octet-counting, not %q", *framing)
	}
	if *proto == "udp" && *framing != "newline" {
		return usageErr("--framing applies to TCP only: over UDP each line is one datagram")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, *proto, *addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s over %s: %w", *addr, *proto, err)
	}
	defer conn.Close()
	if tcp, ok := conn.(*net.TCPConn); ok {
		if err := notRefused(tcp); err != nil {
			return fmt.Errorf("%s: %w", *addr, err)
		}
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	sent := 0
	send := func(r io.Reader) error {
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			line = trimEOL(line)
			if len(line) > 0 {
				switch {
				case *proto == "udp":
					if _, werr := conn.Write(line); werr != nil {
						return fmt.Errorf("cannot send to %s: %w", *addr, werr)
					}
				case *framing == "octet-counting":
					w.WriteString(strconv.Itoa(len(line)))
					w.WriteByte(' ')
					w.Write(line)
				default:
					w.Write(line)
					w.WriteByte('\n')
				}
				sent++
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, name := range files {
		r, closeFn, err := openLog(name)
		if err != nil {
			return err
		}
		err = send(r)
		closeFn()
		if err != nil {
			return fmt.Errorf("cannot send %s: %w", name, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("cannot send to %s: %w", *addr, err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		if err := confirmRead(tcp); err != nil {
			return fmt.Errorf("sent %s, but %s: %w", plural(sent, "line", "lines"), *addr, err)
		}
	}
	fmt.Fprintf(stdout, "sent %s to %s over %s\n", plural(sent, "line", "lines"), *addr, *proto)
	return nil
}

// notRefused waits a moment for a listener that closes new connections at
// once, as tocsin's does at its connection limit: the lines would be lost.
func notRefused(c *net.TCPConn) error {
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	var one [1]byte
	_, err := c.Read(one[:])
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil // a syslog listener sends nothing; silence is the good answer
	}
	return fmt.Errorf("the listener reset or closed the connection at once (its connection limit?), so nothing was sent: %w", err)
}

// confirmRead closes our side and waits for the listener to close its
// own. A listener that read everything closes cleanly; one that refused
// the connection (at its connection limit) or stopped reading resets it,
// and the lines still in flight are lost. Syslog over TCP has no
// acknowledgements, so this is the most a sender can learn.
func confirmRead(c *net.TCPConn) error {
	err := c.CloseWrite() // fails when the listener has reset the connection already
	if err == nil {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.Copy(io.Discard, c)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errors.New("did not close the connection within 10s; some lines may not have been read yet")
	default:
		return fmt.Errorf("reset the connection before reading every line (its connection limit?), so some were lost: %w", err)
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// openLog opens a plain or gzip file, or stdin for "-".
func openLog(name string) (io.Reader, func(), error) {
	if name == "-" {
		return os.Stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open log file: %w", err)
	}
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("cannot read gzip file %s: %w", name, err)
		}
		return zr, func() { zr.Close(); f.Close() }, nil
	}
	return br, func() { f.Close() }, nil
}

// IncidentsCommand lists incidents from a running tocsin's API.
func IncidentsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("incidents", "incidents [flags]", stderr)
	api := fs.String("api", "http://127.0.0.1:8080", "base URL of tocsin's HTTP API")
	token := fs.String("token", os.Getenv("TOCSIN_HTTP_TOKEN"), "bearer token (default $TOCSIN_HTTP_TOKEN)")
	status := fs.String("status", "", "only incidents with this status")
	severity := fs.String("min-severity", "", "only incidents at or above this severity")
	limit := fs.Int("limit", 100, "most incidents to list")
	offset := fs.Int("offset", 0, "incidents to skip, newest first")
	output := fs.String("output", "text", "text or jsonl")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}, "offset": {strconv.Itoa(*offset)}}
	base := strings.TrimRight(*api, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	if *status != "" {
		q.Set("status", *status)
	}
	if *severity != "" {
		q.Set("min_severity", *severity)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/incidents?"+q.Encode(), nil)
	if err != nil {
		return usageErr("--api: %v", err)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach tocsin's API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("cannot read tocsin's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tocsin's API answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var page struct {
		Incidents []schemas.Incident `json:"incidents"`
		Total     int                `json:"total"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return fmt.Errorf("cannot decode tocsin's answer: %w", err)
	}
	if err := printIncidents(stdout, *output, page.Incidents); err != nil {
		return err
	}
	if *output == "text" && len(page.Incidents) > 0 && page.Total > len(page.Incidents) {
		fmt.Fprintf(stdout, "showing %d-%d of %d (use --offset and --limit for more)\n",
			*offset+1, *offset+len(page.Incidents), page.Total)
	}
	return nil
}

// printIncidents writes incidents as a table or as JSON lines.
func printIncidents(w io.Writer, format string, incs []schemas.Incident) error {
	if format == "jsonl" {
		enc := json.NewEncoder(w)
		for i := range incs {
			if err := enc.Encode(&incs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if len(incs) == 0 {
		fmt.Fprintln(w, "no incidents")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tSTATUS\tALERTS\tFIRST SEEN\tLAST SEEN\tTITLE")
	for _, in := range incs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", in.ID, in.Severity, in.Status, in.AlertCount,
			in.FirstSeen.UTC().Format(time.RFC3339), in.LastSeen.UTC().Format(time.RFC3339), in.Title)
	}
	return tw.Flush()
}
