package rules

import (
	"errors"
	"time"
)

// matchKind fires once per matching event; it keeps no state and has no
// keys of its own.
type matchKind struct{}

func (matchKind) Name() string { return "match" }

func (matchKind) Placeholders() map[string]string { return map[string]string{} }

func (matchKind) Compile(*KindContext) Detector { return matchDetector{} }

type matchDetector struct{}

func (matchDetector) Extra() []*Condition     { return nil }
func (matchDetector) NewGroup() Group         { return nil }
func (matchDetector) Horizon() time.Duration  { return 0 }
func (matchDetector) Vars() map[string]string { return map[string]string{} }
func (matchDetector) DefaultReason() string   { return "{title}: {message}" }
func (matchDetector) DecodeGroup([]byte) (Group, error) {
	return nil, errors.New("match rules keep no state")
}
