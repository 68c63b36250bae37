package engine

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/internal/binenc"
)

// Snapshot format. Snapshot writes version 2, binary; Restore reads it
// and version 1, JSON, which earlier releases wrote (embedded `tocsin
// run` keeps one on disk, the Kafka engine role one per checkpoint), and
// tells them apart by the first byte: '{' is version 1.
//
// Version 2. uvarint and varint are encoding/binary's (varint zig-zag),
// and a string or bytes is a uvarint length followed by that many bytes:
//
//	offset  size  field
//	0       4     magic "TKSN"
//	4       1     version, 2
//	5       ...   body
//
// The body is, in this order:
//
//	varint   saved at, Unix ns (for operators; not read back)
//	varint   watermark: the newest event time the shards had seen, Unix ns
//	         (for operators; not read back)
//	uvarint  number of rules, then per stateful rule, in rule set order:
//	           string   rule ID
//	           string   rules.Rule.Hash
//	           uvarint  number of groups, then per group:
//	                      string   key: the group_by values joined by NUL
//	                      varint   seen: the shard's watermark at the
//	                               group's last event, Unix ns
//	                      bytes    state, as the rule's rules.Group
//	                               AppendState wrote it (versioned itself)
//
// and nothing after: bytes after the last rule are refused. Groups come
// shard by shard, each shard's least recently active first; Restore puts
// them in order of seen. The rule Hash guards against restoring windows
// into a rule whose meaning changed.
//
// Version 1 is one JSON document: {"format":"tocsin-engine-snapshot",
// "version":1,"saved_at":RFC 3339,"watermark":ns,"rules":[{"id","hash",
// "groups":[{"key","seen","state"}]}]}, state being the group's JSON
// state, groups oldest first.
const (
	snapshotMagic   = "TKSN"
	snapshotVersion = 2
	snapshotHeader  = len(snapshotMagic) + 1

	snapshotFormatV1  = "tocsin-engine-snapshot"
	snapshotVersionV1 = 1

	// minGroupLen is the fewest bytes a version 2 group takes (empty key,
	// one-byte seen, one-byte state): counts are checked against it.
	minGroupLen = 4
)

// shardSnapshot is one shard's groups encoded as the groups of version 2,
// per rule slot: rule slot i's groups are buf[ends[i-1]:ends[i]].
type shardSnapshot struct {
	buf       []byte
	ends      []int
	counts    []int
	watermark int64
}

