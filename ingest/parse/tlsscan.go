package parse

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Datasets of TLS scanner reports.
const (
	DatasetTestssl = "testssl"
	DatasetSSLyze  = "sslyze"
)

// Failure reasons of TLS scanner reports.
const (
	// ReasonBadTLSScan is a record detected as a TLS scanner report that is
	// not valid JSON or names no endpoint.
	ReasonBadTLSScan = "bad_tls_scan"
	// ReasonTLSScanMulti is a report of several endpoints given to Parse
	// whole: the event holds the first, and readers must split such
	// reports with SplitTLSReport first.
	ReasonTLSScanMulti = "tls_scan_multi_endpoint"
)

// tlsScanResult is the action of every endpoint a TLS scanner reported.
const tlsScanResult = "tls_scan_result"

// tlsCanonicalKey is the one key of the canonical per-endpoint record
// SplitTLSReport writes.
const tlsCanonicalKey = "tls_scan_endpoint"

// tlsSniffWindow bounds how far into a record detection looks.
const tlsSniffWindow = 512

func init() {
	register(Source{
		Name:        "tls_scan",
		Description: "TLS scanner reports, one event per endpoint: testssl.sh JSON (flat and pretty) and SSLyze JSON",
		Priority:    60,
		JSON:        tlsJSON,
		Reasons:     []string{ReasonBadTLSScan, ReasonTLSScanMulti},
		Parse:       parseTLSScan,
	})
}

// tlsEndpoint is one scanned endpoint in tocsin's canonical shape, the
// record SplitTLSReport writes: scanner-neutral, times in RFC 3339.
type tlsEndpoint struct {
	Scanner        string       `json:"scanner"`
	ScannerVersion string       `json:"scanner_version,omitempty"`
	Time           string       `json:"time,omitempty"`
	Host           string       `json:"host,omitempty"`
	IP             string       `json:"ip,omitempty"`
	Port           int          `json:"port,omitempty"`
	Versions       []string     `json:"versions,omitempty"`
	Subject        string       `json:"subject,omitempty"`
	Issuer         string       `json:"issuer,omitempty"`
	SAN            string       `json:"san,omitempty"`
	NotBefore      string       `json:"not_before,omitempty"`
	NotAfter       string       `json:"not_after,omitempty"`
	SHA256         string       `json:"sha256,omitempty"`
	ChainTrusted   *bool        `json:"chain_trusted,omitempty"`
	Findings       []tlsFinding `json:"findings,omitempty"`
	WorstSeverity  string       `json:"worst_severity,omitempty"`
	Error          string       `json:"error,omitempty"`
}

// tlsFinding is a weakness the scanner reported the endpoint vulnerable
// to.
type tlsFinding struct {
	Name     string   `json:"name"`
	CVE      []string `json:"cve,omitempty"`
	Severity string   `json:"severity,omitempty"`
}

// tlsJSON reports whether a JSON record is a TLS scanner report, looking
// only at its first bytes: testssl.sh's pretty report ({"Invocation" ...
// "scanResult"), one of its scan results ({"targetHost"), its flat array of
// findings ([{"id" ... "finding"), an SSLyze report (server_scan_results),
// or the canonical record.
func tlsJSON(rec string) bool {
	w := rec
	if len(w) > tlsSniffWindow {
		w = w[:tlsSniffWindow]
	}
	i := tlsSkipSpace(w, 0)
	if i >= len(w) {
		return false
	}
	switch w[i] {
	case '{':
		j := tlsSkipSpace(w, i+1)
		rest := w[j:]
		switch {
		case strings.HasPrefix(rest, `"`+tlsCanonicalKey+`"`),
			strings.HasPrefix(rest, `"Invocation"`),
			strings.HasPrefix(rest, `"targetHost"`):
			return true
		}
		return tlsScanKey(w)
	case '[':
		j := tlsSkipSpace(w, i+1)
		if j >= len(w) || w[j] != '{' {
			return false
		}
		j = tlsSkipSpace(w, j+1)
		return strings.HasPrefix(w[j:], `"id"`) && strings.Contains(w, `"finding"`) && strings.Contains(w, `"severity"`)
	}
	return false
}

