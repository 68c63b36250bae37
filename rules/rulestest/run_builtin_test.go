package rulestest

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuiltinRulesPassTheirTests(t *testing.T) {
	var out bytes.Buffer
	rep, err := Run(context.Background(), nil, &out, Options{Builtin: true})
	require.NoError(t, err)
	t.Log("\n" + out.String())
	require.Zero(t, rep.Failed, out.String())
	require.Equal(t, 57, rep.Passed)
}
