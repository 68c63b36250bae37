package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ClamAV's messages: clamd (through syslog, or its own log file whose
// lines start "Tue Apr 23 11:21:06 2024 -> "), clamonacc, clamscan and
// freshclam.
//
//	/srv/upload/x.exe: Win.Test.EICAR_HDB-1 FOUND
//	/srv/upload/x.exe: ClamAV-Test-File(f58327b03afd2a727c3329ba3c0947a7:393) FOUND
//	ScanOnAccess: /home/u/x: Eicar-Signature FOUND
//	/srv/upload/x.exe: moved to '/var/quarantine/x.exe'
//	/srv/upload/x.exe: Removed.
//	/srv/upload/y: Access denied. ERROR
//	SelfCheck: Database status OK.
//	daily.cld updated (version: 27256, sigs: 2061001, f-level: 90, builder: raynman)
//	Can't download daily.cvd from https://database.clamav.net/daily.cvd

// DatasetClamAV is the event.dataset of ClamAV messages.
const DatasetClamAV = "clamav"

// Actions of ClamAV messages beyond genActionMalwareDetected.
const (
	// clamavActionTaken is what was done with a detected file: moved
	// or copied to quarantine, or removed (event.reason says which).
	clamavActionTaken = "malware_action_taken"
	// clamavActionScanned is a file found clean.
	clamavActionScanned = "file_scanned"
	// clamavActionScanFailed is a file that could not be scanned.
	clamavActionScanFailed = "scan_failed"
	// clamavActionSelfCheck is clamd's periodic check of its database.
	clamavActionSelfCheck = "av_selfcheck"
	// clamavActionDBLoaded is a signature database loaded or reloaded.
	clamavActionDBLoaded = "av_database_loaded"
	// clamavActionUpdateStarted is a freshclam run starting.
	clamavActionUpdateStarted = "av_update_started"
	// clamavActionDBUpdated is a database downloaded or patched.
	clamavActionDBUpdated = "av_database_updated"
	// clamavActionDBCurrent is a database found up to date.
	clamavActionDBCurrent = "av_database_current"
	// clamavActionUpdateFailed is an update that failed: a mirror that
	// cannot be reached or refuses, a download or a check that failed.
	clamavActionUpdateFailed = "av_update_failed"
	// clamavActionOutdated is the engine reported older than the one
	// recommended.
	clamavActionOutdated = "av_engine_outdated"
	// clamavActionStarted and clamavActionStopped are the daemon
	// starting and stopping.
	clamavActionStarted = "av_started"
	clamavActionStopped = "av_stopped"
)

func init() {
	register(Source{
		Name:        "clamav",
		Description: "ClamAV: clamd (syslog or clamd.log), clamonacc, clamscan and freshclam messages",
		Priority:    30,
		Apps:        []string{"clamd", "clamonacc", "freshclam", "clamscan"},
		Prefixes:    []string{"ScanOnAccess: ", "ClamInotif: ", "ClamFanotif: "},
		Sniff:       clamavSniff,
		Parse:       parseClamAV,
	})
}

// clamavSniff claims the lines of clamd's and freshclam's own log files
// ("Tue Apr 23 11:21:06 2024 -> ...") and detection lines without a tag
// ("PATH: NAME FOUND"). It reads a few bytes at the start and the end.
func clamavSniff(msg string) bool {
	if clamavLogTime(msg) > 0 {
		return true
	}
	// Without ClamAV's tag, the name must look like one of its
	// signatures ("Win.Test.EICAR_HDB-1", "Eicar-Test-Signature"), so
	// that another program's "x: NOT FOUND" is not taken for a
	// detection.
	k := clamavFoundAt(msg)
	if k == 0 {
		return false
	}
	name := msg[k+2 : len(msg)-len(" FOUND")]
	return strings.IndexByte(name, '.') > 0 || strings.IndexByte(name, '-') > 0
}

// clamavLogTime returns the length of a "Ddd Mmm dd hh:mm:ss yyyy -> "
// prefix at the start of s, or 0.
func clamavLogTime(s string) int {
	const n = len("Tue Apr 23 11:21:06 2024 -> ")
	if len(s) < n || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
		s[19] != ' ' || s[24:28] != " -> " {
		return 0
	}
	if monthOf(s[4], s[5], s[6]) == 0 {
		return 0
	}
	switch s[:3] {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
		return n
	}
	return 0
}

// clamavFoundAt returns the index of ": " before a one-word signature
// name and " FOUND" at the end of s, or 0.
func clamavFoundAt(s string) int {
	body, ok := strings.CutSuffix(s, " FOUND")
	if !ok {
		return 0
	}
	sp := strings.LastIndexByte(body, ' ')
	if sp < 2 || body[sp-1] != ':' || sp+1 == len(body) {
		return 0
	}
	return sp - 1
}

