package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	te.feed(t, burst("203.0.113.7", 12, 0, 3*time.Second)...)
	a := te.out.all()
	require.Len(t, a, 1)
	t.Logf("%+v", a[0].Reason)
}
