package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
)

// KindHTTP marks records received by the HTTP ingest listener.
const KindHTTP Kind = "http"

// HTTP listener defaults.
const (
	DefaultHTTPAddress           = "127.0.0.1:9880"
	DefaultHTTPMaxBodyBytes      = 16 << 20
	DefaultHTTPMaxRecordBytes    = 1 << 20
	DefaultHTTPMaxConcurrent     = 16
	DefaultHTTPAckTimeout        = 30 * time.Second
	DefaultHTTPReadHeaderTimeout = 10 * time.Second
	DefaultHTTPReadTimeout       = time.Minute
	DefaultHTTPIdleTimeout       = 2 * time.Minute
	// DefaultESVersion is the Elasticsearch version GET / reports, so that
	// Beats 8.x accept the endpoint without allow_older_versions.
	DefaultESVersion = "8.19.0"
)

// retryAfter is the Retry-After of a 503 answer, in seconds.
const retryAfter = "5"

// bodyPoolMax is the largest body buffer kept for reuse; larger ones are
// left to the garbage collector so that one big request does not pin
// its memory.
const bodyPoolMax = 4 << 20

// crcTable hashes request bodies into event ID stream names.
var crcTable = crc64.MakeTable(crc64.ECMA)

// HTTPOptions configures an HTTPListener. The zero value of each field
// takes its default.
type HTTPOptions struct {
	// Address is host:port to listen on (default 127.0.0.1:9880).
	Address string
	// CertFile and KeyFile, when set, make the listener speak HTTPS
	// (TLS 1.2 or later).
	CertFile, KeyFile string
	// ClientCAFile, when set (with CertFile), makes a client certificate
	// signed by one of its CAs required.
	ClientCAFile string
	// Token, APIKey and Username with Password are the credentials a
	// request may carry: "Authorization: Bearer <Token>", "ApiKey
	// <APIKey>" (APIKey as "id:key", as Beats' api_key takes it, or its
	// base64 form) or Basic. With none set, no credential is asked for.
	Token, APIKey, Username, Password string
	// MaxBodyBytes bounds a request body, after decompression (default
	// 16 MiB); a larger one is answered 413.
	MaxBodyBytes int64
	// MaxRecordBytes is the longest record kept whole (default 1 MiB); a
	// longer one is cut and kept as a "too_long" failure.
	MaxRecordBytes int
	// MaxConcurrent bounds the requests handled at once (default 16);
	// one more is answered 429.
	MaxConcurrent int
	// AckTimeout bounds the wait for a request's records to be published
	// and safe (default 30s); past it the request is answered 503 with
	// Retry-After, and the sender sends it again.
	AckTimeout time.Duration
	// Rate, when above zero, limits the records per second the listener
	// takes; a request over it is answered 429 with Retry-After.
	Rate float64
	// ReadHeaderTimeout (default 10s) and ReadTimeout (default 1m) bound
	// the reading of a request's headers and of the whole request, so
	// that a slow sender cannot hold a connection; IdleTimeout (default
	// 2m) closes an idle keep-alive connection.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// Location is the zone of timestamps without one; nil takes the
	// pipeline's.
	Location *time.Location
	// Format is the one format of the records (see parse.Formats); empty
	// detects it per record.
	Format string
	// ESVersion is the Elasticsearch version GET / reports (default
	// 8.19.0).
	ESVersion string
	// Admit, when set, is asked before a request is read; while it
	// returns an error the listener answers 503. Ingest uses it to refuse
	// input while its buffer in front of Kafka is full.
	Admit func() error
}