func parseClamAV(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := in.Msg
	ev.Event.Dataset = DatasetClamAV
	ev.Observer.Vendor, ev.Observer.Product = "Cisco Talos", "ClamAV"
	if n := clamavLogTime(msg); n > 0 {
		var st stamp
		// "Apr 23 11:21:06 2024": bsdStamp reads a year after the time.
		if k, res := bsdStamp(msg[4:n-4], &st); res == stampOK && k == n-8 {
			if t, ok := p.instant(&st, in.Received); ok {
				genSetTimestamp(ev, t, true)
			}
		}
		msg = msg[n:]
	}
	switch {
	case strings.HasPrefix(msg, "WARNING: "):
		msg = msg[len("WARNING: "):]
	case strings.HasPrefix(msg, "ERROR: "):
		msg = msg[len("ERROR: "):]
		ev.Event.Type = schemas.TypeError
	case strings.HasPrefix(msg, "LibClamAV Warning: "):
		msg = msg[len("LibClamAV Warning: "):]
	case strings.HasPrefix(msg, "LibClamAV Error: "):
		msg = msg[len("LibClamAV Error: "):]
		ev.Event.Type = schemas.TypeError
	}
	msg = strings.TrimPrefix(msg, "ScanOnAccess: ")
	ev.Message = msg
	if clamavFile(ev, msg) || clamavService(ev, msg) || clamavUpdate(ev, msg) {
		return nil
	}
	// Any other message (start-up details, clamonacc's watch list) keeps
	// the dataset and observer, and no action: it is not a failure.
	ev.Event.Type = ""
	return nil
}

// clamavFile reads the messages about one file: detections, the action
// taken, a clean result and a scan error.
func clamavFile(ev *schemas.Event, msg string) bool {
	if k := clamavFoundAt(msg); k > 0 {
		path, name := msg[:k], msg[k+2:len(msg)-len(" FOUND")]
		ev.Event.Category, ev.Event.Type, ev.Event.Action = schemas.CategoryMalware, schemas.TypeInfo, genActionMalwareDetected
		clamavSignature(ev, name)
		clamavPath(ev, path)
		return true
	}
	// The first ": " ends the path: the text after it may hold more
	// ("lstat() failed: No such file or directory. ERROR").
	k := strings.Index(msg, ": ")
	if k <= 0 {
		return false
	}
	path, what := msg[:k], msg[k+2:]
	switch {
	case what == "OK":
		ev.Event.Category, ev.Event.Type, ev.Event.Action, ev.Event.Outcome =
			schemas.CategoryMalware, schemas.TypeInfo, clamavActionScanned, schemas.OutcomeSuccess
	case strings.HasPrefix(what, "moved to '"), strings.HasPrefix(what, "copied to '"):
		reason := "quarantined"
		if what[0] == 'c' {
			reason = "copied to quarantine"
		}
		clamavTaken(ev, schemas.OutcomeSuccess, reason)
	case what == "Removed." || what == "removed":
		clamavTaken(ev, schemas.OutcomeSuccess, "removed")
	case strings.HasPrefix(what, "Can't move file") || strings.HasPrefix(what, "Can't copy file"):
		clamavTaken(ev, schemas.OutcomeFailure, "quarantine failed")
	case strings.HasPrefix(what, "Can't unlink file") || strings.HasPrefix(what, "Can't remove"):
		clamavTaken(ev, schemas.OutcomeFailure, "removal failed")
	case strings.HasSuffix(what, " ERROR") && strings.HasPrefix(path, "/"):
		ev.Event.Category, ev.Event.Type, ev.Event.Action, ev.Event.Outcome =
			schemas.CategoryMalware, schemas.TypeError, clamavActionScanFailed, schemas.OutcomeFailure
		ev.Event.Reason = strings.TrimSuffix(strings.TrimSuffix(what, " ERROR"), ".")
	default:
		return false
	}
	clamavPath(ev, path)
	return true
}

func clamavTaken(ev *schemas.Event, outcome, reason string) {
	ev.Event.Category, ev.Event.Type, ev.Event.Action = schemas.CategoryMalware, schemas.TypeChange, clamavActionTaken
	ev.Event.Outcome, ev.Event.Reason = outcome, reason
}

// clamavSignature sets threat.name from a signature name, and the file's
// hash when ClamAV's extended detection info follows the name
// ("Name(md5:size)"). threat.category is the class in ClamAV's naming
// scheme (Platform.Category.Name-ID-Rev: "Win.Trojan.Agent-1" is
// Trojan); Heuristics.* and PUA.* name their class first.
func clamavSignature(ev *schemas.Event, name string) {
	if open := strings.IndexByte(name, '('); open > 0 && strings.HasSuffix(name, ")") {
		info := name[open+1 : len(name)-1]
		if h, _, ok := strings.Cut(info, ":"); ok {
			genSetHash(ev, h)
		}
		name = name[:open]
	}
	ev.Threat.Name = name
	first, rest, ok := strings.Cut(name, ".")
	if !ok {
		return
	}
	if first == "Heuristics" || first == "PUA" {
		ev.Threat.Category = first
		return
	}
	if second, _, ok := strings.Cut(rest, "."); ok {
		ev.Threat.Category = second
	}
}

