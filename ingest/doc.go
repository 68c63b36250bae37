// Package ingest turns log lines into events on the bus. Its producers are
// the syslog listeners (UDPListener; TCPListener, which also serves syslog
// over TLS from NewTLSListener and RELP from NewRELPListener) and the file
// reader (ReadFiles); each producer owns a Batcher taken from a shared
// Pipeline.
//
// Two more producers take input from shippers that do not speak syslog:
// the HTTP(S) listener (HTTPListener), for JSON batches and the
// Elasticsearch bulk API, and the file tailer (Tailer), which follows
// live log files.
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
// HTTP: any POST or PUT takes a body of records, gzip-encoded or not, up
// to HTTPOptions.MaxBodyBytes after decompression (a larger one, a gzip
// bomb included, is answered 413 once the limit is read, never inflated
// further). text/plain is read as lines; a JSON media type (json,
// x-ndjson, json-lines, *+json), or a body whose first byte is { or [, as
// JSON: a stream of values, so that one object, NDJSON (Vector's
// newline_delimited framing, Fluent Bit's json_lines) and objects back to
// back (json_stream) all work, and a top-level array gives one record per
// element (Vector's and Fluent Bit's "json"). A record is an object, or
// a string whose text is the record. Each record becomes one line for the
// Batcher: its bytes, trimmed, newlines inside a pretty-printed object
// kept. A body that is not valid JSON is answered 400 with the record and
// byte at fault, and none of its records is taken: all or nothing, so
// that the sender's retry cannot duplicate the records before the bad
// one. MessagePack is answered 415.
//
// POST /_bulk and /{index}/_bulk take the Elasticsearch bulk API as
// Filebeat and Winlogbeat send it: action and document lines in pairs.
// create and index documents are records; update and delete actions, and
// documents that are not one JSON object, are answered per item with an
// error status (and errors: true), as Elasticsearch does; a malformed
// action line fails the whole request (400). Each item's _id is the
// sender's or, else, the event ID in hex. GET / answers an Elasticsearch
// 8.x version document (HTTPOptions.ESVersion), HEAD / answers 200, GET
// /_license an active basic license (which Beats' default distribution
// checks before sending), and the template, ILM policy and ingest
// pipeline endpoints Beats call when set-up is left on answer that the
// object exists (tocsin applies none of them). Every answer carries
// X-Elastic-Product: Elasticsearch.
//
// A request is answered only once its records are safe: published with
// Batcher.Flush, then, when the publisher is a bus.Syncer (the Kafka
// buffer), synced. Past HTTPOptions.AckTimeout it is answered 503 with
// Retry-After and the sender sends it again; event IDs hash the sender's
// address, a CRC-64 of the body and the record's position, so the same
// body sent again gets the same IDs. Records over MaxRecordBytes are cut
// and kept as "too_long" failures. More than MaxConcurrent requests at
// once, or more records per second than Rate, are answered 429 with
// Retry-After (Rate's bucket may run into debt by one large request,
// which then delays those after it). Credentials (Bearer token, ApiKey,
// Basic) are compared as SHA-256 digests in constant time; a client CA
// makes TLS client certificates required. ReadHeaderTimeout and
// ReadTimeout cut senders too slow to finish a request. Stop waits for
// the requests being handled to be answered.
//
// Tail: the tailer expands its patterns on every poll (PollInterval,
// 250ms by default; it polls, as the module has no file notification
// library) and follows each regular file found, known by device and inode
// plus a CRC-64 of its first KiB (its fingerprint), which tells a file
// that reuses an inode, or one truncated and written again, from the one
// it replaced. A file found at start is read from its end (the start of
// its last line) unless the state file knows it or FromStart is set; a
// file that appears later, or replaces a rotated one, from its start.
// Rotation by rename: the old file is read until it has been quiet for
// PartialLineDelay, then closed, while the new one is read from 0; files
// are read in the order they were found, so the old file's lines go
// first. Copytruncate (the file shrank, or its first bytes changed): the
// file is read again from 0. A last line without LF is held until the LF
// comes or PartialLineDelay passes; lines over MaxLineSize are cut and
// kept as "too_long" failures; a trailing CR is dropped. After each poll
// the lines are published (and synced, with a Syncer) and only then is
// each file's position written to the state file, atomically (a
// temporary file, synced, renamed over the old one); if publishing fails,
// the files are read again from their saved positions. Event IDs hash the
// file's device, inode and when tocsin first saw it (kept in the state
// file) with each line's byte offset, so lines read again after a crash
// keep their IDs. At the first poll, files of the state file that no
// pattern finds any more are looked for beside their old path (rotated
// while tocsin was down) and finished from their saved position. Files
// ending in .gz, .bz2, .xz, .zst, .zip, .lz4 or .br are skipped. Stop
// reads what the files hold, publishes it and saves the positions; an
// unfinished last line is left to be read whole after the next start.
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
