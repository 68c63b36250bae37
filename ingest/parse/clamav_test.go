package parse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// clamavWant is what a person reads off a ClamAV line.
type clamavWant struct {
	action, outcome, reason string
	threat, category        string
	path, name, md5         string
	version                 string
	host, process           string
}

func checkClamAV(t *testing.T, line string, w clamavWant) schemas.Event {
	t.Helper()
	ev := genMustParse(t, line)
	require.Equal(t, DatasetClamAV, ev.Event.Dataset, line)
	require.Equal(t, "ClamAV", ev.Observer.Product)
	require.Equal(t, w.action, ev.Event.Action, line)
	require.Equal(t, w.outcome, ev.Event.Outcome, line)
	require.Equal(t, w.reason, ev.Event.Reason, line)
	require.Equal(t, w.threat, ev.Threat.Name, line)
	require.Equal(t, w.category, ev.Threat.Category, line)
	require.Equal(t, w.path, ev.File.Path, line)
	require.Equal(t, w.name, ev.File.Name, line)
	require.Equal(t, w.md5, ev.File.Hash.MD5, line)
	require.Equal(t, w.version, ev.Observer.Version, line)
	require.Equal(t, w.host, ev.Host.Name, line)
	require.Equal(t, w.process, ev.Process.Name, line)
	switch w.action {
	case genActionMalwareDetected, clamavActionTaken, clamavActionScanned, clamavActionScanFailed:
		require.Equal(t, schemas.CategoryMalware, ev.Event.Category, line)
	case "":
		require.Empty(t, ev.Event.Category, line)
	default:
		require.Equal(t, schemas.CategoryHost, ev.Event.Category, line)
	}
	return ev
}

// TestClamAVPublicLines reads the 24 real lines quoted from public issue
// threads (shared data set; some are GPL-licensed Wazuh comments).
func TestClamAVPublicLines(t *testing.T) {
	rows := genSharedLines(t, "antivirus/clamav/clamav_lines_from_public_sources.tsv")[1:]
	require.Len(t, rows, 24)
	const accPath = "/home/user/tmp/build/unit_tests/input/clamav_hdb_scanfiles/"
	found := func(file string) clamavWant {
		return clamavWant{action: genActionMalwareDetected, threat: "Clamav.Test.File-6", category: "Test",
			path: accPath + file, name: file}
	}
	want := []clamavWant{
		{action: clamavActionStarted, outcome: schemas.OutcomeSuccess},
		{}, // Received 1 file descriptor(s) from systemd.
		{version: "1.0.3"},
		{}, {}, {}, {}, // log size, database folder, PUA, bytecode mode
		{action: clamavActionStarted, outcome: schemas.OutcomeSuccess},
		{action: clamavActionDBLoaded, outcome: schemas.OutcomeSuccess},
		{}, {}, {}, // TCP bound, queue length, stale socket
		{}, {}, // client disconnected
		{action: genActionMalwareDetected, threat: "Win.Test.EICAR_HDB-1", category: "Test", path: "eicar-test.txt", name: "eicar-test.txt"},
		{}, {}, // clamonacc watching
		found("clam-aspack.exe"), found("clam-fsg.exe"), found("clam-mew.exe"), found("clam-nsis.exe"), found("clam-petite.exe"),
		{action: genActionMalwareDetected, threat: "ClamAV-Test-File", path: "/usr/share/clamav-testfiles/clam.arj",
			name: "clam.arj", md5: "f58327b03afd2a727c3329ba3c0947a7", host: "hostname", process: "clamd"},
		{action: clamavActionUpdateFailed, outcome: schemas.OutcomeFailure, reason: "incremental update failed", host: "ix", process: "freshclam"},
	}
	for i, row := range rows {
		cols := strings.Split(row, "\t")
		require.Len(t, cols, 3)
		ev := checkClamAV(t, cols[2], want[i])
		// clamd.log lines carry their own time, in the source's zone.
		if strings.HasPrefix(cols[2], "Tue Apr 23 ") {
			require.Equal(t, 2024, ev.Timestamp.Year())
			require.Equal(t, 23, ev.Timestamp.Day())
			require.Equal(t, 11, ev.Timestamp.Hour())
		}
	}
	ev := genMustParse(t, strings.Split(rows[12], "\t")[2])
	require.Equal(t, utc(2024, 9, 3, 11, 30, 1, 0), ev.Timestamp)
	require.Equal(t, "Client disconnected (FD 10)", ev.Message)
	ev = genMustParse(t, strings.Split(rows[22], "\t")[2])
	require.Equal(t, 511, ev.Process.PID)
}