func (o HTTPOptions) withDefaults() (HTTPOptions, error) {
	var errs []error
	if o.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body bytes %d is negative", o.MaxBodyBytes))
	}
	if o.MaxRecordBytes < 0 {
		errs = append(errs, fmt.Errorf("max record bytes %d is negative", o.MaxRecordBytes))
	}
	if o.MaxConcurrent < 0 {
		errs = append(errs, fmt.Errorf("max concurrent %d is negative", o.MaxConcurrent))
	}
	if o.AckTimeout < 0 || o.ReadHeaderTimeout < 0 || o.ReadTimeout < 0 || o.IdleTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if o.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate %g is negative", o.Rate))
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, errors.New("the certificate and key files go together: set both or neither"))
	}
	if o.ClientCAFile != "" && o.CertFile == "" {
		errs = append(errs, errors.New("a client CA needs TLS: set the certificate and key files too"))
	}
	if (o.Username == "") != (o.Password == "") {
		errs = append(errs, errors.New("the user name and password go together: set both or neither"))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("cannot configure http ingest listener: %w", err)
	}
	if o.Address == "" {
		o.Address = DefaultHTTPAddress
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultHTTPMaxBodyBytes
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = DefaultHTTPMaxRecordBytes
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = DefaultHTTPMaxConcurrent
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultHTTPAckTimeout
	}
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = DefaultHTTPReadHeaderTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultHTTPReadTimeout
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultHTTPIdleTimeout
	}
	if o.ESVersion == "" {
		o.ESVersion = DefaultESVersion
	}
	return o, nil
}

// HTTPListener takes log records over HTTP(S): JSON objects, JSON arrays
// of objects, NDJSON and plain text lines on any path, and the
// Elasticsearch bulk API (POST /_bulk, /{index}/_bulk) with the handshake
// Beats make first. It answers a request only once its records were
// published and, when the publisher is a bus.Syncer, synced: a 200 means
// the batch is safe. See the package documentation for the details.
type HTTPListener struct {
	p      *Pipeline
	opts   HTTPOptions
	logger zerolog.Logger
	hm     *httpMetrics
	auth   httpAuth
	tls    *tls.Config
	bucket *recordBucket
	// pubErrs and admitErrs limit the logs of publish errors and of
	// requests refused by Admit.
	pubErrs, admitErrs errorLimiter

	sem      chan struct{} // one token per request being handled
	batchers chan *Batcher // idle Batchers, reused across requests
	bodies   sync.Pool     // *bytes.Buffer
	gzips    sync.Pool     // *gzip.Reader
	esInfo   []byte        // the answer of GET /
	srv      *http.Server
	ln       net.Listener
	served   chan struct{}  // closed when Serve returns
	handling sync.WaitGroup // requests in the handler
	stopOnce sync.Once
	stopErr  error
}

// NewHTTPListener checks opts, loads the TLS files and returns a listener
// that Start binds.
func NewHTTPListener(p *Pipeline, opts HTTPOptions) (*HTTPListener, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	hm, err := p.httpMetrics()
	if err != nil {
		return nil, err
	}
	p.metrics.forKind(KindHTTP) // the source's series exist from the start
	l := &HTTPListener{
		p:        p,
		opts:     o,
		logger:   p.logger.With().Str("source", string(KindHTTP)).Logger(),
		hm:       hm,
		auth:     newHTTPAuth(o),
		sem:      make(chan struct{}, o.MaxConcurrent),
		batchers: make(chan *Batcher, o.MaxConcurrent),
		esInfo:   esInfoBody(o.ESVersion),
		served:   make(chan struct{}),
	}
	if o.CertFile != "" {
		if l.tls, err = httpTLSConfig(o.CertFile, o.KeyFile, o.ClientCAFile); err != nil {
			return nil, fmt.Errorf("cannot configure http ingest listener: %w", err)
		}
	}
	if o.Rate > 0 {
		l.bucket = newRecordBucket(o.Rate, time.Now())
	}
	return l, nil
}

