// Package authlog generates a realistic, deterministic Linux auth log with
// planted attackers, and the ground truth that names them.
//
// The log mixes what an internet-facing fleet writes to /var/log/auth.log:
// benign SSH logins with their PAM and logind lines, cron and sudo and su
// sessions, internet scanners that try one or two passwords each, and
// probes that never authenticate. Into that traffic it plants attackers of
// every kind in truth.Kinds, interleaved in time. The same Options and seed
// always give the same bytes.
//
// Lines come out of a min-heap of pending lines ordered by time, so memory
// stays proportional to the episodes in flight, not to the log's length.
package authlog

import (
	"errors"
	"fmt"
	"time"
)

// Format is the on-the-wire shape of a line.
type Format uint8

// Formats.
const (
	// FormatFile is what rsyslog writes to /var/log/auth.log: an RFC 3164
	// header without PRI ("Mar  2 00:00:01 web01 sshd[1234]: ...").
	FormatFile Format = iota
	// FormatRFC3164 adds the <PRI> of the facility and severity.
	FormatRFC3164
	// FormatRFC5424 is "<PRI>1 TIMESTAMP HOST APP PROCID - - MSG".
	FormatRFC5424
)

var formatNames = [...]string{"file", "rfc3164", "rfc5424"}

// String returns the format's flag name.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// ParseFormat reads a format flag value.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if s == n {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown format %q (want file, rfc3164 or rfc5424)", s)
}

// Options configure a Generator. The zero value of every field means its
// default.
type Options struct {
	// Seed selects the random stream. Default 0 is a valid seed.
	Seed uint64
	// Lines is the exact number of lines written. Default 1,000,000.
	Lines int
	// Start is the time of the first line; its location is the one the
	// header times are printed in. Default 2026-03-02T00:00:00Z.
	Start time.Time
	// Duration is the span the benign traffic is spread over; the log
	// ends close to Start+Duration. Default 24h, at least 2h.
	Duration time.Duration
	// Attackers is how many attackers of each kind are planted.
	// Default 3; set NoAttackers for none.
	Attackers int
	// NoAttackers plants none (Attackers is then ignored).
	NoAttackers bool
	// Hosts is the number of hosts in the fleet. Default 12.
	Hosts int
	// Users is the number of human accounts. Default 40, at least 5.
	Users int
	// Format is the line shape. Default FormatFile.
	Format Format
	// SlowAttempts and SlowSpan shape the slow brute force: that many
	// single failures spread over that span, never two within 90s.
	// Defaults 24 and 50m, above both 10 and 20 failures per hour.
	SlowAttempts int
	SlowSpan     time.Duration
	// SprayUsers is how many distinct users a sprayer tries once each.
	// Default 25.
	SprayUsers int
	// SudoEpisodes is how many times a sudo attacker gives up after three
	// wrong passwords. Default 3.
	SudoEpisodes int
	// IPv6Share is the share of scanners and probes that come from IPv6
	// addresses. Default 0.02; negative means none.
	IPv6Share float64
}

func (o *Options) setDefaults() {
	if o.Lines == 0 {
		o.Lines = 1_000_000
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)
	}
	if o.Duration == 0 {
		o.Duration = 24 * time.Hour
	}
	if o.Attackers == 0 && !o.NoAttackers {
		o.Attackers = 3
	}
	if o.NoAttackers {
		o.Attackers = 0
	}
	if o.Hosts == 0 {
		o.Hosts = 12
	}
	if o.Users == 0 {
		o.Users = 40
	}
	if o.SlowAttempts == 0 {
		o.SlowAttempts = 24
	}
	if o.SlowSpan == 0 {
		o.SlowSpan = 50 * time.Minute
	}
	if o.SprayUsers == 0 {
		o.SprayUsers = 25
	}
	if o.SudoEpisodes == 0 {
		o.SudoEpisodes = 3
	}
	if o.IPv6Share == 0 {
		o.IPv6Share = 0.02
	}
	if o.IPv6Share < 0 {
		o.IPv6Share = 0
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Lines < 1 {
		errs = append(errs, fmt.Errorf("lines must be positive, got %d", o.Lines))
	}
	if o.Duration < 2*time.Hour {
		errs = append(errs, fmt.Errorf("duration must be at least 2h, got %s", o.Duration))
	}
	if o.Attackers < 0 {
		errs = append(errs, fmt.Errorf("attackers must not be negative, got %d", o.Attackers))
	}
	if o.Hosts < 1 || o.Hosts > 1000 {
		errs = append(errs, fmt.Errorf("hosts must be 1 to 1000, got %d", o.Hosts))
	}
	if o.Users < 5 || o.Users > 10000 {
		errs = append(errs, fmt.Errorf("users must be 5 to 10000, got %d", o.Users))
	}
	if o.SlowAttempts < 2 {
		errs = append(errs, fmt.Errorf("slow attempts must be at least 2, got %d", o.SlowAttempts))
	}
	if o.SlowAttempts >= 2 && o.SlowSpan < time.Duration(o.SlowAttempts-1)*90*time.Second {
		errs = append(errs, fmt.Errorf("slow span %s is too short for %d attempts at least 90s apart",
			o.SlowSpan, o.SlowAttempts))
	}
	if o.SlowSpan*2 > o.Duration {
		errs = append(errs, fmt.Errorf("slow span %s must be at most half the duration %s", o.SlowSpan, o.Duration))
	}
	if o.SprayUsers < 2 || o.SprayUsers > o.Users+len(invalidUsers) {
		errs = append(errs, fmt.Errorf("spray users must be 2 to %d (users plus %d invalid names), got %d",
			o.Users+len(invalidUsers), len(invalidUsers), o.SprayUsers))
	}
	if o.SudoEpisodes < 1 {
		errs = append(errs, fmt.Errorf("sudo episodes must be positive, got %d", o.SudoEpisodes))
	}
	if o.IPv6Share > 1 {
		errs = append(errs, fmt.Errorf("ipv6 share must be at most 1, got %g", o.IPv6Share))
	}
	if int(o.Format) >= len(formatNames) {
		errs = append(errs, fmt.Errorf("unknown format %d", o.Format))
	}
	if o.Attackers > o.Users*o.Hosts {
		errs = append(errs, fmt.Errorf("attackers %d exceeds users*hosts %d (each sudo attacker needs its own pair)",
			o.Attackers, o.Users*o.Hosts))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid options: %w", errors.Join(errs...))
	}
	return nil
}