// Lines written from ClamAV's documented messages (clamd, clamonacc,
// clamscan, freshclam): the shared data set holds no sample of these.
func TestClamAVDocumentedMessages(t *testing.T) {
	const h = "Dec  5 10:00:00 av "
	q := func(w clamavWant) clamavWant { w.host, w.process = "av", "clamd"; return w }
	fc := func(w clamavWant) clamavWant { w.host, w.process = "av", "freshclam"; return w }
	ok := schemas.OutcomeSuccess
	failed := schemas.OutcomeFailure
	cases := map[string]clamavWant{
		h + "clamd[100]: SelfCheck: Database status OK.":                                                                      q(clamavWant{action: clamavActionSelfCheck, outcome: ok}),
		h + "clamd[100]: SelfCheck: Database modification detected. Forcing reload.":                                          q(clamavWant{action: clamavActionSelfCheck, outcome: ok, reason: "database modified"}),
		h + "clamd[100]: Database correctly reloaded (8691764 signatures)":                                                    q(clamavWant{action: clamavActionDBLoaded, outcome: ok}),
		h + "clamd[100]: /srv/upload/x.pdf: Access denied. ERROR":                                                             q(clamavWant{action: clamavActionScanFailed, outcome: failed, reason: "Access denied", path: "/srv/upload/x.pdf", name: "x.pdf"}),
		h + "clamd[100]: /srv/a: lstat() failed: No such file or directory. ERROR":                                            q(clamavWant{action: clamavActionScanFailed, outcome: failed, reason: "lstat() failed: No such file or directory", path: "/srv/a", name: "a"}),
		h + "clamd[100]: /srv/upload/y.txt: OK":                                                                               q(clamavWant{action: clamavActionScanned, outcome: ok, path: "/srv/upload/y.txt", name: "y.txt"}),
		h + "clamd[100]: ScanOnAccess: /home/u/x.com: Eicar-Signature FOUND":                                                  q(clamavWant{action: genActionMalwareDetected, threat: "Eicar-Signature", path: "/home/u/x.com", name: "x.com"}),
		h + "clamd[100]: /home/u/doc.pdf: Heuristics.Encrypted.PDF FOUND":                                                     q(clamavWant{action: genActionMalwareDetected, threat: "Heuristics.Encrypted.PDF", category: "Heuristics", path: "/home/u/doc.pdf", name: "doc.pdf"}),
		h + "clamd[100]: /tmp/t.exe: PUA.Win.Packer.Upx-1 FOUND":                                                              q(clamavWant{action: genActionMalwareDetected, threat: "PUA.Win.Packer.Upx-1", category: "PUA", path: "/tmp/t.exe", name: "t.exe"}),
		h + "clamd[100]: WARNING: /tmp/w.exe: Win.Trojan.Agent-123 FOUND":                                                     q(clamavWant{action: genActionMalwareDetected, threat: "Win.Trojan.Agent-123", category: "Trojan", path: "/tmp/w.exe", name: "w.exe"}),
		h + "clamd[100]: +++ Started at Thu Dec  5 10:00:00 2026":                                                             q(clamavWant{action: clamavActionStarted, outcome: ok}),
		h + "clamd[100]: --- Stopped at Thu Dec  5 10:00:00 2026":                                                             q(clamavWant{action: clamavActionStopped, outcome: ok}),
		h + "clamonacc[200]: /home/u/eicar.com: moved to '/var/quarantine/eicar.com'":                                         {action: clamavActionTaken, outcome: ok, reason: "quarantined", path: "/home/u/eicar.com", name: "eicar.com", host: "av", process: "clamonacc"},
		h + "clamscan[300]: /tmp/eicar.com: copied to '/var/quarantine/eicar.com'":                                            {action: clamavActionTaken, outcome: ok, reason: "copied to quarantine", path: "/tmp/eicar.com", name: "eicar.com", host: "av", process: "clamscan"},
		h + "clamscan[300]: /tmp/eicar.com: Removed.":                                                                         {action: clamavActionTaken, outcome: ok, reason: "removed", path: "/tmp/eicar.com", name: "eicar.com", host: "av", process: "clamscan"},
		h + "clamscan[300]: /tmp/eicar.com: Can't move file /tmp/eicar.com":                                                   {action: clamavActionTaken, outcome: failed, reason: "quarantine failed", path: "/tmp/eicar.com", name: "eicar.com", host: "av", process: "clamscan"},
		h + "freshclam[400]: ClamAV update process started at Thu Dec  5 10:00:00 2026":                                       fc(clamavWant{action: clamavActionUpdateStarted, outcome: ok}),
		h + "freshclam[400]: daily.cvd database is up-to-date (version: 27255, sigs: 2060573, f-level: 90, builder: raynman)": fc(clamavWant{action: clamavActionDBCurrent, outcome: ok}),
		h + "freshclam[400]: daily.cld updated (version: 27256, sigs: 2061001, f-level: 90, builder: raynman)":                fc(clamavWant{action: clamavActionDBUpdated, outcome: ok}),
		h + "freshclam[400]: Database updated (8691764 signatures) from database.clamav.net (IP: 104.16.218.84)":              fc(clamavWant{action: clamavActionDBUpdated, outcome: ok}),
		h + "freshclam[400]: WARNING: Your ClamAV installation is OUTDATED!":                                                  fc(clamavWant{action: clamavActionOutdated, outcome: schemas.OutcomeUnknown, reason: "outdated"}),
		h + "freshclam[400]: WARNING: Local version: 0.103.2 Recommended version: 0.103.3":                                    fc(clamavWant{version: "0.103.2"}),
		h + "freshclam[400]: ERROR: Can't download daily.cvd from https://database.clamav.net/daily.cvd":                      fc(clamavWant{action: clamavActionUpdateFailed, outcome: failed, reason: "download failed"}),
		h + "freshclam[400]: WARNING: FreshClam received error code 429 from the ClamAV Content Delivery Network (CDN).":      fc(clamavWant{action: clamavActionUpdateFailed, outcome: failed, reason: "mirror refused"}),
		h + "freshclam[400]: ERROR: Update failed for database: daily":                                                        fc(clamavWant{action: clamavActionUpdateFailed, outcome: failed, reason: "update failed"}),
		h + "freshclam[400]: WARNING: Mirror https://database.clamav.net is not synchronized.":                                fc(clamavWant{action: clamavActionUpdateFailed, outcome: failed, reason: "mirror not synchronized"}),
		h + "freshclam[400]: ERROR: Database update process failed: Connection failed (3)":                                    fc(clamavWant{action: clamavActionUpdateFailed, outcome: failed, reason: "update failed"}),
		// freshclam.log and clamd.log without syslog.
		"Thu Dec  5 10:00:00 2026 -> daily.cld updated (version: 27256, sigs: 2061001, f-level: 90, builder: raynman)": {action: clamavActionDBUpdated, outcome: ok},
		"Thu Dec  5 10:00:00 2026 -> ERROR: Can't query current.cvd.clamav.net":                                        {action: clamavActionUpdateFailed, outcome: failed, reason: "mirror query failed"},
		// clamscan's output without tag.
		"/tmp/eicar.com: Win.Test.EICAR_HDB-1 FOUND": {action: genActionMalwareDetected, threat: "Win.Test.EICAR_HDB-1", category: "Test", path: "/tmp/eicar.com", name: "eicar.com"},
	}
	for line, w := range cases {
		checkClamAV(t, line, w)
	}
	// A stream scanned by clamd names its client, not a file.
	ev := checkClamAV(t, h+"clamd[100]: instream(127.0.0.1@39436): Eicar-Signature FOUND",
		q(clamavWant{action: genActionMalwareDetected, threat: "Eicar-Signature"}))
	require.Equal(t, "127.0.0.1", ev.Source.IP)
	require.Equal(t, 39436, ev.Source.Port)
	// clamd.log times are read in the source's zone and stored in UTC.
	ev = genMustParse(t, "Thu Dec  5 10:00:00 2026 -> /tmp/x: Eicar-Signature FOUND")
	require.Equal(t, utc(2026, 12, 5, 10, 0, 0, 0), ev.Timestamp)
	require.Equal(t, schemas.TypeInfo, ev.Event.Type)
}

