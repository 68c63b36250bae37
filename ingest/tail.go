package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// KindTail marks lines read by the file tailer.
const KindTail Kind = "tail"

// Tailer defaults.
const (
	DefaultTailPollInterval     = 250 * time.Millisecond
	DefaultTailPartialLineDelay = 5 * time.Second
	DefaultTailMaxFiles         = 1024
	// DefaultTailSyncTimeout bounds the wait for a round's lines to be
	// safe; past it they are read again in the next round.
	DefaultTailSyncTimeout = 30 * time.Second
)

const (
	// tailChunk is how much of a file one read takes.
	tailChunk = 64 << 10
	// tailRoundBytes is how much of one file a poll round reads before
	// the round commits; the next round then starts at once.
	tailRoundBytes = 4 << 20
	// fingerprintLen is how many leading bytes of a file identify it
	// beside its device and inode, to tell a new file that reuses an
	// inode (or a file truncated and written again) from the old one.
	fingerprintLen = 1024
	// rememberClosed bounds the positions kept for files no longer
	// followed, in case they appear again under a pattern.
	rememberClosed = 256
	// dirScanMax bounds the entries read from a directory when looking
	// for a file that was rotated while tocsin was down.
	dirScanMax = 10000
)

// compressedSuffixes are file name endings the tailer skips: rotated and
// compressed logs that a broad pattern would otherwise read as text.
var compressedSuffixes = []string{".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".br"}

// TailOptions configures a Tailer. The zero value of each field takes its
// default.
type TailOptions struct {
	// Paths are files or glob patterns (filepath.Match syntax) to follow.
	// Patterns are expanded again on every poll, so that files that
	// appear later are followed too. Files ending in .gz, .bz2, .xz,
	// .zst, .zip, .lz4 or .br are skipped.
	Paths []string
	// StateFile keeps each file's position across restarts; empty keeps
	// positions in memory only.
	StateFile string
	// FromStart reads the files found at start that the state file does
	// not know from their beginning; by default they are read from their
	// end (the start of their last line). Files that appear later, and
	// files that replace a rotated one, are always read from their start.
	FromStart bool
	// PollInterval is how often files are checked for new data (default
	// 250ms).
	PollInterval time.Duration
	// MaxLineSize is the longest line kept whole (default 1 MiB); a
	// longer one is cut and kept as a "too_long" failure.
	MaxLineSize int
	// PartialLineDelay is how long a last line without its newline is
	// held for the rest to come before it is taken as it is (default 5s).
	// A file renamed away is closed once it has been quiet this long.
	PartialLineDelay time.Duration
	// MaxFiles bounds the files followed at once (default 1024).
	MaxFiles int
	// SyncTimeout bounds the wait for a round's lines to be safe (default
	// 30s); past it they are read again.
	SyncTimeout time.Duration
	// Location is the zone of timestamps without one; nil takes the
	// pipeline's.
	Location *time.Location
	// Format is the one format of the records (see parse.Formats); empty
	// detects it per record.
	Format string
	// Admit, when set, is asked before each poll; while it returns an
	// error nothing is read. Ingest uses it to stop reading while its
	// buffer in front of Kafka is full.
	Admit func() error
}

func (o TailOptions) withDefaults() (TailOptions, error) {
	var errs []error
	if len(o.Paths) == 0 {
		errs = append(errs, errors.New("no paths to follow"))
	}
	for _, p := range o.Paths {
		if p == "" {
			errs = append(errs, errors.New("a path is empty"))
		} else if _, err := filepath.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("path %q is not a valid pattern: %w", p, err))
		}
	}
	if o.PollInterval < 0 || o.PartialLineDelay < 0 || o.SyncTimeout < 0 {
		errs = append(errs, errors.New("intervals must not be negative"))
	}
	if o.MaxLineSize < 0 {
		errs = append(errs, fmt.Errorf("max line size %d is negative", o.MaxLineSize))
	}
	if o.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("max files %d is negative", o.MaxFiles))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("cannot configure file tailing: %w", err)
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultTailPollInterval
	}
	if o.MaxLineSize == 0 {
		o.MaxLineSize = DefaultMaxLineSize
	}
	if o.PartialLineDelay == 0 {
		o.PartialLineDelay = DefaultTailPartialLineDelay
	}
	if o.MaxFiles == 0 {
		o.MaxFiles = DefaultTailMaxFiles
	}
	if o.SyncTimeout == 0 {
		o.SyncTimeout = DefaultTailSyncTimeout
	}
	return o, nil
}