// tlsScanKey reports whether w holds a key of a report: "scanResult",
// "server_scan_results", or "scan_status" beside "server_location". All
// contain "scan", which is rare in other records, so one search finds the
// candidates.
func tlsScanKey(w string) bool {
	for off := 0; ; {
		i := strings.Index(w[off:], "scan")
		if i < 0 {
			return false
		}
		j := off + i
		switch rest := w[j:]; {
		case strings.HasPrefix(rest, `scanResult"`) && j > 0 && w[j-1] == '"':
			return true
		case strings.HasPrefix(rest, `scan_results"`) && strings.HasSuffix(w[:j], `"server_`):
			return true
		case strings.HasPrefix(rest, `scan_status"`) && j > 0 && w[j-1] == '"' && strings.Contains(w, `"server_location"`):
			return true
		}
		off = j + len("scan")
	}
}

func tlsSkipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	return i
}

// SplitTLSReport splits a TLS scanner report of several endpoints into
// one compact JSON record per endpoint, in tocsin's canonical shape,
// which Parse reads. It returns nil when rec is not a TLS scanner report
// or names at most one endpoint (Parse reads such a report as it is).
// Readers that take whole JSON documents call it before parsing.
func SplitTLSReport(rec []byte) [][]byte {
	s := string(rec)
	if !tlsJSON(s) || !gjson.Valid(s) {
		return nil
	}
	eps := tlsEndpoints(s)
	if len(eps) < 2 {
		return nil
	}
	out := make([][]byte, 0, len(eps))
	for i := range eps {
		b, err := json.Marshal(map[string]*tlsEndpoint{tlsCanonicalKey: &eps[i]})
		if err != nil {
			// A struct of strings, ints and slices always marshals; a
			// failure here is a programming error, and dropping the
			// endpoint is all that can be done.
			continue
		}
		out = append(out, b)
	}
	return out
}

// parseTLSScan reads a single-endpoint report or a canonical record.
func parseTLSScan(_ *Parser, in Input, ev *schemas.Event) *Error {
	if !gjson.Valid(in.Msg) {
		ev.Event.Dataset = "tls_scan"
		return &Error{Reason: ReasonBadTLSScan, Detail: "a TLS scanner report that is not valid JSON"}
	}
	eps := tlsEndpoints(in.Msg)
	if len(eps) == 0 {
		ev.Event.Dataset = "tls_scan"
		return &Error{Reason: ReasonBadTLSScan, Detail: "a TLS scanner report that names no endpoint"}
	}
	tlsFill(ev, &eps[0], in.Received)
	if len(eps) > 1 {
		return &Error{Reason: ReasonTLSScanMulti, Detail: "a report of " + strconv.Itoa(len(eps)) +
			" endpoints read whole; the event holds the first: split such reports with SplitTLSReport before parsing"}
	}
	return nil
}

// tlsEndpoints reads every endpoint of a valid JSON report.
func tlsEndpoints(s string) []tlsEndpoint {
	root := gjson.Parse(s)
	if root.IsArray() {
		return testsslFlat(root)
	}
	if c := root.Get(tlsCanonicalKey); c.IsObject() {
		var ep tlsEndpoint
		if json.Unmarshal([]byte(c.Raw), &ep) != nil {
			return nil
		}
		return []tlsEndpoint{ep}
	}
	if sr := root.Get("scanResult"); sr.IsArray() {
		start := tlsEpoch(root.Get("startTime").String())
		version := root.Get("version").String()
		var eps []tlsEndpoint
		for _, r := range sr.Array() {
			ep := testsslPretty(r)
			ep.Time, ep.ScannerVersion = start, version
			eps = append(eps, ep)
		}
		return eps
	}
	if root.Get("targetHost").Exists() {
		return []tlsEndpoint{testsslPretty(root)}
	}
	if ss := root.Get("server_scan_results"); ss.IsArray() {
		start := tlsTime(root.Get("date_scans_started").String())
		version := root.Get("sslyze_version").String()
		var eps []tlsEndpoint
		for _, r := range ss.Array() {
			ep := sslyzeEndpoint(r)
			ep.Time, ep.ScannerVersion = start, version
			eps = append(eps, ep)
		}
		return eps
	}
	if root.Get("server_location").Exists() || root.Get("server_info").Exists() {
		return []tlsEndpoint{sslyzeEndpoint(root)}
	}
	return nil
}

