package textdist

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"action", "action", 0}, {"actoin", "action", 1}, {"adress", "address", 1},
		{"nmae", "name", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
	} {
		require.Equal(t, c.want, Distance(c.a, c.b), "%q %q", c.a, c.b)
		require.Equal(t, c.want, Distance(c.b, c.a), "symmetric: %q %q", c.b, c.a)
	}
}
