// Package truth holds the ground truth of a generated auth log (which
// attackers were planted, of which kind, against which host) and checks a
// replay's incidents against it.
//
// The generator writes a File; the checker reads it back with the
// incidents that `tocsin replay --output jsonl` printed and reports
// precision and recall per kind. An incident whose subject (source IP or
// user) is no planted attacker is a false positive against benign
// traffic; a planted attacker without an incident of its kind is a miss.
package truth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Kind names one kind of planted attack.
type Kind string

// The planted kinds. Each matches one of tocsin's built-in detections.
const (
	// KindSSHBruteForceFast is a burst of failed SSH logins from one
	// source: dozens within a minute.
	KindSSHBruteForceFast Kind = "ssh_bruteforce_fast"
	// KindSSHBruteForceSlow is a steady trickle of failed SSH logins from
	// one source over most of an hour, never two within a minute and a
	// half.
	KindSSHBruteForceSlow Kind = "ssh_bruteforce_slow"
	// KindPasswordSpraying is one failed login for each of many distinct
	// users from one source.
	KindPasswordSpraying Kind = "password_spraying"
	// KindSSHBruteForceSuccess is a burst of failed logins for one account
	// followed by an accepted login from the same source.
	KindSSHBruteForceSuccess Kind = "ssh_bruteforce_success"
	// KindSudoFailures is a user failing sudo authentication repeatedly on
	// one host.
	KindSudoFailures Kind = "sudo_failures"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{
	KindSSHBruteForceFast,
	KindSSHBruteForceSlow,
	KindPasswordSpraying,
	KindSSHBruteForceSuccess,
	KindSudoFailures,
}

// ParseKind checks a kind name.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown kind %q (want one of %v)", s, Kinds)
}

// BySource reports whether attackers of this kind are identified by their
// source IP; otherwise they are identified by user (and host).
func (k Kind) BySource() bool { return k != KindSudoFailures }

// Attacker is one planted attacker.
type Attacker struct {
	Kind Kind `json:"kind"`
	// SourceIP identifies SSH attackers.
	SourceIP string `json:"source_ip,omitempty"`
	// User identifies sudo attackers; for SSH attackers it is the account
	// targeted when there is a single one.
	User string `json:"user,omitempty"`
	// Host is the attacked host (the syslog HOSTNAME of its lines).
	Host string `json:"host"`
	// FirstSeen and LastSeen bound the attacker's lines.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Attempts counts failed authentication attempts the way tocsin does:
	// an "Invalid user" line and the "Failed password for invalid user"
	// line of the same sshd process are one attempt, "message repeated N
	// times" is N attempts, "N incorrect password attempts" is N.
	Attempts int `json:"attempts"`
	// Users is the number of distinct user names tried.
	Users int `json:"users"`
	// Also lists the other kinds this attacker may rightly trigger: a
	// fast brute force is also a slow one, for instance. Detections of
	// these kinds count as correct but are not required.
	Also []Kind `json:"also,omitempty"`
}

// Subject is the attacker's identity as a detection would name it.
func (a *Attacker) Subject() string {
	if a.Kind.BySource() {
		return a.SourceIP
	}
	return a.User + "@" + a.Host
}

// Allows reports whether a detection of kind k is correct for a.
func (a *Attacker) Allows(k Kind) bool {
	if a.Kind == k {
		return true
	}
	for _, o := range a.Also {
		if o == k {
			return true
		}
	}
	return false
}

// Benign summarises the background traffic, so a reader of the truth file
// knows what had to stay quiet.
type Benign struct {
	// Scanners is the number of distinct external sources with one or two
	// failed logins each.
	Scanners int `json:"scanners"`
	// Probes is the number of external connections that never tried to
	// authenticate.
	Probes int `json:"probes"`
	// Logins is the number of accepted benign SSH logins.
	Logins int `json:"logins"`
	// Typos is the number of benign single failures (a mistyped SSH or
	// sudo password followed by success).
	Typos int `json:"typos"`
}

// File is the ground truth of one generated log.
type File struct {
	Generator string     `json:"generator"`
	Seed      uint64     `json:"seed"`
	Lines     int        `json:"lines"`
	Format    string     `json:"format"`
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"`
	Hosts     []string   `json:"hosts"`
	Attackers []Attacker `json:"attackers"`
	Benign    Benign     `json:"benign"`
}

// Write encodes f as indented JSON.
func (f *File) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("cannot encode truth: %w", err)
	}
	return nil
}

// Read decodes a truth file strictly: unknown fields and unknown kinds are
// errors, and so are SSH attackers without a source IP and sudo attackers
// without a user.
func Read(r io.Reader) (*File, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("cannot decode truth: %w", err)
	}
	var errs []error
	for i := range f.Attackers {
		a := &f.Attackers[i]
		if _, err := ParseKind(string(a.Kind)); err != nil {
			errs = append(errs, fmt.Errorf("attacker %d: %w", i, err))
			continue
		}
		for _, o := range a.Also {
			if _, err := ParseKind(string(o)); err != nil {
				errs = append(errs, fmt.Errorf("attacker %d: also: %w", i, err))
			}
		}
		switch {
		case a.Kind.BySource() && a.SourceIP == "":
			errs = append(errs, fmt.Errorf("attacker %d: kind %s needs source_ip", i, a.Kind))
		case !a.Kind.BySource() && (a.User == "" || a.Host == ""):
			errs = append(errs, fmt.Errorf("attacker %d: kind %s needs user and host", i, a.Kind))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid truth: %w", errors.Join(errs...))
	}
	return &f, nil
}

// Load reads the truth file at path.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open truth file: %w", err)
	}
	defer fh.Close()
	f, err := Read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
