package truth

import (
	"fmt"
	"strings"
)

// Classifier maps rule IDs to the kind of attack they detect.
type Classifier struct {
	overrides map[string]Kind
}

// builtinRules maps the IDs of tocsin's built-in rules to their kinds.
var builtinRules = map[string]Kind{
	"ssh-brute-force-fast":         KindSSHBruteForceFast,
	"ssh-brute-force-slow":         KindSSHBruteForceSlow,
	"ssh-password-spray":           KindPasswordSpraying,
	"ssh-brute-force-then-success": KindSSHBruteForceSuccess,
	"sudo-repeated-failures":       KindSudoFailures,
}

// NewClassifier returns a classifier that consults overrides first, then
// the built-in rule IDs, and otherwise guesses from words in the rule ID
// (see Kind). overrides may be nil.
func NewClassifier(overrides map[string]Kind) *Classifier {
	return &Classifier{overrides: overrides}
}

// Kind returns the kind a rule detects. For an ID that is neither
// overridden nor built in it goes by words in the ID, in this order: "spray" is password spraying; "sudo" is
// sudo failures; "success", "followed", "accepted" or "compromise" is brute
// force followed by success; "slow" is the slow brute force; "brute" or
// "bf" is the fast brute force. Any other ID is unmapped.
//
// Guessing keeps the checker usable on custom rule sets (--rules DIR);
// an exact mapping for those belongs in --kind flags.
func (c *Classifier) Kind(ruleID string) (Kind, bool) {
	if k, ok := c.overrides[ruleID]; ok {
		return k, true
	}
	if k, ok := builtinRules[ruleID]; ok {
		return k, true
	}
	id := strings.ToLower(ruleID)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(id, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("spray"):
		return KindPasswordSpraying, true
	case has("sudo"):
		return KindSudoFailures, true
	case has("success", "followed", "accepted", "compromise"):
		return KindSSHBruteForceSuccess, true
	case has("slow"):
		return KindSSHBruteForceSlow, true
	case has("brute", "bf"):
		return KindSSHBruteForceFast, true
	}
	return "", false
}

// ParseKindMap reads "rule-id=kind" pairs separated by commas, as given to
// checktruth's --kind flag.
func ParseKindMap(s string) (map[string]Kind, error) {
	m := map[string]Kind{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		id, kind, ok := strings.Cut(pair, "=")
		if !ok || id == "" {
			return nil, fmt.Errorf("cannot parse kind mapping %q: want rule-id=kind", pair)
		}
		k, err := ParseKind(kind)
		if err != nil {
			return nil, fmt.Errorf("cannot parse kind mapping %q: %w", pair, err)
		}
		m[id] = k
	}
	return m, nil
}
