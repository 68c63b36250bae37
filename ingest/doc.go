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
// A failure keeps at most PipelineOptions.MaxFailureRaw bytes of its line
// (8 KiB by default), so that a sender of long garbage cannot fill the
// failure store; when the line was cut, its Detail ends with
// "; N bytes, first M kept". The Batcher makes that copy for every
// source; metrics count the bytes received, not the bytes kept.
//
// A UTF-8 byte order mark (EF BB BF) that starts a line, as at the start
// of a file that Notepad or PowerShell wrote, is skipped by the parser
// (ingest/parse), which every source goes through; the event's Original
// still holds the line as received. A line that is only a BOM and blanks
// counts as blank.
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
// Datagrams the kernel drops because the socket's receive buffer is full
// never reach tocsin. On Linux the listener sets SO_RXQ_OVFL, reads the
// kernel's drop count from the ancillary data of each datagram and adds
// its increase to tocsin_ingest_udp_kernel_drops_total (and logs it). That
// counter is apart from tocsin_ingest_dropped_total, which counts events
// and failures the bus refused: a datagram may hold several lines, and the
// lines of a dropped datagram are unknown. The kernel reports drops with
// the next datagram it queues, so the counter lags until one arrives. On
// other systems the counter stays at zero.
//
// TCP: RFC 6587 octet counting and newline (LF or NUL) framing, detected per
// message; see package ingest/framing. Digits followed by a space start an
// octet-counted frame; digits followed by anything else start an ordinary
// newline-framed message (an RFC 3339 stamp without PRI, say); a digit run
// too long to be a count is a "bad_octet_count" failure. An octet-counted
// message cut by the end of the connection is a "truncated" failure; so is
// the unfinished message of a connection closed for idleness.
//
// At MaxConnections, a new connection takes the place of the connection
// that has waited for data the longest, if that one has received nothing
// for ListenerOptions.EvictIdle (10s by default); the evicted connection
// is closed like an idle one and counted in
// tocsin_ingest_connections_evicted_total. A connection whose reader is
// busy (publishing to a slow bus) is not idle. Only when no connection is
// idle that long is the new one refused
// (tocsin_ingest_connections_rejected_total), so idle connections cannot
// lock out a sender.
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