// Snapshot writes the open windows of every stateful rule to w. It waits
// for queued work first, and holds Handle off while the shards encode
// their groups, each into its own buffer (in parallel when sharded);
// writing those to w happens after Handle may go on.
func (e *Engine) Snapshot(w io.Writer) error {
	savedAt := e.opts.Now()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	set := e.set
	snaps := make([]shardSnapshot, len(e.shards))
	errs := make([]error, len(e.shards))
	err := e.onShards(context.Background(), func(sh *shard) {
		snaps[sh.id], errs[sh.id] = sh.snapshot()
	})
	e.mu.Unlock()
	if err = errors.Join(append(errs, err)...); err != nil {
		return fmt.Errorf("cannot snapshot engine: %w", err)
	}
	watermark := snaps[0].watermark
	nrules := 0
	for _, s := range snaps {
		watermark = max(watermark, s.watermark)
	}
	for _, r := range set.rules {
		if !r.stateless {
			nrules++
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var tmp []byte
	tmp = append(tmp, snapshotMagic...)
	tmp = append(tmp, snapshotVersion)
	tmp = binary.AppendVarint(tmp, savedAt.UnixNano())
	tmp = binary.AppendVarint(tmp, watermark)
	tmp = binary.AppendUvarint(tmp, uint64(nrules))
	_, _ = bw.Write(tmp)
	for slot, r := range set.rules {
		if r.stateless {
			continue
		}
		groups := 0
		for i := range snaps {
			groups += snaps[i].counts[slot]
		}
		tmp = binenc.AppendString(tmp[:0], r.r.Spec.ID)
		tmp = binenc.AppendString(tmp, r.r.Hash)
		tmp = binary.AppendUvarint(tmp, uint64(groups))
		_, _ = bw.Write(tmp)
		for i := range snaps {
			s := &snaps[i]
			start := 0
			if slot > 0 {
				start = s.ends[slot-1]
			}
			_, _ = bw.Write(s.buf[start:s.ends[slot]])
		}
	}
	// bufio.Writer keeps the first error; Flush returns it.
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", err)
	}
	return nil
}

// snapshot encodes this shard's groups, per rule slot, least recently
// active first. It allocates only its buffer, sized from the groups
// encoded so far.
func (sh *shard) snapshot() (shardSnapshot, error) {
	s := shardSnapshot{ends: make([]int, len(sh.states)), counts: make([]int, len(sh.states)), watermark: sh.watermark}
	total, done := 0, 0
	for _, rs := range sh.states {
		total += len(rs.groups)
	}
	var b []byte
	for slot, rs := range sh.states {
		for g := rs.tail; g != nil; g = g.prev {
			if cap(b)-len(b) < 4096 {
				b = reserve(b, done, total)
			}
			b = binenc.AppendString(b, g.key)
			b = binary.AppendVarint(b, g.seen)
			// Room for a two-byte length, moved if the state needs fewer
			// or more.
			at := len(b)
			b = append(b, 0, 0)
			var err error
			if b, err = g.st.AppendState(b); err != nil {
				return shardSnapshot{}, fmt.Errorf("rule %q group %q: %w", rs.rule.r.Spec.ID, g.key, err)
			}
			b = binenc.FixLength(b, at, 2)
			done++
			s.counts[slot]++
		}
		s.ends[slot] = len(b)
	}
	s.buf = b
	return s, nil
}

// reserve grows b, which holds done groups out of total, to what the
// rest should need at the same average size (and some more), in one copy.
func reserve(b []byte, done, total int) []byte {
	want := 4 << 10
	if done > 0 {
		want = max(want, len(b)/done*(total-done)*9/8)
	}
	if cap(b)-len(b) >= want {
		return b
	}
	nb := make([]byte, len(b), len(b)+want)
	copy(nb, b)
	return nb
}

// Restore loads windows written by Snapshot (version 2, or version 1 of
// an earlier release), normally into a fresh engine before the first
// Handle. Rules missing from the current set, or whose Hash changed, are
// skipped (and logged); a group already open under the same key is
// replaced; past a rule's share of MaxGroupsPerRule, the least recently
// active groups are dropped and counted as evicted. The shard count may
// differ from the snapshot's.
//
// A snapshot that is malformed, cut short, followed by more bytes, or of
// an unknown version is refused with an error, and the engine is left as
// it was. Restore never panics, whatever r holds, and allocates in
// proportion to the bytes it reads.
func (e *Engine) Restore(r io.Reader) error {
	data, err := readAll(r)
	if err != nil {
		return fmt.Errorf("cannot read snapshot: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	rs := e.newRestorer()
	switch {
	case len(data) == 0:
		err = errors.New("it is empty (0 bytes)")
	case data[0] == '{':
		err = rs.decodeV1(data)
	case bytes.HasPrefix(data, []byte(snapshotMagic)):
		err = rs.decodeV2(data)
	default:
		err = fmt.Errorf("%d bytes starting 0x%x: neither version 2 (magic %q) nor version 1 (JSON): not an engine snapshot",
			len(data), data[:min(len(data), 4)], snapshotMagic)
	}
	if err != nil {
		return fmt.Errorf("cannot restore snapshot: %w", err)
	}
	// The saved watermark is not restored: the first events after a restart
	// set it, and groups left idle across a long downtime then expire as
	// they should.
	return rs.install()
}

// readAll reads r to its end, into one allocation when r tells its size
// (bytes.Reader, bytes.Buffer, os.File, ...).
func readAll(r io.Reader) ([]byte, error) {
	size := -1
	switch s := r.(type) {
	case interface{ Len() int }:
		size = s.Len()
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := s.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() < 1<<40 {
			size = int(fi.Size())
		}
	}
	if size < 0 {
		return io.ReadAll(r)
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return buf[:n], nil
	case err != nil:
		return nil, err
	}
	// r held more than it announced (a file still being written?).
	rest, err := io.ReadAll(r)
	return append(buf, rest...), err
}

// restorer collects the groups of a snapshot for the shards that will
// own them. Nothing is installed until the whole snapshot has decoded.
type restorer struct {
	e        *Engine
	byID     map[string]*engRule
	perShard [][]restored
}

type restored struct {
	rule *engRule
	g    *group
}

func (e *Engine) newRestorer() *restorer {
	rs := &restorer{e: e, byID: make(map[string]*engRule, len(e.set.rules)), perShard: make([][]restored, len(e.shards))}
	for _, r := range e.set.rules {
		rs.byID[r.r.Spec.ID] = r
	}
	return rs
}

// rule returns the current rule to restore id's groups into, or nil
// (logged) when they are dropped.
func (rs *restorer) rule(id, hash string, groups int) *engRule {
	r := rs.byID[id]
	switch {
	case r == nil:
		rs.e.log.Warn().Str("rule", id).Int("groups", groups).Msg("snapshot rule no longer loaded; its windows are dropped")
		return nil
	case r.r.Hash != hash || r.stateless:
		rs.e.log.Warn().Str("rule", id).Int("groups", groups).Msg("rule changed since the snapshot; its windows are dropped")
		return nil
	}
	return r
}

// group decodes one group of rule r. key must not alias the snapshot.
func (rs *restorer) group(r *engRule, key string, seen int64, state []byte) error {
	if n := len(r.getters); n > 1 && strings.Count(key, string(rune(keySep)))+1 != n {
		return fmt.Errorf("group %q has %d values, rule groups by %d fields", key, strings.Count(key, string(rune(keySep)))+1, n)
	}
	st, err := r.r.Detector.DecodeGroup(state)
	if err != nil {
		return fmt.Errorf("group %q: %w", key, err)
	}
	idx := 0
	if !rs.e.inline() {
		idx = int(rs.e.keyHash(key) % uint64(len(rs.e.shards)))
	}
	rs.perShard[idx] = append(rs.perShard[idx], restored{rule: r, g: &group{key: key, seen: seen, st: st}})
	return nil
}

// install hands every shard its groups, least recently active first, so
// that its recency lists (and so expiry and eviction) keep their order.
func (rs *restorer) install() error {
	bySeen := func(a, b restored) int { return cmp.Compare(a.g.seen, b.g.seen) }
	for _, gs := range rs.perShard {
		if !slices.IsSortedFunc(gs, bySeen) {
			slices.SortStableFunc(gs, bySeen)
		}
	}
	e := rs.e
	return e.onShards(context.Background(), func(sh *shard) {
		for _, x := range rs.perShard[sh.id] {
			st := sh.states[x.rule.slot]
			if old := st.groups[x.g.key]; old != nil {
				sh.drop(st, old)
			}
			st.groups[x.g.key] = x.g
			st.pushFront(x.g)
			x.rule.groups.Add(1)
			if len(st.groups) > e.perShardCap {
				sh.drop(st, st.tail)
				e.m.dropped.Inc()
			}
		}
	})
}

// decodeV2 reads a version 2 snapshot.
func (rs *restorer) decodeV2(data []byte) error {
	if len(data) < snapshotHeader {
		return fmt.Errorf("%d bytes, shorter than the %d-byte header", len(data), snapshotHeader)
	}
	if v := data[len(snapshotMagic)]; v != snapshotVersion {
		if v > snapshotVersion {
			return fmt.Errorf("version %d was written by a newer tocsin; this build reads versions 1 and 2: restore with that release, or start without the snapshot", v)
		}
		return fmt.Errorf("unknown version %d (this build reads versions 1 and 2)", v)
	}
	d := binenc.Reader{B: data, Off: snapshotHeader}
	d.Varint("saved at")
	d.Varint("watermark")
	nrules := d.Count("rules", 3)
	for range nrules {
		id := d.String("rule ID")
		hash := d.String("rule hash")
		ngroups := d.Count("groups", minGroupLen)
		if d.Err != nil {
			break
		}
		r := rs.rule(id, hash, ngroups)
		for range ngroups {
			at := d.Off
			key := d.String("group key")
			seen := d.Varint("group seen")
			state := d.Bytes("group state")
			if d.Err != nil {
				break
			}
			if r == nil {
				continue
			}
			if err := rs.group(r, key, seen, state); err != nil {
				return fmt.Errorf("at byte %d: rule %q %w", at, id, err)
			}
		}
	}
	if d.Err == nil && d.Off != len(d.B) {
		d.Fail("end", "%d bytes after the last rule (two snapshots joined, or garbage appended?)", len(d.B)-d.Off)
	}
	return d.Err
}

// snapshotDocV1 is a version 1 snapshot.
type snapshotDocV1 struct {
	Format    string           `json:"format"`
	Version   int              `json:"version"`
	SavedAt   time.Time        `json:"saved_at"`
	Watermark int64            `json:"watermark"`
	Rules     []snapshotRuleV1 `json:"rules"`
}

type snapshotRuleV1 struct {
	ID     string            `json:"id"`
	Hash   string            `json:"hash"`
	Groups []snapshotGroupV1 `json:"groups"`
}

type snapshotGroupV1 struct {
	Key   string          `json:"key"`
	Seen  int64           `json:"seen"`
	State json.RawMessage `json:"state"`
}

// decodeV1 reads a version 1 (JSON) snapshot.
func (rs *restorer) decodeV1(data []byte) error {
	var doc snapshotDocV1
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("version 1 (JSON): %w", err)
	}
	if doc.Format != snapshotFormatV1 {
		return fmt.Errorf("JSON format %q, want %q", doc.Format, snapshotFormatV1)
	}
	if doc.Version != snapshotVersionV1 {
		return fmt.Errorf("JSON version %d; JSON snapshots are version %d (version 2 is binary)", doc.Version, snapshotVersionV1)
	}
	for _, sr := range doc.Rules {
		r := rs.rule(sr.ID, sr.Hash, len(sr.Groups))
		if r == nil {
			continue
		}
		for _, sg := range sr.Groups {
			if err := rs.group(r, sg.Key, sg.Seen, sg.State); err != nil {
				return fmt.Errorf("rule %q %w", sr.ID, err)
			}
		}
	}
	return nil
}

// SaveSnapshot writes a snapshot to path atomically: to a temporary file
// in the same directory, synced, then renamed over path.
func (e *Engine) SaveSnapshot(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot create snapshot file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := e.Snapshot(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot sync snapshot file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot close snapshot file %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot move snapshot into place at %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		// Persist the rename itself; not every file system supports it.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// LoadSnapshot restores from path; a missing file is an empty snapshot.
func (e *Engine) LoadSnapshot(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot open snapshot: %w", err)
	}
	defer f.Close()
	return e.Restore(f)
}
