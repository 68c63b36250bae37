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
	// CategoryMalware is an antivirus detection or its handling.
	CategoryMalware = "malware"
	// CategoryIAM is a change to accounts or groups (identity and access
	// management).
	CategoryIAM = "iam"
	// CategoryConfiguration is a change to a device's or a server's
	// configuration.
	CategoryConfiguration = "configuration"
	// CategoryIntrusionDetection is a scan or threat detection by a
	// network device.
	CategoryIntrusionDetection = "intrusion_detection"
	// CategoryFile is access to a file or another securable object.
	CategoryFile = "file"
	// CategoryVulnerability is a finding of a scanner: a certificate or
	// protocol weakness.
	CategoryVulnerability = "vulnerability"
	// CategoryHost is the state of a host's protection or agent.
	CategoryHost = "host"
)

// Type values for Event.Event.Type (ECS event.type, one value).
const (
	TypeAllowed    = "allowed"
	TypeDenied     = "denied"
	TypeStart      = "start"
	TypeEnd        = "end"
	TypeConnection = "connection"
	TypeCreation   = "creation"
	TypeDeletion   = "deletion"
	TypeChange     = "change"
	TypeInfo       = "info"
	TypeAccess     = "access"
	TypeError      = "error"
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
	Source  Endpoint  `expr:"source" json:"source,omitzero"`
	User    User      `expr:"user" json:"user,omitzero"`
	Host    Host      `expr:"host" json:"host,omitzero"`
	Process Process   `expr:"process" json:"process,omitzero"`
	SSH     SSH       `expr:"ssh" json:"ssh,omitzero"`
	Log     Log       `expr:"log" json:"log,omitzero"`

	// Destination is the far end of a connection (firewalls) or the
	// target host of a logon.
	Destination Endpoint `expr:"destination" json:"destination,omitzero"`
	Network     Network  `expr:"network" json:"network,omitzero"`
	// Observer is the device that reported the event: a firewall, an
	// antivirus product, a scanner.
	Observer      Observer      `expr:"observer" json:"observer,omitzero"`
	Rule          Rule          `expr:"rule" json:"rule,omitzero"`
	Threat        Threat        `expr:"threat" json:"threat,omitzero"`
	File          File          `expr:"file" json:"file,omitzero"`
	Group         Group         `expr:"group" json:"group,omitzero"`
	Winlog        Winlog        `expr:"winlog" json:"winlog,omitzero"`
	TLS           TLS           `expr:"tls" json:"tls,omitzero"`
	Vulnerability Vulnerability `expr:"vulnerability" json:"vulnerability,omitzero"`
	Change        ConfigChange  `expr:"change" json:"change,omitzero"`
	// Labels holds the fields of a record that have no place above: CEF
	// extensions, LEEF attributes, key=value pairs and JSON keys tocsin
	// does not map, and a Windows event's EventData. Rules read them as
	// labels["name"]. Parsers on the hot paths (syslog, sshd, firewalls)
	// leave it nil.
	Labels map[string]string `expr:"labels" json:"labels,omitempty"`
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
	// Type is a TypeX value: what kind of thing happened within the
	// category (a connection allowed or denied, an account created).
	Type string `expr:"type" json:"type,omitempty"`
	// Code is the source's own identifier of the message: the Windows
	// event ID, the Cisco message ID, the CEF signature ID.
	Code string `expr:"code" json:"code,omitempty"`
	// Severity is the source's own severity, as a number (CEF 0-10,
	// Cisco 0-7); 0 when the source gives none.
	Severity int `expr:"severity" json:"severity,omitempty"`
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
	// Bytes and Packets are what this end sent, when the log says.
	Bytes   int `expr:"bytes" json:"bytes,omitempty"`
	Packets int `expr:"packets" json:"packets,omitempty"`
	// MAC is the end's hardware address (netfilter's MAC=).
	MAC string `expr:"mac" json:"mac,omitempty"`
	// NATIP and NATPort are the end's address after translation.
	NATIP   string `expr:"nat_ip" json:"nat_ip,omitempty"`
	NATPort int    `expr:"nat_port" json:"nat_port,omitempty"`
}