// tlsFill sets the event of one endpoint.
func tlsFill(ev *schemas.Event, ep *tlsEndpoint, received time.Time) {
	e := &ev.Event
	e.Category, e.Type, e.Action = schemas.CategoryVulnerability, schemas.TypeInfo, tlsScanResult
	e.Dataset = ep.Scanner
	ev.Observer.Product, ev.Observer.Version, ev.Observer.Type = ep.Scanner, strings.TrimSpace(ep.ScannerVersion), "scanner"
	if ep.Scanner == DatasetTestssl {
		ev.Observer.Product = "testssl.sh"
	}
	scanned := received.UTC()
	if t, err := time.Parse(time.RFC3339Nano, ep.Time); err == nil {
		scanned = t.UTC()
		if ev.Timestamp.IsZero() {
			ev.Timestamp = scanned
		}
	}
	d := &ev.Destination
	d.Port = ep.Port
	if ep.IP != "" && isIP(ep.IP) {
		d.IP = ep.IP
	}
	if ep.Host != "" {
		if isIP(ep.Host) {
			if d.IP == "" {
				d.IP = ep.Host
			}
		} else {
			d.Domain = asciiLower(strings.TrimRight(ep.Host, "."))
		}
	}
	t := &ev.TLS
	t.Versions = strings.Join(ep.Versions, ",")
	t.Server.Subject, t.Server.Issuer, t.Server.Hash = ep.Subject, ep.Issuer, ep.SHA256
	if nb, err := time.Parse(time.RFC3339, ep.NotBefore); err == nil {
		t.Server.NotBefore = nb.UTC()
	}
	label := func(k, v string) {
		if v == "" {
			return
		}
		if ev.Labels == nil {
			ev.Labels = make(map[string]string, 8)
		}
		ev.Labels[k] = v
	}
	expired := false
	if na, err := time.Parse(time.RFC3339, ep.NotAfter); err == nil {
		t.Server.NotAfter = na.UTC()
		expired = !na.After(scanned)
		// Whole days left at the time of the scan (rounded down, so
		// negative once expired); rules decide what "expiring soon" means.
		left := na.Sub(scanned)
		days := int(left / (24 * time.Hour))
		if left < 0 && left%(24*time.Hour) != 0 {
			days--
		}
		label("days_to_expiry", strconv.Itoa(days))
	}
	if ep.ChainTrusted != nil {
		label("chain_trusted", strconv.FormatBool(*ep.ChainTrusted))
	}
	label("san", ep.SAN)
	label("worst_severity", ep.WorstSeverity)
	var ids, names []string
	worst := ""
	for _, f := range ep.Findings {
		names = append(names, f.Name)
		if len(f.CVE) > 0 {
			ids = append(ids, f.CVE...)
		} else {
			ids = append(ids, f.Name)
		}
		if tlsRank(f.Severity) > tlsRank(worst) {
			worst = f.Severity
		}
	}
	ev.Vulnerability.ID = strings.Join(tlsUnique(ids), ",")
	ev.Vulnerability.Severity = worst
	label("vulnerability_names", strings.Join(names, ","))
	switch {
	case ep.Error != "":
		e.Outcome, e.Reason = schemas.OutcomeUnknown, "scan failed"
		label("scan_error", ep.Error)
	case len(ep.Findings) > 0:
		e.Outcome, e.Reason = schemas.OutcomeFailure, "vulnerable"
	case expired:
		e.Outcome, e.Reason = schemas.OutcomeFailure, "certificate expired"
	default:
		e.Outcome = schemas.OutcomeSuccess
	}
}