// Start binds the address and serves in the background until Stop. ctx
// bounds the bind only.
func (l *HTTPListener) Start(ctx context.Context) error {
	if l.ln != nil {
		return errors.New("cannot start http ingest listener: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.opts.Address)
	if err != nil {
		return fmt.Errorf("cannot listen for http ingest on %s: %w", l.opts.Address, err)
	}
	scheme := "http"
	if l.tls != nil {
		ln, scheme = tls.NewListener(ln, l.tls), "https"
	}
	l.ln = ln
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: l.opts.ReadHeaderTimeout,
		ReadTimeout:       l.opts.ReadTimeout,
		// The answer waits for the batch to be safe, after the body.
		WriteTimeout:   l.opts.ReadTimeout + l.opts.AckTimeout + 10*time.Second,
		IdleTimeout:    l.opts.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       log.New(serverLog{l.logger}, "", 0),
	}
	l.logger.Info().
		Str("address", ln.Addr().String()).
		Str("scheme", scheme).
		Bool("auth", l.auth.required() || l.opts.ClientCAFile != "").
		Int64("max_body_bytes", l.opts.MaxBodyBytes).
		Msg("listening for http ingest")
	go func() {
		defer close(l.served)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.logger.Error().Err(err).Msg("http ingest listener stopped")
		}
	}()
	return nil
}

// Addr returns the bound address, or nil before Start.
func (l *HTTPListener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Stop stops accepting requests and waits for those being handled to be
// answered, each within its ack timeout. If ctx ends first, open
// connections are closed and Stop returns ctx's error.
func (l *HTTPListener) Stop(ctx context.Context) error {
	if l.srv == nil {
		return nil
	}
	l.stopOnce.Do(func() {
		err := l.srv.Shutdown(ctx)
		if err != nil {
			_ = l.srv.Close()
		}
		<-l.served
		l.handling.Wait()
		close(l.batchers)
		for b := range l.batchers {
			_ = b.Close(context.WithoutCancel(ctx))
		}
		if err != nil {
			l.stopErr = fmt.Errorf("cannot drain http ingest listener on %s: %w", l.ln.Addr(), err)
		}
	})
	return l.stopErr
}

// ServeHTTP routes one request.
func (l *HTTPListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.handling.Add(1)
	defer l.handling.Done()
	h := w.Header()
	// Elasticsearch clients check this header on every answer.
	h.Set("X-Elastic-Product", "Elasticsearch")
	if !l.auth.allow(r) {
		h.Set("WWW-Authenticate", l.auth.challenge())
		l.fail(w, http.StatusUnauthorized, "security_exception",
			"missing or wrong credentials for the tocsin http ingest endpoint")
		return
	}
	// Beats and Fluent Bit may put a path prefix before the
	// Elasticsearch endpoints (output.elasticsearch.path), so these
	// match on the end of the path.
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		l.reply(w, http.StatusOK, l.esInfo, r.Method == http.MethodHead)
	case strings.HasSuffix(path, "/_license") && r.Method == http.MethodGet:
		l.reply(w, http.StatusOK, esLicenseBody, false)
	case strings.HasSuffix(path, "/_bulk"):
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			l.fail(w, http.StatusMethodNotAllowed, "illegal_argument_exception", "the bulk API takes POST or PUT")
			return
		}
		l.ingest(w, r, true, bulkIndexOf(path))
	case isESSetupPath(path):
		// Beats set up templates, policies and pipelines before sending
		// when they are told to; tocsin keeps none, and says they exist.
		switch r.Method {
		case http.MethodHead:
			l.reply(w, http.StatusOK, nil, true)
		case http.MethodGet:
			l.reply(w, http.StatusOK, []byte("{}"), false)
		default:
			l.reply(w, http.StatusOK, []byte(`{"acknowledged":true}`), false)
		}
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		l.ingest(w, r, false, "")
	default:
		l.fail(w, http.StatusNotFound, "resource_not_found_exception",
			"no such endpoint: tocsin takes records by POST, and the Elasticsearch bulk API at /_bulk")
	}
}

// bulkIndexOf returns the {index} of a path ending in /{index}/_bulk: the
// index of bulk items that name none. After a path prefix it may be the
// prefix's last part, which only shows in the answer's _index.
func bulkIndexOf(p string) string {
	rest := strings.TrimSuffix(p, "/_bulk")
	index := rest[strings.LastIndexByte(rest, '/')+1:]
	if strings.HasPrefix(index, "_") {
		return ""
	}
	return index
}