// Network is ECS's network.* group.
type Network struct {
	// Transport is the layer-4 protocol in lower case: tcp, udp, icmp,
	// ipv6-icmp, or the IANA number as text when it has no name here.
	Transport string `expr:"transport" json:"transport,omitempty"`
	// Protocol is the application protocol (ssh, http, dns) when known.
	Protocol string `expr:"protocol" json:"protocol,omitempty"`
	// Type is ipv4 or ipv6.
	Type string `expr:"type" json:"type,omitempty"`
	// Direction is inbound, outbound, internal, external or unknown.
	Direction string `expr:"direction" json:"direction,omitempty"`
	// Bytes and Packets are the totals of both directions.
	Bytes   int `expr:"bytes" json:"bytes,omitempty"`
	Packets int `expr:"packets" json:"packets,omitempty"`
}

// Observer is ECS's observer.* group.
type Observer struct {
	Vendor   string `expr:"vendor" json:"vendor,omitempty"`
	Product  string `expr:"product" json:"product,omitempty"`
	Version  string `expr:"version" json:"version,omitempty"`
	Type     string `expr:"type" json:"type,omitempty"`
	Hostname string `expr:"hostname" json:"hostname,omitempty"`
	// SerialNumber is the device's serial (Palo Alto, FortiGate).
	SerialNumber string `expr:"serial_number" json:"serial_number,omitempty"`
	// IngressInterface and EgressInterface name the interfaces a packet
	// came in and went out by (ECS observer.ingress.interface.name).
	IngressInterface string `expr:"ingress_interface" json:"ingress_interface,omitempty"`
	EgressInterface  string `expr:"egress_interface" json:"egress_interface,omitempty"`
}

// Rule is ECS's rule.* group: the firewall rule, policy or detection
// signature that produced the event.
type Rule struct {
	ID       string `expr:"id" json:"id,omitempty"`
	Name     string `expr:"name" json:"name,omitempty"`
	Category string `expr:"category" json:"category,omitempty"`
}

// Threat names what an antivirus or a threat detection found.
type Threat struct {
	// Name is the detection's name ("Eicar-Test-Signature",
	// "Virus:DOS/EICAR_Test_File").
	Name string `expr:"name" json:"name,omitempty"`
	// Category is the product's class of it (virus, trojan, hacktool).
	Category string `expr:"category" json:"category,omitempty"`
	// Severity is the product's word for it (Severe, High).
	Severity string `expr:"severity" json:"severity,omitempty"`
}

// File is ECS's file.* group.
type File struct {
	Path string `expr:"path" json:"path,omitempty"`
	Name string `expr:"name" json:"name,omitempty"`
	Hash Hash   `expr:"hash" json:"hash,omitzero"`
}

// Hash is ECS's hash.* group, hex digests in lower case.
type Hash struct {
	MD5    string `expr:"md5" json:"md5,omitempty"`
	SHA1   string `expr:"sha1" json:"sha1,omitempty"`
	SHA256 string `expr:"sha256" json:"sha256,omitempty"`
}

// Group is ECS's group.* group: the group an account was added to or
// removed from, or that was created or deleted.
type Group struct {
	Name   string `expr:"name" json:"name,omitempty"`
	ID     string `expr:"id" json:"id,omitempty"`
	Domain string `expr:"domain" json:"domain,omitempty"`
}