// tlsUnique drops repeated ids, keeping the first of each.
func tlsUnique(ids []string) []string {
	out := ids[:0]
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// tlsRank orders testssl.sh's severities; words it does not rank are 0.
func tlsRank(s string) int {
	switch s {
	case "LOW":
		return 1
	case "MEDIUM":
		return 2
	case "HIGH":
		return 3
	case "CRITICAL":
		return 4
	}
	return 0
}

// tlsEpoch turns testssl.sh's startTime (Unix seconds as text) into RFC
// 3339.
func tlsEpoch(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}

// tlsTime turns the times scanners write into RFC 3339 in UTC: RFC 3339
// itself, SSLyze's zone-less ISO time (UTC), testssl.sh's "2006-01-02
// 15:04" (UTC), a bare date, and OpenSSL's "Jan  2 15:04:05 2006 GMT".
func tlsTime(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	for _, layout := range [...]string{
		time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05",
		"2006-01-02 15:04", "2006-01-02", "Jan _2 15:04:05 2006 MST",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return ""
}

// testsslVulnerability returns tocsin's name of a testssl.sh finding id
// that names a vulnerability, or "".
func testsslVulnerability(id string) string {
	switch id {
	case "heartbleed", "ticketbleed", "opossum", "winshock", "secure_renego", "secure_client_renego", "fallback_SCSV":
		return strings.ToLower(id)
	case "CCS":
		return "ccs_injection"
	case "ROBOT":
		return "robot"
	case "CRIME_TLS":
		return "crime"
	case "BREACH":
		return "breach"
	case "POODLE_SSL":
		return "poodle"
	case "POODLE_TLS":
		return "poodle_tls"
	case "SWEET32":
		return "sweet32"
	case "FREAK":
		return "freak"
	case "DROWN":
		return "drown"
	case "LOGJAM":
		return "logjam"
	case "LOGJAM-common_primes":
		return "logjam_common_primes"
	case "BEAST":
		return "beast"
	case "LUCKY13":
		return "lucky13"
	case "RC4":
		return "rc4"
	}
	return ""
}

// testsslVersion maps testssl.sh's protocol ids to version names.
func testsslVersion(id string) string {
	switch id {
	case "SSLv2":
		return "SSLv2"
	case "SSLv3":
		return "SSLv3"
	case "TLS1":
		return "TLSv1.0"
	case "TLS1_1":
		return "TLSv1.1"
	case "TLS1_2":
		return "TLSv1.2"
	case "TLS1_3":
		return "TLSv1.3"
	}
	return ""
}

// testsslCertID returns the certificate field an id names ("cert_notAfter"
// or, for the first of several certificates, "cert_notAfter
// <hostCert#1>"), or "" for another certificate's.
func testsslCertID(id string) string {
	base, n, ok := strings.Cut(id, " <hostCert#")
	if ok && n != "1>" {
		return ""
	}
	return base
}

// testsslFinding reads one finding of a testssl.sh report into ep.
func testsslFinding(ep *tlsEndpoint, f gjson.Result) {
	id := f.Get("id").String()
	sev := f.Get("severity").String()
	finding := f.Get("finding").String()
	if tlsRank(sev) > tlsRank(ep.WorstSeverity) {
		ep.WorstSeverity = sev
	}
	switch id {
	case "scanProblem", "engine_problem":
		if sev == "FATAL" || sev == "WARN" {
			ep.Error = finding
		}
		return
	}
	if v := testsslVersion(id); v != "" {
		if strings.HasPrefix(finding, "offered") {
			ep.Versions = append(ep.Versions, v)
		}
		return
	}
	if name := testsslVulnerability(id); name != "" {
		if tlsRank(sev) >= tlsRank("MEDIUM") || strings.Contains(finding, "VULNERABLE") {
			ep.Findings = append(ep.Findings, tlsFinding{Name: name, CVE: strings.Fields(f.Get("cve").String()), Severity: sev})
		}
		return
	}
	switch testsslCertID(id) {
	case "cert_commonName":
		if finding != "" {
			ep.Subject = "CN=" + finding
		}
	case "cert_subjectAltName":
		ep.SAN = finding
	case "cert_caIssuers":
		ep.Issuer = finding
	case "cert_notBefore":
		ep.NotBefore = tlsTime(finding)
	case "cert_notAfter":
		ep.NotAfter = tlsTime(finding)
	case "cert_fingerprintSHA256":
		ep.SHA256 = tlsHexHash(finding)
	case "cert_chain_of_trust":
		trusted := sev == "OK"
		ep.ChainTrusted = &trusted
	}
}

// testsslPretty reads one element of a pretty report's scanResult: the
// endpoint, then every finding of every section.
func testsslPretty(r gjson.Result) tlsEndpoint {
	ep := tlsEndpoint{Scanner: DatasetTestssl}
	ep.Host = r.Get("targetHost").String()
	ep.IP = r.Get("ip").String()
	ep.Port = int(r.Get("port").Int())
	if id := r.Get("id").String(); id != "" && ep.Host == "" {
		// An element that is itself a finding: the scan failed.
		ep.Error = r.Get("finding").String()
		return ep
	}
	r.ForEach(func(_, v gjson.Result) bool {
		if v.IsArray() {
			for _, f := range v.Array() {
				if f.IsObject() {
					testsslFinding(&ep, f)
				}
			}
		}
		return true
	})
	return ep
}

// testsslFlat reads a flat (--jsonfile) report: findings of every
// endpoint in one array, each naming its endpoint in "ip" ("HOST/IP") and
// "port".
func testsslFlat(root gjson.Result) []tlsEndpoint {
	var eps []tlsEndpoint
	index := map[string]int{}
	for _, f := range root.Array() {
		if !f.IsObject() {
			continue
		}
		target, port := f.Get("ip").String(), f.Get("port").String()
		key := target + " " + port
		i, ok := index[key]
		if !ok {
			ep := tlsEndpoint{Scanner: DatasetTestssl}
			host, ip, found := strings.Cut(target, "/")
			if !found {
				ip = host
			}
			ep.Host, ep.IP = host, ip
			ep.Port, _ = strconv.Atoi(port)
			i = len(eps)
			index[key] = i
			eps = append(eps, ep)
		}
		testsslFinding(&eps[i], f)
	}
	return eps
}

// tlsHexHash returns a SHA-256 fingerprint as lower-case hex: testssl.sh
// writes upper-case hex, SSLyze base64; anything else gives "".
func tlsHexHash(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if _, err := hex.DecodeString(s); err == nil {
			return strings.ToLower(s)
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return hex.EncodeToString(b)
	}
	return ""
}

// sslyzeResult returns a scan command's result: SSLyze 5 and later wrap it
// in {"status", "result"}, SSLyze 4 did not.
func sslyzeResult(scan gjson.Result, command string) gjson.Result {
	c := scan.Get(command)
	if r := c.Get("result"); r.Exists() {
		return r
	}
	return c
}

// sslyzeEndpoint reads one element of an SSLyze report's
// server_scan_results.
func sslyzeEndpoint(r gjson.Result) tlsEndpoint {
	ep := tlsEndpoint{Scanner: DatasetSSLyze}
	loc := r.Get("server_location")
	if !loc.Exists() {
		loc = r.Get("server_info.server_location")
	}
	ep.Host = loc.Get("hostname").String()
	ep.IP = loc.Get("ip_address").String()
	ep.Port = int(loc.Get("port").Int())
	if status := r.Get("scan_status").String(); status != "" && status != "COMPLETED" {
		ep.Error = status
		return ep
	}
	scan := r.Get("scan_result")
	if !scan.Exists() {
		scan = r.Get("scan_commands_results")
	}
	for _, v := range [...]struct{ command, name string }{
		{"ssl_2_0_cipher_suites", "SSLv2"}, {"ssl_3_0_cipher_suites", "SSLv3"},
		{"tls_1_0_cipher_suites", "TLSv1.0"}, {"tls_1_1_cipher_suites", "TLSv1.1"},
		{"tls_1_2_cipher_suites", "TLSv1.2"}, {"tls_1_3_cipher_suites", "TLSv1.3"},
	} {
		res := sslyzeResult(scan, v.command)
		supported := res.Get("is_tls_version_supported")
		if supported.Bool() || (!supported.Exists() && len(res.Get("accepted_cipher_suites").Array()) > 0) {
			ep.Versions = append(ep.Versions, v.name)
		}
	}
	deployment := sslyzeResult(scan, "certificate_info").Get("certificate_deployments.0")
	leaf := deployment.Get("received_certificate_chain.0")
	ep.Subject = leaf.Get("subject.rfc4514_string").String()
	ep.Issuer = leaf.Get("issuer.rfc4514_string").String()
	ep.NotBefore = tlsTime(leaf.Get("not_valid_before").String())
	ep.NotAfter = tlsTime(leaf.Get("not_valid_after").String())
	ep.SHA256 = tlsHexHash(leaf.Get("fingerprint_sha256").String())
	var san []string
	for _, n := range leaf.Get("subject_alternative_name.dns_names").Array() {
		san = append(san, n.String())
	}
	for _, n := range leaf.Get("subject_alternative_name.dns").Array() {
		san = append(san, n.String())
	}
	ep.SAN = strings.Join(san, " ")
	if pv := deployment.Get("path_validation_results"); pv.Exists() {
		trusted := false
		if pv.IsArray() {
			for _, v := range pv.Array() {
				trusted = trusted || v.Get("was_validation_successful").Bool()
			}
		} else {
			trusted = pv.Get("was_validation_successful").Bool()
		}
		ep.ChainTrusted = &trusted
	}
	add := func(name, sev string, cve ...string) {
		ep.Findings = append(ep.Findings, tlsFinding{Name: name, CVE: cve, Severity: sev})
		if tlsRank(sev) > tlsRank(ep.WorstSeverity) {
			ep.WorstSeverity = sev
		}
	}
	if sslyzeResult(scan, "heartbleed").Get("is_vulnerable_to_heartbleed").Bool() {
		add("heartbleed", "CRITICAL", "CVE-2014-0160")
	}
	if sslyzeResult(scan, "openssl_ccs_injection").Get("is_vulnerable_to_ccs_injection").Bool() {
		add("ccs_injection", "HIGH", "CVE-2014-0224")
	}
	switch robot := sslyzeResult(scan, "robot").Get("robot_result").String(); robot {
	case "VULNERABLE_STRONG_ORACLE":
		add("robot", "HIGH")
	case "VULNERABLE_WEAK_ORACLE":
		add("robot", "MEDIUM")
	}
	if sslyzeResult(scan, "tls_compression").Get("supports_compression").Bool() {
		add("crime", "HIGH", "CVE-2012-4929")
	}
	reneg := sslyzeResult(scan, "session_renegotiation")
	if reneg.Get("is_vulnerable_to_client_renegotiation_dos").Bool() || reneg.Get("accepts_client_renegotiation").Bool() {
		add("secure_client_renego", "MEDIUM", "CVE-2011-1473")
	}
	if s := reneg.Get("supports_secure_renegotiation"); s.Exists() && !s.Bool() {
		add("secure_renego", "MEDIUM")
	}
	return ep
}

func init() { splitters = append(splitters, SplitTLSReport) }
