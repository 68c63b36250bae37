//go:build race

package engine

// raceEnabled: the race detector makes sync.Pool drop items at random,
// so allocation counts are not meaningful under it.
const raceEnabled = true
