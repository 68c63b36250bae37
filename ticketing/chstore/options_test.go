package chstore

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestParseDSN(t *testing.T) {
	o, err := ParseDSN("clickhouse://user:p%40ss%3Aw@ch1.example:9440,10.0.0.2,[::1]:9001/siem?dial_timeout=2s&secure=true&failure_limit=50")
	require.NoError(t, err)
	require.Equal(t, []string{"ch1.example:9440", "10.0.0.2:9000", "[::1]:9001"}, o.Addr)
	require.Equal(t, "user", o.Username)
	require.Equal(t, "p@ss:w", o.Password)
	require.Equal(t, "siem", o.Database)
	require.Equal(t, 2*time.Second, o.DialTimeout)
	require.Equal(t, 50, o.FailureLimit)
	require.NotNil(t, o.TLS)
	require.False(t, o.TLS.InsecureSkipVerify)

	o, err = ParseDSN("clickhouse://127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, Options{Addr: []string{"127.0.0.1:9000"}}, o)
	o, err = o.withDefaults()
	require.NoError(t, err)
	require.Equal(t, "tocsin", o.Database)
	require.Equal(t, DefaultDialTimeout, o.DialTimeout)
	require.Equal(t, DefaultFailureLimit, o.FailureLimit)

	o, err = ParseDSN("clickhouse://u@h:1/?secure=1&skip_verify=true")
	require.NoError(t, err)
	require.Equal(t, "u", o.Username)
	require.Empty(t, o.Password)
	require.Empty(t, o.Database)
	require.True(t, o.TLS.InsecureSkipVerify)

	o, err = ParseDSN("clickhouse://[::1]/db")
	require.NoError(t, err)
	require.Equal(t, []string{"[::1]:9000"}, o.Addr)

	for dsn, want := range map[string]string{
		"":                                          "want clickhouse://",
		"http://h:8123/db":                          "want clickhouse://",
		"clickhouse://":                             "no host",
		"clickhouse://u:p@/db":                      "no host",
		"clickhouse://h:0":                          "port must be a number from 1 to 65535",
		"clickhouse://h:99999":                      "port must be a number from 1 to 65535",
		"clickhouse://h:abc":                        "port must be a number",
		"clickhouse://h1,,h2":                       "an empty host",
		"clickhouse://h/my-db":                      "use letters, digits and underscores",
		"clickhouse://h/1db":                        "not starting with a digit",
		"clickhouse://h/a/b":                        "use letters, digits and underscores",
		"clickhouse://h?dial_timeout=soon":          "dial_timeout=\"soon\"",
		"clickhouse://h?dial_timeout=-1s":           "want a positive duration",
		"clickhouse://h?secure=maybe":               "secure=\"maybe\"",
		"clickhouse://h?compress=lz4":               "unknown parameter \"compress\"",
		"clickhouse://h?skip_verify=true":           "skip_verify needs secure=true",
		"clickhouse://h?failure_limit=-5":           "failure_limit",
		"clickhouse://u:%zz@h":                      "password is not percent-encoded",
		"clickhouse://h?a=%zz":                      "cannot read the parameters",
		"clickhouse://ho st:9000":                   "the host holds ' '",
		"clickhouse://h\x00:9000":                   "the host holds",
		"clickhouse://h/" + strings.Repeat("a", 65): "want 1 to 64 characters",
	} {
		_, err := ParseDSN(dsn)
		require.ErrorContains(t, err, "bad ClickHouse DSN", dsn)
		require.ErrorContains(t, err, want, dsn)
	}
}

// FuzzParseDSN checks that ParseDSN never panics and that whatever it
// accepts is usable: valid addresses, a safe database name, and Options
// that pass Open's checks.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"clickhouse://user:pass@host:9000/db?dial_timeout=5s&secure=true",
		"clickhouse://127.0.0.1",
		"clickhouse://a:1,b:2,[::1]:3/x?skip_verify=1&secure=1&failure_limit=9",
		"clickhouse://u:%41@h/d?dial_timeout=1ms",
		"clickhouse://@/",
		"clickhouse://h?x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		o, err := ParseDSN(dsn)
		if err != nil {
			require.True(t, utf8.ValidString(err.Error()) || !utf8.ValidString(dsn))
			return
		}
		require.NotEmpty(t, o.Addr)
		for _, a := range o.Addr {
			require.NoError(t, checkAddr(a))
		}
		if o.Database != "" {
			require.NoError(t, checkDatabase(o.Database))
			require.NotContains(t, o.Database, "`")
		}
		o, err = o.withDefaults()
		require.NoError(t, err)
		require.Positive(t, o.DialTimeout)
		require.Positive(t, o.FailureLimit)
	})
}
