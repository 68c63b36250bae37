package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bench/internal/truth"
)

func TestWritesLogAndTruth(t *testing.T) {
	dir := t.TempDir()
	logPath, truthPath := filepath.Join(dir, "auth.log"), filepath.Join(dir, "truth.json")
	var out, errb bytes.Buffer
	code := run([]string{"-lines", "20000", "-seed", "4", "-attackers", "1", "-duration", "6h",
		"-format", "rfc3164", "-o", logPath, "-truth", truthPath}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.Empty(t, out.String())
	b, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.Equal(t, 20000, bytes.Count(b, []byte("\n")))
	require.True(t, bytes.HasPrefix(b, []byte("<")))
	tf, err := truth.Load(truthPath)
	require.NoError(t, err)
	require.Len(t, tf.Attackers, len(truth.Kinds))
	require.Equal(t, "rfc3164", tf.Format)
	require.Equal(t, uint64(4), tf.Seed)
	for _, a := range tf.Attackers {
		subject := a.SourceIP
		if !a.Kind.BySource() {
			subject = a.User
		}
		require.True(t, bytes.Contains(b, []byte(subject)), "%s %s not in log", a.Kind, subject)
	}
}

func TestStdoutAndNoAttackers(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-lines", "3000", "-attackers", "0", "-duration", "2h"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.Equal(t, 3000, strings.Count(out.String(), "\n"))
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-format", "xml"},
		{"-start", "yesterday"},
		{"extra"},
		{"-nope"},
	} {
		var out, errb bytes.Buffer
		require.Equal(t, 2, run(args, &out, &errb), args)
		require.NotEmpty(t, errb.String())
	}
	var out, errb bytes.Buffer
	require.Equal(t, 1, run([]string{"-duration", "1h"}, &out, &errb))
	require.Contains(t, errb.String(), "duration must be at least 2h")
}