// Winlog holds the Windows event log specifics (Winlogbeat's winlog.*).
type Winlog struct {
	EventID  int    `expr:"event_id" json:"event_id,omitempty"`
	Channel  string `expr:"channel" json:"channel,omitempty"`
	Provider string `expr:"provider_name" json:"provider_name,omitempty"`
	// Computer is the computer name the event log recorded.
	Computer string `expr:"computer_name" json:"computer_name,omitempty"`
	RecordID int    `expr:"record_id" json:"record_id,omitempty"`
	// Keywords are the event's keywords as names, comma-separated
	// ("Audit Failure").
	Keywords string `expr:"keywords" json:"keywords,omitempty"`
	// LogonType is the logon type number (2 interactive, 3 network, 10
	// remote interactive).
	LogonType int `expr:"logon_type" json:"logon_type,omitempty"`
	// Status and SubStatus are the NTSTATUS codes of a failure, as
	// written ("0xc000006d").
	Status    string `expr:"status" json:"status,omitempty"`
	SubStatus string `expr:"sub_status" json:"sub_status,omitempty"`
}

// TLS is ECS's tls.* group, as a certificate or protocol scanner reports
// a server.
type TLS struct {
	// Versions are the protocol versions the server offers,
	// comma-separated ("TLSv1.2,TLSv1.3").
	Versions string    `expr:"versions" json:"versions,omitempty"`
	Server   TLSServer `expr:"server" json:"server,omitzero"`
}

// TLSServer is ECS's tls.server.* group.
type TLSServer struct {
	Subject   string    `expr:"subject" json:"subject,omitempty"`
	Issuer    string    `expr:"issuer" json:"issuer,omitempty"`
	NotBefore time.Time `expr:"not_before" json:"not_before,omitzero"`
	NotAfter  time.Time `expr:"not_after" json:"not_after,omitzero"`
	// Hash is the certificate's SHA-256 fingerprint, hex.
	Hash string `expr:"hash" json:"hash,omitempty"`
}

// Vulnerability is ECS's vulnerability.* group.
type Vulnerability struct {
	// ID lists the findings, comma-separated (CVE numbers, or the
	// scanner's names where there is no CVE).
	ID string `expr:"id" json:"id,omitempty"`
	// Severity is the worst finding's severity as the scanner words it.
	Severity string `expr:"severity" json:"severity,omitempty"`
}

// ConfigChange says what a configuration change touched; user.name says who
// made it and host.name or observer.hostname on which device.
type ConfigChange struct {
	// Item is what was changed: "running-config", "firewall policy 7",
	// "system.admin admin2".
	Item string `expr:"item" json:"item,omitempty"`
}

// User is ECS's user.* group.
type User struct {
	// Name is the acting user: the one logging in, or the one invoking
	// sudo or su, or the administrator who changed an account.
	Name string `expr:"name" json:"name,omitempty"`
	// ID is the user's identifier: a Windows SID, a Unix uid.
	ID string `expr:"id" json:"id,omitempty"`
	// Domain is the user's Windows domain or realm.
	Domain string     `expr:"domain" json:"domain,omitempty"`
	Target UserTarget `expr:"target" json:"target,omitzero"`
}

// UserTarget is ECS's user.target.* group: the account that su or sudo
// switches to, or that an account change created, changed or deleted.
type UserTarget struct {
	Name   string `expr:"name" json:"name,omitempty"`
	ID     string `expr:"id" json:"id,omitempty"`
	Domain string `expr:"domain" json:"domain,omitempty"`
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
	// Executable is the program's full path.
	Executable string        `expr:"executable" json:"executable,omitempty"`
	Parent     ProcessParent `expr:"parent" json:"parent,omitzero"`
}

// ProcessParent is ECS's process.parent.* group.
type ProcessParent struct {
	PID        int    `expr:"pid" json:"pid,omitempty"`
	Executable string `expr:"executable" json:"executable,omitempty"`
}

// SSH holds sshd specifics.
type SSH struct {
	// Method is the authentication method: password, publickey,
	// keyboard-interactive/pam, none.
	Method string `expr:"method" json:"method,omitempty"`
}

// Log is ECS's log.* group: where the line came from and its syslog header.
type Log struct {
	Syslog Syslog    `expr:"syslog" json:"syslog,omitzero"`
	Source LogSource `expr:"source" json:"source,omitzero"`
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
