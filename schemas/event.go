// Package schemas holds the types that tocsin's stages exchange: normalised
// events, alerts, incidents and parse failures. It imports no stage; every
// stage imports it.
//
// Field names follow the Elastic Common Schema where ECS has a name for the
// thing (event.action, source.ip, user.name, host.name, ...). Rules name
// fields by these dotted names, both in expr conditions and in group_by.
package schemas

import (
	"time"
)

// Outcome values for Event.Event.Outcome (ECS event.outcome).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeUnknown = "unknown"
)

// Category values for Event.Event.Category (ECS event.category).
const (
	CategoryAuthentication = "authentication"
	CategorySession        = "session"
	CategoryProcess        = "process"
	CategoryNetwork        = "network"
)

// Action values for Event.Event.Action. The vocabulary is tocsin's own; it is
// documented here so rules and parsers agree on it.
const (
	// ActionSSHLogin is an sshd authentication attempt: "Failed <method> for
	// ..." (outcome failure), "Accepted <method> for ..." (outcome success)
	// or "Invalid user X from IP" (outcome failure, event.reason "invalid
	// user").
	ActionSSHLogin = "ssh_login"
	// ActionSSHDisconnect is a pre-authentication disconnect or closed
	// connection reported by sshd; it is not an attempt.
	ActionSSHDisconnect = "ssh_disconnect"
	// ActionSSHSession is a PAM session opened or closed for sshd.
	ActionSSHSession = "ssh_session"
	// ActionSudo is a sudo command (success) or a sudo authentication
	// failure (outcome failure).
	ActionSudo = "sudo"
	// ActionSu is an su attempt.
	ActionSu = "su"
	// ActionPAMAuth is a PAM authentication failure reported by any service
	// (pam_unix "authentication failure", "PAM N more authentication
	// failures").
	ActionPAMAuth = "pam_auth"
	// ActionPAMSession is a PAM session opened or closed for a service other
	// than sshd.
	ActionPAMSession = "pam_session"
)

// Event is one normalised log line. Parsers fill it without allocating:
// string fields are substrings of Original, which must therefore not be
// modified after parsing.
//
// The expr tags are the names analysts use in rule conditions.
type Event struct {
	// ID identifies the event; ingest derives it from the source and the
	// line's position so that re-reading the same input yields the same ID.
	ID uint64 `expr:"-" json:"id,string"`
	// Timestamp is the event time: from the header when it has one, else
	// the time the line was received.
	Timestamp time.Time `expr:"timestamp" json:"@timestamp"`

	Event   EventInfo `expr:"event" json:"event"`
	Source  Endpoint  `expr:"source" json:"source"`
	User    User      `expr:"user" json:"user"`
	Host    Host      `expr:"host" json:"host"`
	Process Process   `expr:"process" json:"process"`
	SSH     SSH       `expr:"ssh" json:"ssh"`
	Log     Log       `expr:"log" json:"log"`
	// Message is the free-text part of the line (the syslog MSG).
	Message string `expr:"message" json:"message"`
}

// EventInfo is ECS's event.* group.
type EventInfo struct {
	// Kind is "event" for normalised lines.
	Kind string `expr:"kind" json:"kind,omitempty"`
	// Category is a CategoryX value, or empty when the line has no known
	// meaning beyond its syslog header.
	Category string `expr:"category" json:"category,omitempty"`
	// Action is an ActionX value.
	Action string `expr:"action" json:"action,omitempty"`
	// Outcome is an OutcomeX value.
	Outcome string `expr:"outcome" json:"outcome,omitempty"`
	// Reason says why, in a few words ("invalid user", "wrong password").
	Reason string `expr:"reason" json:"reason,omitempty"`
	// Dataset names the parser that produced the event ("sshd", "sudo").
	Dataset string `expr:"dataset" json:"dataset,omitempty"`
	// Count is how many occurrences this line stands for: N for "message
	// repeated N times" and "PAM N more authentication failures", 1 for
	// an ordinary line. An sshd "Failed ... for invalid user" line whose
	// attempt was already counted by the "Invalid user" line of the same
	// sshd process has Count 0, so that summing Count over failed logins
	// counts each attempt once.
	Count int `expr:"count" json:"count"`
	// Created is when tocsin received the line.
	Created time.Time `expr:"created" json:"created"`
	// Original is the raw line as received, bytes kept as they were.
	Original string `expr:"original" json:"original"`
}

// Endpoint is ECS's source.* group.
type Endpoint struct {
	IP   string `expr:"ip" json:"ip,omitempty"`
	Port int    `expr:"port" json:"port,omitempty"`
	// Domain is a host name given instead of an address (PAM rhost).
	Domain string `expr:"domain" json:"domain,omitempty"`
}

// User is ECS's user.* group.
type User struct {
	// Name is the acting user: the one logging in, or the one invoking
	// sudo or su.
	Name   string     `expr:"name" json:"name,omitempty"`
	Target UserTarget `expr:"target" json:"target"`
}

// UserTarget is ECS's user.target.* group: the account that su or sudo
// switches to.
type UserTarget struct {
	Name string `expr:"name" json:"name,omitempty"`
}

// Host is ECS's host.* group.
type Host struct {
	// Name is the hostname from the syslog header, or the sender's address
	// when the header has none.
	Name string `expr:"name" json:"name,omitempty"`
}

// Process is ECS's process.* group.
type Process struct {
	Name        string `expr:"name" json:"name,omitempty"`
	PID         int    `expr:"pid" json:"pid,omitempty"`
	CommandLine string `expr:"command_line" json:"command_line,omitempty"`
}

// SSH holds sshd specifics.
type SSH struct {
	// Method is the authentication method: password, publickey,
	// keyboard-interactive/pam, none.
	Method string `expr:"method" json:"method,omitempty"`
}

// Log is ECS's log.* group: where the line came from and its syslog header.
type Log struct {
	Syslog Syslog    `expr:"syslog" json:"syslog"`
	Source LogSource `expr:"source" json:"source"`
}

// LogSource names the transport end that delivered the line.
type LogSource struct {
	// Address is the sender's IP address (or "file:PATH" for files), kept
	// beside the hostname that the header claims.
	Address string `expr:"address" json:"address,omitempty"`
}

// Syslog is ECS's log.syslog.* group.
type Syslog struct {
	// Format is "rfc3164", "rfc5424" or "none" (no header found).
	Format   string `expr:"format" json:"format,omitempty"`
	Priority int    `expr:"priority" json:"priority"`
	Facility int    `expr:"facility" json:"facility"`
	Severity int    `expr:"severity" json:"severity"`
	Hostname string `expr:"hostname" json:"hostname,omitempty"`
	AppName  string `expr:"appname" json:"appname,omitempty"`
	ProcID   string `expr:"procid" json:"procid,omitempty"`
	MsgID    string `expr:"msgid" json:"msgid,omitempty"`
	// StructuredData is the RFC 5424 STRUCTURED-DATA part, unescaped
	// values included, as written on the wire ("-" when absent).
	StructuredData string `expr:"structured_data" json:"structured_data,omitempty"`
}

// Reset clears e for reuse, keeping nothing from the previous event.
func (e *Event) Reset() { *e = Event{} }