// isESSetupPath reports the set-up endpoints Beats may call at start.
func isESSetupPath(p string) bool {
	for _, part := range []string{"/_index_template/", "/_component_template/", "/_ilm/policy/", "/_ingest/pipeline/"} {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

// ingest reads, splits and publishes the records of one request, and
// answers once they are safe.
func (l *HTTPListener) ingest(w http.ResponseWriter, r *http.Request, bulk bool, index string) {
	select {
	case l.sem <- struct{}{}:
		defer func() { <-l.sem }()
	default:
		w.Header().Set("Retry-After", "1")
		l.fail(w, http.StatusTooManyRequests, "es_rejected_execution_exception",
			"tocsin is handling "+strconv.Itoa(l.opts.MaxConcurrent)+" requests already (http_ingest.max_concurrent); retry later")
		return
	}
	l.hm.inFlight.Inc()
	defer l.hm.inFlight.Dec()
	if l.opts.Admit != nil {
		if err := l.opts.Admit(); err != nil {
			if n, ok := l.admitErrs.allow(time.Now()); ok {
				l.logger.Error().Err(err).Int("count", n).Msg("http ingest request refused: tocsin cannot take more input now")
			}
			w.Header().Set("Retry-After", retryAfter)
			l.fail(w, http.StatusServiceUnavailable, "unavailable_shards_exception",
				"tocsin cannot take more input now: "+err.Error())
			return
		}
	}
	if l.bucket != nil {
		if wait, ok := l.bucket.admit(time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
			l.fail(w, http.StatusTooManyRequests, "es_rejected_execution_exception",
				"over the rate of "+strconv.FormatFloat(l.opts.Rate, 'g', -1, 64)+" records per second (http_ingest.rate); retry later")
			return
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); strings.Contains(mt, "msgpack") {
		l.fail(w, http.StatusUnsupportedMediaType, "media_type_header_exception",
			"MessagePack is not supported; send JSON, NDJSON or text lines (Fluent Bit: format json or json_lines)")
		return
	}
	received := time.Now()
	buf := l.getBody()
	defer l.putBody(buf)
	r.Body = newPacedBody(r.Body, http.NewResponseController(w), received, l.opts.ReadTimeout)
	if code, err := l.readBody(r, buf); err != nil {
		l.fail(w, code, errType(code), err.Error())
		return
	}
	body := buf.Bytes()
	if bulk {
		l.ingestBulk(w, r, body, index, received)
		return
	}
	var spans []recordSpan
	var err error
	if jsonBody(r.Header.Get("Content-Type"), body) {
		spans, err = splitJSON(body, nil)
	} else {
		spans = splitLines(body, nil)
	}
	if err != nil {
		l.fail(w, http.StatusBadRequest, "parse_exception",
			"the body is not valid JSON or NDJSON, so none of its records was taken: "+err.Error())
		return
	}
	b, sender := l.batcher(r, body)
	err = l.publish(r.Context(), b, len(spans), func(ctx context.Context, i int) error {
		text, err := recordText(body, spans[i])
		if err != nil {
			// splitJSON checked the string, so this is not expected.
			return b.Reject(ctx, body[spans[i].start:spans[i].end], received, sender, ReasonParse,
				"cannot decode the JSON string: "+err.Error())
		}
		return l.record(ctx, b, text, received, sender)
	})
	l.release(b)
	if err != nil {
		l.unsafe(w, err, len(spans))
		return
	}
	l.hm.records[httpAcked].Add(float64(len(spans)))
	out := append([]byte(`{"records":`), strconv.Itoa(len(spans))...)
	l.reply(w, http.StatusOK, append(out, '}'), false)
}

// ingestBulk handles an Elasticsearch bulk request.
func (l *HTTPListener) ingestBulk(w http.ResponseWriter, r *http.Request, body []byte, index string, received time.Time) {
	items, err := splitBulk(body, index, nil)
	if err != nil {
		l.fail(w, http.StatusBadRequest, "illegal_argument_exception",
			"the bulk body is malformed, so none of its items was taken: "+err.Error())
		return
	}
	b, sender := l.batcher(r, body)
	taken, refused := 0, 0
	err = l.publish(r.Context(), b, len(items), func(ctx context.Context, i int) error {
		it := &items[i]
		if it.status != 0 {
			refused++
			return nil
		}
		taken++
		it.status = http.StatusCreated
		it.eventID = seqHash(b.idBase, uint64(i)+1)
		return l.record(ctx, b, body[it.doc.start:it.doc.end], received, sender)
	})
	l.release(b)
	if err != nil {
		l.hm.records[httpRefused].Add(float64(refused))
		l.unsafe(w, err, taken)
		return
	}
	l.hm.records[httpAcked].Add(float64(taken))
	l.hm.records[httpRefused].Add(float64(refused))
	took := time.Since(received).Milliseconds()
	l.reply(w, http.StatusOK, appendBulkResponse(make([]byte, 0, 64+len(items)*160), items, took), false)
}

// record hands one record to b, cutting one over the record limit.
func (l *HTTPListener) record(ctx context.Context, b *Batcher, rec []byte, received time.Time, sender string) error {
	if len(rec) > l.opts.MaxRecordBytes {
		return b.Reject(ctx, rec[:l.opts.MaxRecordBytes], received, sender, ReasonTooLong,
			"record of "+strconv.Itoa(len(rec))+" bytes, longer than "+strconv.Itoa(l.opts.MaxRecordBytes)+" bytes")
	}
	return b.Line(ctx, rec, received, sender)
}

// publish hands n records to b through each (which gets record i) and
// waits until they are safe: flushed, and synced when a publisher is a
// bus.Syncer. Record i gets sequence number i+1. The whole is bounded by
// the ack timeout.
func (l *HTTPListener) publish(ctx context.Context, b *Batcher, n int, each func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.AckTimeout)
	defer cancel()
	if l.bucket != nil {
		l.bucket.take(n, time.Now())
	}
	start := time.Now()
	for i := range n {
		b.SetSeq(uint64(i))
		if err := each(ctx, i); err != nil {
			return err
		}
	}
	if err := b.Flush(ctx); err != nil {
		return err
	}
	if err := syncPublishers(ctx, b.evPub, b.failPub); err != nil {
		return err
	}
	l.hm.ackWait.Observe(time.Since(start).Seconds())
	return nil
}

// syncPublishers calls Sync on each distinct publisher that is a
// bus.Syncer.
func syncPublishers(ctx context.Context, pubs ...any) error {
	var done []bus.Syncer
	for _, p := range pubs {
		s, ok := p.(bus.Syncer)
		if !ok {
			continue
		}
		dup := false
		for _, d := range done {
			dup = dup || any(d) == any(s)
		}
		if dup {
			continue
		}
		if err := s.Sync(ctx); err != nil {
			return fmt.Errorf("cannot confirm that the batch is safe: %w", err)
		}
		done = append(done, s)
	}
	return nil
}

// unsafe answers a request whose records could not be made safe in time.
func (l *HTTPListener) unsafe(w http.ResponseWriter, err error, records int) {
	l.hm.records[httpUnacked].Add(float64(records))
	if n, ok := l.pubErrs.allow(time.Now()); ok {
		l.logger.Error().Err(err).Int("count", n).Dur("ack_timeout", l.opts.AckTimeout).
			Msg("http ingest request answered 503: its records were not safe in time; the sender will send them again")
	}
	w.Header().Set("Retry-After", retryAfter)
	l.fail(w, http.StatusServiceUnavailable, "unavailable_shards_exception",
		"the records were not stored in time; send them again: "+err.Error())
}

// readBody reads r's body into buf, decompressing gzip, within the body
// limit. On error it returns the status to answer.
func (l *HTTPListener) readBody(r *http.Request, buf *bytes.Buffer) (int, error) {
	limit := l.opts.MaxBodyBytes
	tooBig := func() (int, error) {
		return http.StatusRequestEntityTooLarge, fmt.Errorf("the body is larger than %d bytes (http_ingest.max_body_bytes); send smaller batches", limit)
	}
	if r.ContentLength > limit {
		return tooBig()
	}
	var src io.Reader = io.LimitReader(r.Body, limit+1)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := l.gzipReader(src)
		if err != nil {
			return readError(err, "the body is not gzip data")
		}
		defer l.gzips.Put(zr)
		src = zr
	default:
		return http.StatusUnsupportedMediaType, fmt.Errorf("content encoding %q is not supported; send gzip or no encoding", enc)
	}
	n, err := readCapped(buf, src, limit+1)
	if err != nil {
		return readError(err, "cannot read the body")
	}
	if n > limit {
		return tooBig()
	}
	return 0, nil
}

// readCapped reads src into buf until EOF or until buf holds max bytes.
// It grows buf itself, doubling up to max, so that a body near the limit
// costs at most max bytes of buffer (bytes.Buffer.ReadFrom would double
// to twice the limit just to find the one byte too many).
func readCapped(buf *bytes.Buffer, src io.Reader, max int64) (int64, error) {
	b := buf.Bytes()[:0]
	if int64(cap(b)) > max {
		b = b[:0:max]
	}
	defer func() { *buf = *bytes.NewBuffer(b) }()
	for int64(len(b)) < max {
		if len(b) == cap(b) {
			c := min(max, int64(2*cap(b)))
			c = min(max, c+(32<<10))
			nb := make([]byte, len(b), c)
			copy(nb, b)
			b = nb
		}
		n, err := src.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return int64(len(b)), err
		}
	}
	return int64(len(b)), nil
}