func TestClamAVSniff(t *testing.T) {
	for _, s := range []string{
		"Tue Apr 23 11:21:06 2024 -> Loaded 8691764 signatures.",
		"/tmp/a b/c.exe: Win.Trojan.Agent-1 FOUND",
		"eicar.txt: Eicar-Test-Signature FOUND",
	} {
		require.True(t, clamavSniff(s), s)
	}
	for _, s := range []string{
		"upstream: NOT FOUND", "GET /x HTTP/1.1 404 NOT FOUND", "FOUND", ": x FOUND",
		"Tue Apr 23 11:21:06 2024 - Loaded", "Xyz Apr 23 11:21:06 2024 -> x", "Tue Abc 23 11:21:06 2024 -> x",
	} {
		require.False(t, clamavSniff(s), s)
	}
}

func FuzzClamAV(f *testing.F) {
	for _, s := range []string{
		"Tue Apr 23 11:21:06 2024 -> +++ Started at Tue Apr 23 11:21:06 2024",
		"Nov 18 16:51:04 hostname clamd[511]: /usr/share/clamav-testfiles/clam.arj: ClamAV-Test-File(f58327b03afd2a727c3329ba3c0947a7:393) FOUND",
		"Nov  5 22:59:19 ix freshclam[32349]: Incremental update failed, trying to download daily.cvd",
		"Dec  5 10:00:00 av clamd[100]: instream(127.0.0.1@39436): Eicar-Signature FOUND",
		"Dec  5 10:00:00 av clamonacc[200]: /home/u/eicar.com: moved to '/var/quarantine/eicar.com'",
		"ClamInotif: watching '/home/user/' (and all sub-directories)",
		"/tmp/x: Win.Test.EICAR_HDB-1 FOUND",
		"Dec  5 10:00:00 av freshclam[400]: WARNING: Local version: 0.103.2 Recommended version: 0.103.3",
	} {
		f.Add(s)
	}
	p := New(Options{})
	reasons := genKnownReasons()
	f.Fuzz(func(t *testing.T, line string) {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		genCheckEvent(t, line, &ev, err, reasons)
	})
}

func BenchmarkParseClamAV(b *testing.B) {
	genBench(b,
		"Nov 18 16:51:04 hostname clamd[511]: /usr/share/clamav-testfiles/clam.arj: ClamAV-Test-File(f58327b03afd2a727c3329ba3c0947a7:393) FOUND",
		"Tue Apr 23 11:21:55 2024 -> /srv/upload/invoice.pdf.exe: Win.Trojan.Agent-123 FOUND",
		"Nov  5 22:59:19 ix freshclam[32349]: daily.cld updated (version: 27256, sigs: 2061001, f-level: 90, builder: raynman)",
	)
}