// clamavPath sets file.path and file.name, or for a stream scanned by
// clamd ("instream(127.0.0.1@39436)") the client's address and port.
func clamavPath(ev *schemas.Event, path string) {
	if inner, ok := strings.CutPrefix(path, "instream("); ok && strings.HasSuffix(inner, ")") {
		if ip, port, ok := strings.Cut(inner[:len(inner)-1], "@"); ok {
			genSetIP(&ev.Source, ip)
			ev.Source.Port, _ = genPort(port)
		}
		return
	}
	if strings.HasPrefix(path, "fd[") || strings.HasPrefix(path, "stream(") || path == "stream" {
		return
	}
	ev.File.Path = path
	ev.File.Name = genBaseName(path)
}

// clamavService reads clamd's own state: self-checks, database loads,
// start and stop.
func clamavService(ev *schemas.Event, msg string) bool {
	action, outcome, reason := "", schemas.OutcomeSuccess, ""
	switch {
	case strings.HasPrefix(msg, "SelfCheck: "):
		action = clamavActionSelfCheck
		switch rest := msg[len("SelfCheck: "):]; {
		case strings.HasPrefix(rest, "Database status OK"):
		case strings.HasPrefix(rest, "Database modification detected"):
			reason = "database modified"
		default:
			outcome, reason = schemas.OutcomeFailure, strings.TrimSuffix(rest, ".")
		}
	case strings.HasPrefix(msg, "Database correctly reloaded"), strings.HasPrefix(msg, "Loaded ") && strings.HasSuffix(msg, " signatures."):
		action = clamavActionDBLoaded
	case strings.HasPrefix(msg, "+++ Started at "):
		action = clamavActionStarted
	case strings.HasPrefix(msg, "--- Stopped at "):
		action = clamavActionStopped
	case strings.HasPrefix(msg, "clamd daemon "), strings.HasPrefix(msg, "freshclam daemon "):
		// "clamd daemon 1.0.3 (OS: Linux, ...)": the version only.
		_, rest, _ := strings.Cut(msg, " daemon ")
		ver, _, _ := strings.Cut(rest, " ")
		ev.Observer.Version = ver
		return true
	default:
		return false
	}
	ev.Event.Category, ev.Event.Action, ev.Event.Outcome, ev.Event.Reason = schemas.CategoryHost, action, outcome, reason
	if ev.Event.Type == "" {
		ev.Event.Type = schemas.TypeInfo
	}
	return true
}

// clamavUpdateFailures are the starts of freshclam's failure messages
// and the reason each gives.
var clamavUpdateFailures = [...]struct{ prefix, reason string }{
	{"Incremental update failed", "incremental update failed"},
	{"Update failed for database", "update failed"},
	{"Database update process failed", "update failed"},
	{"Failed to update database", "update failed"},
	{"Can't download ", "download failed"},
	{"Can't query ", "mirror query failed"},
	{"Can't connect to port ", "mirror unreachable"},
	{"getfile: Can't connect", "mirror unreachable"},
	{"Connection with ", "mirror unreachable"},
	{"FreshClam received error code", "mirror refused"},
	{"Can't verify database integrity", "verification failed"},
	{"Verification: Can't verify database integrity", "verification failed"},
	{"Update failed", "update failed"},
}

// clamavUpdate reads freshclam's messages about updates.
func clamavUpdate(ev *schemas.Event, msg string) bool {
	action, outcome, reason := "", schemas.OutcomeSuccess, ""
	switch {
	case strings.HasPrefix(msg, "ClamAV update process started"):
		action = clamavActionUpdateStarted
	case strings.Contains(msg, " database is up-to-date") || strings.Contains(msg, " database is up to date"):
		action = clamavActionDBCurrent
	case strings.HasPrefix(msg, "Database updated"), strings.Contains(msg, " updated (version: "):
		action = clamavActionDBUpdated
	case strings.Contains(msg, "installation is OUTDATED"):
		action, outcome, reason = clamavActionOutdated, schemas.OutcomeUnknown, "outdated"
	case strings.HasPrefix(msg, "Local version: "):
		// "Local version: 0.103.2 Recommended version: 0.103.3" follows
		// the OUTDATED warning; it is the same news, so it gets no action.
		ver, _, _ := strings.Cut(msg[len("Local version: "):], " ")
		ev.Observer.Version = ver
		return true
	case strings.Contains(msg, "is not synchronized"):
		action, outcome, reason = clamavActionUpdateFailed, schemas.OutcomeFailure, "mirror not synchronized"
	default:
		for _, f := range clamavUpdateFailures {
			if strings.HasPrefix(msg, f.prefix) {
				action, outcome, reason = clamavActionUpdateFailed, schemas.OutcomeFailure, f.reason
				break
			}
		}
		if action == "" {
			return false
		}
	}
	ev.Event.Category, ev.Event.Action, ev.Event.Outcome, ev.Event.Reason = schemas.CategoryHost, action, outcome, reason
	if outcome == schemas.OutcomeFailure {
		ev.Event.Type = schemas.TypeError
	} else if ev.Event.Type == "" {
		ev.Event.Type = schemas.TypeInfo
	}
	return true
}
