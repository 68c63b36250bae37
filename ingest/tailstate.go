package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// tailStateVersion is the version of the state file's layout.
const tailStateVersion = 1

// tailEntry is one file's saved position in the state file.
type tailEntry struct {
	// Path is where the file was last seen.
	Path  string `json:"path"`
	Dev   uint64 `json:"dev"`
	Inode uint64 `json:"inode"`
	// Offset is the byte after the last line published and safe.
	Offset int64 `json:"offset"`
	// Birth (unix nanoseconds) names the stream of event IDs with the
	// file's identity.
	Birth int64 `json:"birth"`
	// Fingerprint is the CRC-64 (ECMA, hex) of the file's first
	// FingerprintLen bytes.
	FingerprintLen int    `json:"fingerprint_len"`
	Fingerprint    string `json:"fingerprint"`
	// Saved is when the entry was last written (unix nanoseconds).
	Saved int64 `json:"saved"`
}

func (e tailEntry) key() fileKey { return fileKey{dev: e.Dev, ino: e.Inode} }

func (e tailEntry) fingerprint() uint64 {
	v, _ := strconv.ParseUint(e.Fingerprint, 16, 64)
	return v
}

// entry returns tf's position as the state file keeps it.
func (tf *tailFile) entry() tailEntry {
	return tailEntry{
		Path: tf.path, Dev: tf.key.dev, Inode: tf.key.ino, Offset: tf.offset, Birth: tf.birth,
		FingerprintLen: tf.fpLen, Fingerprint: strconv.FormatUint(tf.fp, 16),
	}
}

type tailState struct {
	Version int         `json:"version"`
	Files   []tailEntry `json:"files"`
}

// readTailState reads the state file; a missing one holds nothing.
func readTailState(path string) ([]tailEntry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read tail state file: %w", err)
	}
	var st tailState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("cannot read tail state file %s: %w", path, err)
	}
	if st.Version != tailStateVersion {
		return nil, fmt.Errorf("cannot read tail state file %s: version %d, want %d", path, st.Version, tailStateVersion)
	}
	return st.Files, nil
}

// writeTailState replaces the state file atomically: the entries go to a
// temporary file beside it, which is synced and renamed over it, and the
// directory is synced so that the rename survives a crash.
func writeTailState(path string, entries []tailEntry) error {
	data, err := json.MarshalIndent(tailState{Version: tailStateVersion, Files: entries}, "", " ")
	if err != nil {
		return fmt.Errorf("cannot encode tail state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cannot write tail state file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write tail state file: %w", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("cannot write tail state file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
