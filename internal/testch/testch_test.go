package testch

import (
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestDatabaseIsFreshAndUnique(t *testing.T) {
	a := Database(t)
	b := Database(t)
	require.NotEqual(t, a, b)
	require.Regexp(t, regexp.MustCompile(`^t_testdatabaseisfreshandunique_[0-9a-f]{8}$`), a)
	conn := Conn(t)
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT count() FROM system.databases WHERE name IN (?, ?)", a, b).Scan(&n))
	require.Equal(t, uint64(2), n)
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT count() FROM system.tables WHERE database = ?", a).Scan(&n))
	require.Zero(t, n, "a new database is empty")
}

func TestEnvironmentWins(t *testing.T) {
	t.Setenv(EnvAddr, " 127.0.0.1:1 ")
	require.Equal(t, "127.0.0.1:1", Addr(t))
}

func TestLastLine(t *testing.T) {
	require.Equal(t, "three", lastLine("one\ntwo\nthree\n"))
	require.Equal(t, "only", lastLine("only"))
}