// fileKey identifies a file on its device.
type fileKey struct{ dev, ino uint64 }

func (k fileKey) String() string {
	return strconv.FormatUint(k.dev, 10) + ":" + strconv.FormatUint(k.ino, 10)
}

// tailFile is one followed file. Bytes before offset are published and
// safe (and saved in the state file at the next write); bytes from
// offset to lineStart were handed to the Batcher this round; bytes from
// lineStart to read are the line being assembled.
type tailFile struct {
	key    fileKey
	path   string
	f      *os.File
	b      *Batcher
	birth  int64 // names the stream of event IDs with key
	offset int64
	// lineStart is where the line being assembled starts; read is the
	// next byte to read. line holds the line's bytes, at most
	// MaxLineSize+1 of them; the line is read-lineStart bytes long.
	lineStart, read int64
	line            []byte
	lineSince       time.Time // when the unfinished line last grew
	fpLen           int
	fp              uint64
	// gone is set once the file is no longer at any followed path
	// (renamed or deleted); it is read until quiet, then closed.
	gone       bool
	quietSince time.Time // when the file was last found with nothing new
	closing    bool      // close after the next commit
}

// streamName is the name event IDs hash: the file's identity and when
// tocsin first saw it (or saw it truncated), so that a line keeps its ID
// across restarts and a file that reuses an inode gets new IDs.
func (tf *tailFile) streamName() string {
	return "tail:" + tf.key.String() + "@" + strconv.FormatInt(tf.birth, 10)
}

// Tailer follows log files as they grow, across rotation by rename and
// by copytruncate, and remembers each file's position in a state file
// written after the lines up to it are safe. See the package
// documentation.
type Tailer struct {
	p      *Pipeline
	opts   TailOptions
	logger zerolog.Logger
	tm     *tailMetrics
	// admitErrs, pubErrs, openErrs and stateErrs limit repeated logs.
	admitErrs, pubErrs, openErrs, stateErrs errorLimiter

	files map[fileKey]*tailFile
	// order holds the followed files in the order they were found, so
	// that a rotated file is finished before its successor is read.
	order []*tailFile
	// known are positions of files not followed now: from the state file
	// until the first poll, then of files closed since.
	known     map[fileKey]tailEntry
	knownPath map[string]bool // paths the state file had at start
	polled    bool            // the first poll is done
	dirty     bool            // the state file is behind
	handed    bool            // lines were handed on this round
	buf       []byte

	mu      sync.Mutex
	cancel  context.CancelFunc
	stop    chan struct{}
	stopped chan struct{}
}

// NewTailer checks opts and reads the state file. A state file that
// cannot be read is moved aside (to its name + ".unreadable") and logged:
// its files are then treated as never seen.
func NewTailer(p *Pipeline, opts TailOptions) (*Tailer, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	tm, err := p.tailMetrics()
	if err != nil {
		return nil, err
	}
	p.metrics.forKind(KindTail) // the source's series exist from the start
	t := &Tailer{
		p:         p,
		opts:      o,
		logger:    p.logger.With().Str("source", string(KindTail)).Logger(),
		tm:        tm,
		files:     map[fileKey]*tailFile{},
		known:     map[fileKey]tailEntry{},
		knownPath: map[string]bool{},
		buf:       make([]byte, tailChunk),
	}
	if o.StateFile != "" {
		entries, err := readTailState(o.StateFile)
		if err != nil {
			aside := o.StateFile + ".unreadable"
			_ = os.Rename(o.StateFile, aside)
			t.logger.Error().Err(err).Str("path", o.StateFile).Str("moved_to", aside).
				Msg("cannot read the tail state file; following files as if never seen")
		}
		for _, e := range entries {
			t.known[e.key()] = e
			t.knownPath[e.Path] = true
		}
	}
	return t, nil
}

// Start polls once, so that the files found now are opened before Start
// returns, then polls in the background every PollInterval until Stop.
func (t *Tailer) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop != nil {
		return errors.New("cannot start file tailing: already started")
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	t.cancel, t.stop, t.stopped = cancel, make(chan struct{}), make(chan struct{})
	more := t.poll(runCtx, time.Now(), false)
	t.logger.Info().Strs("paths", t.opts.Paths).Int("files", len(t.files)).
		Str("state_file", t.opts.StateFile).Msg("following files")
	go t.run(runCtx, more)
	return nil
}

