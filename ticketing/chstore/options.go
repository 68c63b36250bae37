package chstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Defaults for zero Options fields.
const (
	DefaultDatabase     = "tocsin"
	DefaultPort         = "9000"
	DefaultDialTimeout  = 5 * time.Second
	DefaultFailureLimit = 100_000
)

// maxNameLen bounds a database name; ClickHouse keeps it as a folder name.
const maxNameLen = 64

// Options configures Open and Migrate.
type Options struct {
	// Addr lists the servers' native-protocol addresses (host:port,
	// port 9000 by default; not the HTTP port 8123). Required.
	Addr []string
	// Database holds tocsin's tables; Open creates it when missing.
	// Letters, digits and underscores, not starting with a digit.
	// Default "tocsin".
	Database string
	// Username and Password authenticate; an empty Username is
	// ClickHouse's "default" user.
	Username string
	Password string
	// TLS, when set, encrypts the connection (the server's secure native
	// port, 9440 by default).
	TLS *tls.Config
	// DialTimeout bounds each connection attempt. Default 5s.
	DialTimeout time.Duration
	// Logger receives the store's logs; the zero value logs nothing.
	Logger zerolog.Logger
	// Registerer receives the store's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the wall clock for batch versions, write times and
	// retention of parse failures. Default time.Now.
	Now func() time.Time
	// FailureLimit is how many parse failures are kept: queries see the
	// newest FailureLimit, and whole days older than those are dropped.
	// Default 100000.
	FailureLimit int
}

// withDefaults checks o and fills in its defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.Addr) == 0 {
		return o, errors.New("no ClickHouse address given: set the native host:port (port 9000 by default)")
	}
	for _, a := range o.Addr {
		if err := checkAddr(a); err != nil {
			return o, err
		}
	}
	if o.Database == "" {
		o.Database = DefaultDatabase
	}
	if err := checkDatabase(o.Database); err != nil {
		return o, err
	}
	if o.DialTimeout < 0 || o.FailureLimit < 0 {
		return o, errors.New("dial timeout and failure limit may not be negative")
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.FailureLimit == 0 {
		o.FailureLimit = DefaultFailureLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("bad ClickHouse address %q: want host:port: %w", a, err)
	}
	if host == "" {
		return fmt.Errorf("bad ClickHouse address %q: the host is empty", a)
	}
	for _, r := range host {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("/?#@[]", r) {
			return fmt.Errorf("bad ClickHouse address %q: the host holds %q", a, r)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("bad ClickHouse address %q: the port must be a number from 1 to 65535", a)
	}
	return nil
}

// checkDatabase allows only names that need no quoting, so that they can
// be put into statements as they are.
func checkDatabase(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("bad ClickHouse database name %q: want 1 to %d characters", name, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return fmt.Errorf("bad ClickHouse database name %q: use letters, digits and underscores, not starting with a digit", name)
		}
	}
	return nil
}

// ParseDSN reads a data source name of the form
//
//	clickhouse://user:password@host:9000,host2:9000/database?dial_timeout=5s&secure=true
//
// Every part but the host is optional: the port defaults to 9000, the
// database to "tocsin", the user to ClickHouse's "default". User and
// password are percent-decoded. Parameters:
//
//   - dial_timeout: a Go duration ("5s");
//   - secure: true for TLS (the server's secure native port, 9440 by
//     default), with the system's roots;
//   - skip_verify: true to accept any server certificate (tests only);
//   - failure_limit: how many parse failures to keep.
//
// Logger, Registerer and Now are left for the caller to set.
func ParseDSN(dsn string) (Options, error) {
	var o Options
	bad := func(format string, args ...any) (Options, error) {
		return Options{}, fmt.Errorf("bad ClickHouse DSN: "+format, args...)
	}
	rest, ok := strings.CutPrefix(dsn, "clickhouse://")
	if !ok {
		return bad("want clickhouse://[user[:password]@]host[:port][,host[:port]...][/database][?param=value&...]")
	}
	rest, query, _ := strings.Cut(rest, "?")
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user, pass, hasPass := strings.Cut(authority[:i], ":")
		var err error
		if o.Username, err = url.PathUnescape(user); err != nil {
			return bad("the user name is not percent-encoded correctly: %v", err)
		}
		if hasPass {
			if o.Password, err = url.PathUnescape(pass); err != nil {
				return bad("the password is not percent-encoded correctly (write a %% as %%25)")
			}
		}
		authority = authority[i+1:]
	}
	if authority == "" {
		return bad("no host: want clickhouse://host:9000/database")
	}
	for h := range strings.SplitSeq(authority, ",") {
		addr, err := withPort(h)
		if err != nil {
			return bad("%v", err)
		}
		o.Addr = append(o.Addr, addr)
	}
	if path != "" {
		db, err := url.PathUnescape(path)
		if err != nil {
			return bad("the database is not percent-encoded correctly: %v", err)
		}
		if err := checkDatabase(db); err != nil {
			return bad("%v", err)
		}
		o.Database = db
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return bad("cannot read the parameters after '?': %v", err)
	}
	secure, skipVerify := false, false
	for key, vals := range params {
		v := vals[len(vals)-1]
		switch key {
		case "dial_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return bad("dial_timeout=%q: want a positive duration such as 5s", v)
			}
			o.DialTimeout = d
		case "secure":
			if secure, err = strconv.ParseBool(v); err != nil {
				return bad("secure=%q: want true or false", v)
			}
		case "skip_verify":
			if skipVerify, err = strconv.ParseBool(v); err != nil {
				return bad("skip_verify=%q: want true or false", v)
			}
		case "failure_limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad("failure_limit=%q: want a number, 0 for the default", v)
			}
			o.FailureLimit = n
		default:
			return bad("unknown parameter %q: known are dial_timeout, secure, skip_verify and failure_limit", key)
		}
	}
	if skipVerify && !secure {
		return bad("skip_verify needs secure=true")
	}
	if secure {
		o.TLS = &tls.Config{InsecureSkipVerify: skipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // skip_verify is the operator's explicit choice
	}
	return o, nil
}

// withPort checks one host of a DSN and adds the default port.
func withPort(h string) (string, error) {
	if h == "" {
		return "", errors.New("an empty host in the host list")
	}
	if _, _, err := net.SplitHostPort(h); err != nil {
		// No port: an IPv6 address must be bracketed to take one.
		host := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if strings.ContainsAny(host, "[]/@ ") {
			return "", fmt.Errorf("bad host %q", h)
		}
		h = net.JoinHostPort(host, DefaultPort)
	}
	if err := checkAddr(h); err != nil {
		return "", err
	}
	return h, nil
}
