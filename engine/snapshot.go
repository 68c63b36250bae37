package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Snapshot format: one JSON document. Version 1 holds the newest event
// time the shards had seen (for operators; not read back) and, per
// stateful rule,
// its ID and Hash and every open group with its key (group_by values
// joined by NUL), the watermark at its last event, and the state its
// rules.Group encoded. The rule Hash guards against restoring windows
// into a rule whose meaning changed.
const (
	snapshotFormat  = "tocsin-engine-snapshot"
	snapshotVersion = 1
)

type snapshotDoc struct {
	Format    string         `json:"format"`
	Version   int            `json:"version"`
	SavedAt   time.Time      `json:"saved_at"`
	Watermark int64          `json:"watermark"`
	Rules     []snapshotRule `json:"rules"`
}

type snapshotRule struct {
	ID     string          `json:"id"`
	Hash   string          `json:"hash"`
	Groups []snapshotGroup `json:"groups"`
}

type snapshotGroup struct {
	Key   string          `json:"key"`
	Seen  int64           `json:"seen"`
	State json.RawMessage `json:"state"`
}

// Snapshot writes the open windows of every stateful rule to w. It waits
// for queued work first, and holds Handle off while it collects.
//
// Shortcoming: shards encode their groups (JSON, evidence events included)
// while Handle is held off, so a snapshot of a very large state pauses
// ingestion for its duration. Copying the groups under the lock and
// encoding after it would shorten the pause at the cost of a copy.
func (e *Engine) Snapshot(w io.Writer) error {
	doc := snapshotDoc{Format: snapshotFormat, Version: snapshotVersion, SavedAt: e.opts.Now().UTC()}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	set := e.set
	perShard := make([][]snapshotRule, len(e.shards))
	marks := make([]int64, len(e.shards))
	errs := make([]error, len(e.shards))
	err := e.onShards(context.Background(), func(sh *shard) {
		marks[sh.id] = sh.watermark
		perShard[sh.id], errs[sh.id] = sh.snapshot()
	})
	e.mu.Unlock()
	if err = errors.Join(append(errs, err)...); err != nil {
		return fmt.Errorf("cannot snapshot engine: %w", err)
	}
	doc.Watermark = slices.Max(marks)
	for slot, r := range set.rules {
		if r.stateless {
			continue
		}
		sr := snapshotRule{ID: r.r.Spec.ID, Hash: r.r.Hash, Groups: []snapshotGroup{}}
		for _, rules := range perShard {
			sr.Groups = append(sr.Groups, rules[slot].Groups...)
		}
		slices.SortFunc(sr.Groups, func(a, b snapshotGroup) int { return cmpInt64(a.Seen, b.Seen) })
		doc.Rules = append(doc.Rules, sr)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("cannot write snapshot: %w", err)
	}
	return nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// snapshot encodes this shard's groups, per rule slot, oldest first.
func (sh *shard) snapshot() ([]snapshotRule, error) {
	out := make([]snapshotRule, len(sh.states))
	for slot, rs := range sh.states {
		for g := rs.tail; g != nil; g = g.prev {
			state, err := g.st.AppendState(nil)
			if err != nil {
				return nil, fmt.Errorf("rule %q group %q: %w", rs.rule.r.Spec.ID, g.key, err)
			}
			out[slot].Groups = append(out[slot].Groups, snapshotGroup{Key: g.key, Seen: g.seen, State: state})
		}
	}
	return out, nil
}

// Restore loads windows written by Snapshot, normally into a fresh engine
// before the first Handle. Rules missing from the current set, or whose
// Hash changed, are skipped (and logged); a group already open under the
// same key is replaced. The shard count may differ from the snapshot's.
func (e *Engine) Restore(r io.Reader) error {
	var doc snapshotDoc
	dec := json.NewDecoder(bufio.NewReader(r))
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("cannot read snapshot: %w", err)
	}
	if doc.Format != snapshotFormat {
		return fmt.Errorf("cannot restore snapshot: format %q, want %q", doc.Format, snapshotFormat)
	}
	if doc.Version != snapshotVersion {
		return fmt.Errorf("cannot restore snapshot: version %d, this build reads version %d", doc.Version, snapshotVersion)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	byID := map[string]*engRule{}
	for _, r := range e.set.rules {
		byID[r.r.Spec.ID] = r
	}
	type restored struct {
		rule *engRule
		g    *group
	}
	perShard := make([][]restored, len(e.shards))
	for _, sr := range doc.Rules {
		r := byID[sr.ID]
		switch {
		case r == nil:
			e.log.Warn().Str("rule", sr.ID).Int("groups", len(sr.Groups)).Msg("snapshot rule no longer loaded; its windows are dropped")
			continue
		case r.r.Hash != sr.Hash || r.stateless:
			e.log.Warn().Str("rule", sr.ID).Int("groups", len(sr.Groups)).Msg("rule changed since the snapshot; its windows are dropped")
			continue
		}
		for _, sg := range sr.Groups {
			st, err := r.r.Detector.DecodeGroup(sg.State)
			if err != nil {
				return fmt.Errorf("cannot restore snapshot: rule %q group %q: %w", sr.ID, sg.Key, err)
			}
			if n := len(splitKey(sg.Key, len(r.getters), nil)); n != len(r.getters) && len(r.getters) > 0 {
				return fmt.Errorf("cannot restore snapshot: rule %q group %q has %d values, rule groups by %d fields", sr.ID, sg.Key, n, len(r.getters))
			}
			idx := 0
			if !e.inline() {
				idx = int(e.keyHash(sg.Key) % uint64(len(e.shards)))
			}
			perShard[idx] = append(perShard[idx], restored{rule: r, g: &group{key: sg.Key, seen: sg.Seen, st: st}})
		}
	}
	// The saved watermark is not restored: the first events after a restart
	// set it, and groups left idle across a long downtime then expire as
	// they should.
	return e.onShards(context.Background(), func(sh *shard) {
		for _, x := range perShard[sh.id] {
			rs := sh.states[x.rule.slot]
			if old := rs.groups[x.g.key]; old != nil {
				sh.drop(rs, old)
			}
			rs.groups[x.g.key] = x.g
			rs.pushFront(x.g)
			x.rule.groups.Add(1)
		}
	})
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
