// Package ingest turns log lines into events on the bus. Its producers are
// the syslog listeners (UDPListener; TCPListener, which also serves syslog
// over TLS from NewTLSListener and RELP from NewRELPListener) and the file
// reader (ReadFiles); each producer owns a Batcher taken from a shared
// Pipeline.
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
// TLS (RFC 5425): the TCP listener with ListenerOptions.TLS, so the same
// framing, limits, eviction and drain apply; its source is "tls".
// TLSOptions.ServerConfig reads the certificate, the key and the client CA
// and sets the client certificate mode: none, request (a certificate that
// is given must verify) or require. TLS 1.2 is the least version
// accepted. The handshake runs in the connection's goroutine within
// ListenerOptions.HandshakeTimeout (10s by default); until it ends the
// connection counts as idle since it was accepted, so at the connection
// limit a silent client is evicted like an idle one. A failed handshake is
// counted in tocsin_ingest_tls_handshake_failures_total and logged at most
// once per 10 seconds, with the count. The client certificate's common
// name is logged at debug level; the sender stays the peer's address.
//
// RELP (rsyslog's Reliable Event Logging Protocol, plain or over TLS):
// frames are TXNR SP COMMAND SP DATALEN [SP DATA] LF, read strictly: a
// transaction number out of sequence, a command that is not 1 to 32
// letters, a DATALEN that does not end at the trailer, a syslog command
// before open, or a client sending rsp ends the session with the
// serverclose hint, and the reason is logged. open must offer a
// relp_version and the syslog command, and is answered at once with the
// server's offers; unknown commands (starttls among them) are answered
// 500 and the session goes on; close is answered and ends it. Every frame
// the connection has already buffered is taken as one batch (up to 1024
// frames, or a Batcher batch), published, made safe with Batcher.Sync,
// and only then answered, in order: "200 OK" once the publisher took the
// batch and, when it is a bus.Syncer (the buffer in front of Kafka),
// confirmed it; "500" when that confirmation takes longer than
// ListenerOptions.AckTimeout (30s by default); no answer at all, and the
// session closed, when the lines could not even be published (the buffer
// stayed full), so that the sender sends them again on its next session.
// A line that does not parse is answered once its failure is safe. DATA
// longer than MaxMessageSize is cut there, kept as a "too_long" failure
// and answered; DATALEN says how much to skip, so the session stays in
// step. A frame cut by the end of the connection is dropped: the sender
// sends every unanswered frame again.
//
// Rate limits: ListenerOptions.Rate caps the lines per second of a
// listener, over all its connections, with a burst. UDP drops lines over
// the rate; stream listeners (TCP, TLS, RELP) pause reading until the rate
// allows the next line, which slows the sender down through TCP flow
// control (RELP's answers come later). Both count the lines in
// tocsin_ingest_rate_limited_total and log them at most once per 10
// seconds, with the count. Message size and connection caps apply to TLS
// and RELP as to TCP.
//
// Files: plain or gzip (detected by the magic bytes), one line per LF.
//
// # Stopping
//
// Stop drains: each stream connection (including connections the kernel
// had queued for accepting) and the UDP socket are read until nothing has
// arrived for the drain timeout, and everything read is published (and on
// RELP answered) before Stop returns; a RELP session then gets the
// serverclose hint. Stop's context bounds the drain and the final publishes; a
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