// Pacing of request bodies: a body must keep arriving at bodyMinRate
// bytes a second after bodyGrace, so that a sender dripping a body, or
// stalling in it, cannot hold one of http_ingest.max_concurrent slots
// (nor a stop) for the whole read timeout.
const (
	bodyGrace   = 10 * time.Second
	bodyMinRate = 1024
)

// pacedBody moves the connection's read deadline as body bytes arrive.
// It never moves it past the read timeout.
type pacedBody struct {
	io.ReadCloser
	rc        *http.ResponseController
	start     time.Time
	read      int64
	readLimit time.Duration
}

func newPacedBody(body io.ReadCloser, rc *http.ResponseController, start time.Time, readTimeout time.Duration) *pacedBody {
	p := &pacedBody{ReadCloser: body, rc: rc, start: start, readLimit: readTimeout}
	p.extend()
	return p
}

func (p *pacedBody) extend() {
	// An error means the connection cannot take deadlines (a test
	// recorder): the server's read timeout still bounds it.
	_ = p.rc.SetReadDeadline(p.start.Add(min(p.readLimit, bodyGrace+time.Duration(p.read)*time.Second/bodyMinRate)))
}

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	if n > 0 {
		p.read += int64(n)
		p.extend()
	}
	return n, err
}

// readError maps a body read error to a status.
func readError(err error, what string) (int, error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return http.StatusRequestTimeout, fmt.Errorf("%s: the sender was too slow: %w", what, err)
	}
	return http.StatusBadRequest, fmt.Errorf("%s: %w", what, err)
}