func (t *Tailer) run(ctx context.Context, more bool) {
	defer close(t.stopped)
	timer := time.NewTimer(t.opts.PollInterval)
	defer timer.Stop()
	for {
		if more {
			timer.Reset(0)
		} else {
			timer.Reset(t.opts.PollInterval)
		}
		select {
		case <-t.stop:
			// A last round takes what was written; an unfinished last
			// line stays unread, to be read whole after the restart.
			t.poll(ctx, time.Now(), true)
			t.closeAll()
			return
		case now := <-timer.C:
			more = t.poll(ctx, now, false)
		}
	}
}

// Stop makes a last round (up to 4 MiB of each file), publishes what it
// read, saves the positions and closes the files. If ctx ends first, what is being published is
// abandoned (it is read again after a restart) and Stop returns ctx's
// error.
func (t *Tailer) Stop(ctx context.Context) error {
	t.mu.Lock()
	if t.stop == nil {
		t.mu.Unlock()
		return nil
	}
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	t.mu.Unlock()
	select {
	case <-t.stopped:
		t.cancel()
		return nil
	case <-ctx.Done():
		t.cancel()
		<-t.stopped
		return fmt.Errorf("cannot finish file tailing: %w", ctx.Err())
	}
}

// poll runs one round: find the files, read what is new, publish it, and
// once it is safe save the positions. final skips the partial-line delay
// bookkeeping of the last round. It reports whether a file has more to
// read at once.
func (t *Tailer) poll(ctx context.Context, now time.Time, final bool) bool {
	if t.opts.Admit != nil {
		if err := t.opts.Admit(); err != nil {
			if n, ok := t.admitErrs.allow(now); ok {
				t.logger.Error().Err(err).Int("count", n).Msg("not reading files: tocsin cannot take more input now")
			}
			return false
		}
	}
	t.scan(now)
	more := false
	for _, tf := range t.order {
		if t.readFile(ctx, tf, now, final) {
			more = true
		}
	}
	t.commit(ctx, now)
	t.tm.files.Set(float64(len(t.files)))
	return more
}

// scan expands the patterns, follows files not seen before and marks the
// followed files that no pattern finds any more as gone.
func (t *Tailer) scan(now time.Time) {
	seen := map[fileKey]bool{}
	taken := map[string]fileKey{}
	for _, path := range t.expand() {
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		key := keyOf(path, st)
		if seen[key] {
			continue // a second name (a link) of a file already found
		}
		seen[key] = true
		taken[path] = key
		if tf := t.files[key]; tf != nil {
			if tf.path != path {
				t.logger.Info().Str("path", path).Str("was", tf.path).Msg("followed file renamed within the patterns")
				tf.path = path
			}
			tf.gone = false
			continue
		}
		t.follow(path, key, now)
	}
	if !t.polled {
		t.findMoved(seen)
		t.polled = true
	}
	for key, tf := range t.files {
		if seen[key] || tf.gone {
			continue
		}
		tf.gone, tf.quietSince = true, now
		if _, replaced := taken[tf.path]; replaced {
			t.tm.rotations[rotatedRename].Inc()
			t.logger.Info().Str("path", tf.path).Msg("file rotated: finishing the old file, then reading the new one from its start")
		} else {
			t.logger.Info().Str("path", tf.path).Msg("followed file renamed away or deleted: finishing it")
		}
	}
}

