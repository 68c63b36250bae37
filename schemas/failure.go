package schemas

import "time"

// ParseFailure is a line that no parser understood, kept with the reason.
type ParseFailure struct {
	// Source names the listener or file the line came from ("udp",
	// "tcp", "file:/var/log/auth.log").
	Source string `json:"source"`
	// Address is the sender's address, when known.
	Address string `json:"address,omitempty"`
	// Reason is a short fixed phrase, usable as a metric label
	// ("no_header", "bad_priority", "too_long", "truncated").
	Reason string `json:"reason"`
	// Detail adds position or value to Reason.
	Detail   string    `json:"detail,omitempty"`
	Raw      []byte    `json:"raw"`
	Received time.Time `json:"received"`
}
