// Package ingest turns log lines into events on the bus. Its producers are
// the syslog listeners (UDPListener, TCPListener) and the file reader
// (ReadFiles); each producer owns a Batcher taken from a shared Pipeline.
//
// # Lines, events and failures
//
// A Batcher copies each line into a string, parses it with ingest/parse into
// a schemas.Event, gives the event its ID and sender address, and publishes
// events in batches. A line the parser rejects, or one the transport cut
// (too long, truncated, a bad octet count), becomes a schemas.ParseFailure on
// the failure bus: no line is dropped without being counted. Blank lines are
// counted and skipped.
//
// Event IDs are FNV-64a over the producer's name and the line's sequence
// number, so reading the same file again gives the same IDs ("file:" + path
// and the 1-based line number). Listener names include the pipeline's start
// time and a connection number, so IDs differ across connections and runs.
//
// # Transports
//
// UDP: one datagram is read at a time into a buffer one byte larger than the
// message limit; a datagram that fills it was cut by the socket and is kept
// as a "too_long" failure. A datagram may carry several lines separated by
// LF: rsyslog sends one message per datagram, but netcat-style senders pack
// lines together, and a message with an embedded LF is rare in the auth logs
// tocsin reads. Trailing CR and NUL bytes are dropped from each line.
//
// TCP: RFC 6587 octet counting and newline (LF or NUL) framing, detected per
// message; see package ingest/framing. Digits followed by a space start an
// octet-counted frame; digits followed by anything else start an ordinary
// newline-framed message (an RFC 3339 stamp without PRI, say); a digit run
// too long to be a count is a "bad_octet_count" failure. An octet-counted
// message cut by the end of the connection is a "truncated" failure; so is
// the unfinished message of a connection closed for idleness.
//
// Files: plain or gzip (detected by the magic bytes), one line per LF.
//
// # Stopping
//
// Stop drains: each TCP connection (including connections the kernel had
// queued for accepting) and the UDP socket are read until nothing has
// arrived for the drain timeout, and everything read is published before
// Stop returns. Stop's context bounds the drain and the final publishes; a
// publisher that ignores its context can hold Stop up.
//
// # Performance
//
// The hot path takes no shared lock and allocates once per line (the line's
// string) plus one slab of events per 256 events. Counters are kept in the
// Batcher and added to the Prometheus metrics when a batch is published.
// sshd events pass through the pipeline's SSHD tracker, which is shared and
// locks internally.
package ingest