// expand returns the paths the patterns match now, sorted.
func (t *Tailer) expand() []string {
	var out []string
	for _, pat := range t.opts.Paths {
		matches, err := filepath.Glob(pat)
		if err != nil {
			continue // checked in withDefaults
		}
		for _, m := range matches {
			if !hasCompressedSuffix(m) {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func hasCompressedSuffix(p string) bool {
	for _, s := range compressedSuffixes {
		if strings.HasSuffix(p, s) {
			return true
		}
	}
	return false
}

// follow opens a file not followed yet and decides where to start: at
// its saved position when the state knows it, at the end (or start)
// when it was there at the first poll and nothing is known of its path,
// else (a file that appeared later, or replaced a rotated one) at 0.
func (t *Tailer) follow(path string, key fileKey, now time.Time) {
	if len(t.files) >= t.opts.MaxFiles {
		if n, ok := t.openErrs.allow(now); ok {
			t.logger.Warn().Str("path", path).Int("max_files", t.opts.MaxFiles).Int("count", n).
				Msg("not following file: max files reached; narrow the patterns or raise the limit")
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		if n, ok := t.openErrs.allow(now); ok {
			t.logger.Error().Err(err).Int("count", n).Msg("cannot open file to follow")
		}
		return
	}
	tf := &tailFile{key: key, path: path, f: f, birth: now.UnixNano(), quietSince: now}
	size := fileSize(f)
	if e, ok := t.known[key]; ok && t.matches(tf, e) {
		delete(t.known, key)
		tf.birth, tf.offset, tf.fpLen, tf.fp = e.Birth, e.Offset, e.FingerprintLen, e.fingerprint()
		if size < tf.offset {
			t.logger.Warn().Str("path", path).Int64("saved_offset", tf.offset).Int64("size", size).
				Msg("file shorter than its saved position: it was truncated; reading it from its start")
			tf.offset, tf.birth = 0, now.UnixNano()
		}
	} else if !t.polled && !t.knownPath[path] && !t.opts.FromStart {
		tf.offset = lastLineStart(f, size, t.opts.MaxLineSize)
	}
	tf.lineStart, tf.read = tf.offset, tf.offset
	t.fingerprint(tf)
	tf.b = t.p.NewBatcher(Source{Kind: KindTail, Name: tf.streamName(), Location: t.opts.Location, Format: t.opts.Format})
	t.files[key] = tf
	t.order = append(t.order, tf)
	t.dirty = true
	t.logger.Info().Str("path", path).Int64("offset", tf.offset).Int64("size", size).Msg("following file")
}

// headChanged reports whether the first bytes of tf are no longer those
// its fingerprint was taken from.
func (t *Tailer) headChanged(tf *tailFile) bool {
	if tf.fpLen == 0 {
		return false
	}
	sum, n := t.hashHead(tf.f, tf.fpLen)
	return n != tf.fpLen || sum != tf.fp
}

// matches reports whether the saved entry e describes the file tf: the
// file's first bytes still hash to the saved fingerprint.
func (t *Tailer) matches(tf *tailFile, e tailEntry) bool {
	if e.FingerprintLen == 0 {
		return true
	}
	sum, n := t.hashHead(tf.f, e.FingerprintLen)
	return n == e.FingerprintLen && sum == e.fingerprint()
}

// findMoved looks, at the first poll, for the files of the state file
// that no pattern found: rotated while tocsin was down, they sit beside
// their old path under another name. Each one found is finished from its
// saved position, so that the lines written before the rotation are not
// lost.
func (t *Tailer) findMoved(seen map[fileKey]bool) {
	byDir := map[string][]tailEntry{}
	for key, e := range t.known {
		if !seen[key] {
			byDir[filepath.Dir(e.Path)] = append(byDir[filepath.Dir(e.Path)], e)
		}
	}
	for dir, entries := range byDir {
		d, err := os.Open(dir)
		if err != nil {
			continue
		}
		names, _ := d.Readdirnames(dirScanMax)
		_ = d.Close()
		for _, name := range names {
			path := filepath.Join(dir, name)
			st, err := os.Stat(path)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			key := keyOf(path, st)
			if seen[key] || !slices.ContainsFunc(entries, func(e tailEntry) bool { return e.key() == key }) {
				continue
			}
			before := len(t.files)
			t.follow(path, key, time.Now())
			if tf := t.files[key]; tf != nil && len(t.files) > before {
				tf.gone = true
				t.logger.Info().Str("path", path).Msg("file rotated while tocsin was down: finishing it from its saved position")
			}
		}
	}
}

// fingerprint brings the file's fingerprint up to fingerprintLen bytes
// as it grows.
func (t *Tailer) fingerprint(tf *tailFile) {
	if tf.fpLen >= fingerprintLen {
		return
	}
	if sum, n := t.hashHead(tf.f, fingerprintLen); n > tf.fpLen {
		tf.fp, tf.fpLen = sum, n
		t.dirty = true
	}
}

// hashHead returns the CRC-64 of the first n bytes of f (fewer when f is
// shorter) and how many bytes it covers.
func (t *Tailer) hashHead(f *os.File, n int) (uint64, int) {
	head := t.buf[:min(n, len(t.buf))]
	got, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, 0
	}
	return crc64.Checksum(head[:got], crcTable), got
}

// readFile reads what is new in tf, hands its complete lines to tf's
// Batcher and reports whether more is left for the next round.
func (t *Tailer) readFile(ctx context.Context, tf *tailFile, now time.Time, final bool) bool {
	size := fileSize(tf.f)
	if size < tf.read || t.headChanged(tf) {
		t.truncated(ctx, tf, now, size)
	}
	t.fingerprint(tf)
	sender := "file:" + tf.path
	budget := int64(tailRoundBytes)
	for tf.read < size && budget > 0 {
		want := min(int64(len(t.buf)), size-tf.read, budget)
		n, err := tf.f.ReadAt(t.buf[:want], tf.read)
		if n > 0 {
			t.lines(ctx, tf, t.buf[:n], now, sender)
			budget -= int64(n)
			tf.quietSince = now
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if c, ok := t.openErrs.allow(now); ok {
				t.logger.Error().Err(err).Str("path", tf.path).Int("count", c).Msg("cannot read followed file")
			}
			return false
		}
		if n == 0 {
			break
		}
	}
	if tf.read < size {
		return true
	}
	if final {
		return false
	}
	// At the end of the file: a held last line goes out once it has
	// waited long enough; a file renamed away is closed once quiet.
	if tf.read > tf.lineStart && now.Sub(tf.lineSince) >= t.opts.PartialLineDelay {
		t.emit(ctx, tf, now, sender)
	}
	if tf.gone && now.Sub(tf.quietSince) >= t.opts.PartialLineDelay {
		if tf.read > tf.lineStart {
			t.emit(ctx, tf, now, sender)
		}
		tf.closing = true
	}
	return false
}

// truncated restarts a file that shrank or whose first bytes changed
// (copytruncate): a held line goes out as it is, then the file is read
// again from 0 under a new stream name, so that its new lines do not
// take the IDs of the old ones.
func (t *Tailer) truncated(ctx context.Context, tf *tailFile, now time.Time, size int64) {
	t.tm.rotations[rotatedTruncate].Inc()
	t.logger.Info().Str("path", tf.path).Int64("size", size).Int64("was_at", tf.read).
		Msg("file truncated (copytruncate): reading it again from its start")
	if tf.read > tf.lineStart {
		t.emit(ctx, tf, now, "file:"+tf.path)
	}
	// Lines handed on before the truncation are committed with the next
	// round under the old name; the new content starts a new stream.
	tf.birth = now.UnixNano()
	tf.b.rename(tf.streamName())
	tf.offset, tf.lineStart, tf.read = 0, 0, 0
	tf.line, tf.fpLen, tf.fp = tf.line[:0], 0, 0
	tf.quietSince = now
	t.dirty = true
}

// lines splits chunk, the bytes of tf at tf.read, into lines.
func (t *Tailer) lines(ctx context.Context, tf *tailFile, chunk []byte, now time.Time, sender string) {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			t.hold(tf, chunk, now)
			tf.read += int64(len(chunk))
			return
		}
		part := chunk[:i]
		if tf.read > tf.lineStart {
			// The line began in an earlier chunk.
			t.hold(tf, part, now)
			part = tf.line
		}
		tf.read += int64(i + 1)
		t.hand(ctx, tf, part, tf.read-tf.lineStart-1, sender, now)
		tf.lineStart = tf.read
		tf.line = tf.line[:0]
		chunk = chunk[i+1:]
	}
}

// hold keeps the start of an unfinished line, up to one byte past the
// limit (enough to know it is too long).
func (t *Tailer) hold(tf *tailFile, part []byte, now time.Time) {
	if room := t.opts.MaxLineSize + 1 - len(tf.line); room > 0 {
		tf.line = append(tf.line, part[:min(len(part), room)]...)
	}
	tf.lineSince = now
}

// hand gives one line (without its LF) of total length n to the Batcher.
func (t *Tailer) hand(ctx context.Context, tf *tailFile, line []byte, n int64, sender string, now time.Time) {
	tf.b.SetSeq(uint64(tf.lineStart))
	t.handed = true
	var err error
	if n > int64(t.opts.MaxLineSize) {
		err = tf.b.Reject(ctx, line[:t.opts.MaxLineSize], now, sender, ReasonTooLong,
			"line of "+strconv.FormatInt(n, 10)+" bytes, longer than "+strconv.Itoa(t.opts.MaxLineSize)+" bytes")
	} else {
		if k := len(line); k > 0 && line[k-1] == '\r' {
			line = line[:k-1]
		}
		err = tf.b.Line(ctx, line, now, sender)
	}
	t.report(err, now)
}

// emit hands on the held last line, without waiting longer for its LF.
func (t *Tailer) emit(ctx context.Context, tf *tailFile, now time.Time, sender string) {
	t.hand(ctx, tf, tf.line, tf.read-tf.lineStart, sender, now)
	tf.lineStart = tf.read
	tf.line = tf.line[:0]
}

// commit publishes what the round handed on and, once it is safe, moves
// each file's saved position up to it and writes the state file. When
// publishing fails, each file goes back to its saved position, to be
// read again (with the same event IDs) in the next round.
func (t *Tailer) commit(ctx context.Context, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, t.opts.SyncTimeout)
	defer cancel()
	var errs []error
	for _, tf := range t.order {
		if err := tf.b.Flush(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && t.handed {
		errs = append(errs, syncPublishers(ctx, t.p.events, t.p.failures))
	}
	t.handed = false
	if err := errors.Join(errs...); err != nil {
		t.report(err, now)
		for _, tf := range t.order {
			tf.lineStart, tf.read, tf.line, tf.closing = tf.offset, tf.offset, tf.line[:0], false
		}
		return
	}
	var lag int64
	for _, tf := range slices.Clone(t.order) {
		if tf.offset != tf.lineStart {
			tf.offset = tf.lineStart
			t.dirty = true
		}
		if tf.closing {
			t.unfollow(tf)
			continue
		}
		lag += max(0, fileSize(tf.f)-tf.offset)
	}
	t.tm.lag.Set(float64(lag))
	if t.dirty {
		t.saveState(now)
	}
}

// unfollow stops following tf and remembers its position.
func (t *Tailer) unfollow(tf *tailFile) {
	key := tf.key
	_ = tf.b.Close(context.Background())
	_ = tf.f.Close()
	delete(t.files, key)
	t.order = slices.DeleteFunc(t.order, func(o *tailFile) bool { return o == tf })
	e := tf.entry()
	e.Saved = time.Now().UnixNano()
	t.known[key] = e
	t.trimKnown()
	t.dirty = true
	t.logger.Info().Str("path", tf.path).Int64("offset", tf.offset).Msg("finished rotated file")
}

// trimKnown forgets the positions saved longest ago beyond
// rememberClosed: of files closed, or of the state file's files that
// have not been found again.
func (t *Tailer) trimKnown() {
	for len(t.known) > rememberClosed {
		var oldest fileKey
		first := true
		for k, e := range t.known {
			if first || e.Saved < t.known[oldest].Saved {
				oldest, first = k, false
			}
		}
		delete(t.known, oldest)
	}
}

// closeAll closes every file at the end; their positions are saved.
func (t *Tailer) closeAll() {
	for _, tf := range t.files {
		_ = tf.b.Close(context.Background())
		_ = tf.f.Close()
	}
}

// report logs a publish error, at most once per errorLogEvery.
func (t *Tailer) report(err error, now time.Time) {
	if err == nil {
		return
	}
	if n, ok := t.pubErrs.allow(now); ok {
		t.logger.Error().Err(err).Int("count", n).Msg("cannot publish file lines; reading them again")
	}
}

// saveState writes the positions of the followed and remembered files.
func (t *Tailer) saveState(now time.Time) {
	if t.opts.StateFile == "" {
		t.dirty = false
		return
	}
	t.trimKnown()
	entries := make([]tailEntry, 0, len(t.files)+len(t.known))
	for _, tf := range t.files {
		e := tf.entry()
		e.Saved = now.UnixNano()
		entries = append(entries, e)
	}
	for _, e := range t.known {
		entries = append(entries, e)
	}
	if err := writeTailState(t.opts.StateFile, entries); err != nil {
		t.tm.stateErrors.Inc()
		if n, ok := t.stateErrs.allow(now); ok {
			t.logger.Error().Err(err).Int("count", n).
				Msg("cannot save file positions; a restart now would read some lines again")
		}
		return
	}
	t.tm.stateWrites.Inc()
	t.dirty = false
}

// fileSize returns the size of an open file, or 0.
func fileSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// lastLineStart returns where the last line of a file of size bytes
// starts: just past its last LF found within the last maxLine+1 bytes,
// 0 when the file is one unfinished line, else size.
func lastLineStart(f *os.File, size int64, maxLine int) int64 {
	buf := make([]byte, tailChunk)
	limit := max(0, size-int64(maxLine)-1)
	for end := size; end > limit; {
		start := max(limit, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return size
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1
		}
		end = start
	}
	if size <= int64(maxLine) {
		return 0 // one unfinished line: wait for the rest of it
	}
	return size
}