func (l *HTTPListener) gzipReader(src io.Reader) (*gzip.Reader, error) {
	if zr, ok := l.gzips.Get().(*gzip.Reader); ok {
		if err := zr.Reset(src); err != nil {
			l.gzips.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(src)
}

func (l *HTTPListener) getBody() *bytes.Buffer {
	if b, ok := l.bodies.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (l *HTTPListener) putBody(b *bytes.Buffer) {
	if b.Cap() > bodyPoolMax {
		return
	}
	b.Reset()
	l.bodies.Put(b)
}

// jsonBody tells JSON from plain text: by the Content-Type when it names
// either, else by the first byte that is not whitespace.
func jsonBody(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "text/plain":
		return false
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.Contains(mt, "ndjson") ||
		strings.Contains(mt, "json-lines") || strings.Contains(mt, "jsonlines") || mt == "application/jsonl":
		return true
	}
	c := firstByte(body)
	return c == '{' || c == '['
}

// batcher returns a Batcher for one request and the sender's address. Its
// stream name, which event IDs hash, is the sender and a CRC-64 of the
// body, so that a sender that sends the same body again (after a 503,
// say) gets the same event IDs and the history keeps each record once.
func (l *HTTPListener) batcher(r *http.Request, body []byte) (*Batcher, string) {
	sender := remoteIP(r.RemoteAddr)
	name := "http:" + sender + "/" + strconv.FormatUint(crc64.Checksum(body, crcTable), 16)
	var b *Batcher
	select {
	case b = <-l.batchers:
		b.rename(name)
	default:
		b = l.p.NewBatcher(Source{Kind: KindHTTP, Name: name, Location: l.opts.Location, Format: l.opts.Format})
	}
	return b, sender
}

// release returns b for another request.
func (l *HTTPListener) release(b *Batcher) {
	// What the Batcher did not publish (after an error) is dropped and
	// was counted; a new request starts empty.
	clear(b.events)
	clear(b.failures)
	b.events, b.failures, b.failRaw = b.events[:0], b.failures[:0], 0
	b.carryFailures()
	select {
	case l.batchers <- b:
	default:
		b.slab, b.spare = nil, nil
	}
}

// serverLog passes net/http's own messages (TLS handshake errors, mostly
// from scanners) to the debug log.
type serverLog struct{ logger zerolog.Logger }

func (s serverLog) Write(p []byte) (int, error) {
	s.logger.Debug().Str("detail", strings.TrimSpace(string(p))).Msg("http ingest server message")
	return len(p), nil
}

// remoteIP returns the IP address of a request's peer, without port.
func remoteIP(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return addr
}

// reply writes a JSON answer and counts it.
func (l *HTTPListener) reply(w http.ResponseWriter, code int, body []byte, head bool) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if !head {
		_, _ = w.Write(body)
	}
	l.hm.code(code).Inc()
}

// fail answers with an error in Elasticsearch's shape, which Beats log
// and the other shippers show as the body.
func (l *HTTPListener) fail(w http.ResponseWriter, code int, typ, reason string) {
	b := make([]byte, 0, 96+2*len(reason))
	b = append(b, `{"error":{"root_cause":[{"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, reason)
	b = append(b, `}],"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, reason)
	b = append(b, `},"status":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	l.reply(w, code, append(b, '}'), false)
}

// errType names the Elasticsearch error type of a body read failure.
func errType(code int) string {
	switch code {
	case http.StatusRequestEntityTooLarge:
		return "content_too_long_exception"
	case http.StatusUnsupportedMediaType:
		return "media_type_header_exception"
	case http.StatusRequestTimeout:
		return "timeout_exception"
	}
	return "parse_exception"
}

// esInfoBody is the answer of GET /: enough of Elasticsearch's for Beats,
// Fluent Bit and Vector to accept the endpoint.
func esInfoBody(version string) []byte {
	b := []byte(`{"name":"tocsin","cluster_name":"tocsin","cluster_uuid":"dG9jc2luLWluZ2VzdA","version":{"number":`)
	b = appendJSONString(b, version)
	b = append(b, `,"build_flavor":"default","build_type":"tocsin","build_hash":"tocsin","build_date":"2025-01-01T00:00:00.000Z",`+
		`"build_snapshot":false,"lucene_version":"9.12.0","minimum_wire_compatibility_version":"7.17.0",`+
		`"minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"}`...)
	return b
}

// esLicenseBody is the answer of GET /_license, which Beats' default
// distribution reads before sending: an active basic license.
var esLicenseBody = []byte(`{"license":{"status":"active","uid":"00000000-0000-0000-0000-746f6373696e",` +
	`"type":"basic","issue_date_in_millis":0,"max_nodes":1000,"issued_to":"tocsin","issuer":"tocsin",` +
	`"start_date_in_millis":-1,"mode":"basic"}}`)
