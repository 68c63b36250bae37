package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Actions of Microsoft Defender Antivirus events (provider
// Microsoft-Windows-Windows Defender, channel .../Operational).
const (
	defActMalwareDetected    = "malware_detected"        // 1006, 1116
	defActMalwareActionTaken = "malware_action_taken"    // 1007, 1117
	defActMalwareActionFail  = "malware_action_failed"   // 1008, 1118, 1119
	defActProtectionEnabled  = "protection_enabled"      // 5000
	defActProtectionDisabled = "protection_disabled"     // 5001, 5010, 5012
	defActConfigChanged      = "config_changed"          // 5004, 5007
	defActConfigBlocked      = "config_change_blocked"   // 5013
	defActSignatureUpdated   = "signature_updated"       // 2000
	defActSignatureFailed    = "signature_update_failed" // 2001
	defActEngineFailed       = "engine_update_failed"    // 2003
	defActSignatureLoadFail  = "signature_load_failed"   // 2004
)

// defDetectionNames are the EventData names of the detection events
// (1116-1119) in their order: PowerShell's Get-WinEvent gives the values
// by position only.
var defDetectionNames = []string{
	"Product Name", "Product Version", "Detection ID", "Detection Time", "Unused", "Unused2",
	"Threat ID", "Threat Name", "Severity ID", "Severity Name", "Category ID", "Category Name",
	"FWLink", "Status Code", "Status Description", "State", "Source ID", "Source Name",
	"Process Name", "Detection User", "Unused3", "Path", "Origin ID", "Origin Name",
	"Execution ID", "Execution Name", "Type ID", "Type Name", "Pre Execution Status",
	"Action ID", "Action Name", "Unused4", "Error Code", "Error Description", "Unused5",
	"Post Clean Status", "Additional Actions ID", "Additional Actions String",
	"Remediation User", "Unused6", "Security intelligence Version", "Engine Version",
}

// defConfigNames are the EventData names of 5007 (configuration
// changed) in their order.
var defConfigNames = []string{"Product Name", "Product Version", "Old Value", "New Value"}

// defStateNames are the EventData names of the protection state events
// (5000, 5001, 5010, 5012).
var defStateNames = []string{"Product Name", "Product Version"}

// winPSNames returns the EventData names of an event whose values
// PowerShell gives by position, or nil when tocsin does not know the
// layout (the values are then param1, param2, ...).
//
// Not known yet: the layouts of Security events, which differ per event
// ID and version; their PowerShell records keep positional names.
func winPSNames(provider string, id int) []string {
	if !strings.EqualFold(provider, "Microsoft-Windows-Windows Defender") {
		return nil
	}
	switch id {
	case 1116, 1117, 1118, 1119:
		return defDetectionNames
	case 5007:
		return defConfigNames
	case 5000, 5001, 5010, 5012:
		return defStateNames
	}
	return nil
}

// winDefender maps a Microsoft Defender Antivirus event. Outcomes come from
// the event ID and the numeric codes (Action ID, Error Code), never from
// the names, which Defender may write in the machine's language.
func winDefender(ev *schemas.Event, r *winRec) {
	ev.Event.Dataset = DatasetWindowsDefender
	ev.Observer.Type = "antivirus"
	ev.Observer.Product = "Microsoft Defender Antivirus"
	if p := r.take("Product Name"); p != "" {
		ev.Observer.Product = p
	}
	ev.Observer.Version = r.take("Product Version")
	s, f := schemas.OutcomeSuccess, schemas.OutcomeFailure
	switch r.id {
	case 1006, 1116:
		defThreat(ev, r)
		winSet(ev, schemas.CategoryMalware, schemas.TypeInfo, defActMalwareDetected, "")
	case 1007, 1117:
		defThreat(ev, r)
		out := s
		if n, ok := winUint(r.get("Error Code"), 1<<32); ok && n != 0 {
			out = f
		}
		winSet(ev, schemas.CategoryMalware, schemas.TypeChange, defActMalwareActionTaken, out)
		ev.Event.Reason = defActionReason(r.get("Action ID"))
	case 1008, 1118, 1119:
		defThreat(ev, r)
		winSet(ev, schemas.CategoryMalware, schemas.TypeError, defActMalwareActionFail, f)
		ev.Event.Reason = defActionReason(r.get("Action ID"))
	case 5000:
		winSet(ev, schemas.CategoryHost, schemas.TypeChange, defActProtectionEnabled, s)
		ev.Event.Reason = "real-time protection"
	case 5001:
		winSet(ev, schemas.CategoryHost, schemas.TypeChange, defActProtectionDisabled, s)
		ev.Event.Reason = "real-time protection"
	case 5010:
		winSet(ev, schemas.CategoryHost, schemas.TypeChange, defActProtectionDisabled, s)
		ev.Event.Reason = "antispyware scanning"
	case 5012:
		winSet(ev, schemas.CategoryHost, schemas.TypeChange, defActProtectionDisabled, s)
		ev.Event.Reason = "antivirus scanning"
	case 5004:
		ev.Change.Item = r.take("Feature Name")
		winSet(ev, schemas.CategoryConfiguration, schemas.TypeChange, defActConfigChanged, s)
	case 5007:
		ev.Change.Item = defSettingName(r.get("New Value"))
		if ev.Change.Item == "" {
			ev.Change.Item = defSettingName(r.get("Old Value"))
		}
		winSet(ev, schemas.CategoryConfiguration, schemas.TypeChange, defActConfigChanged, s)
	case 5013:
		ev.Change.Item = defSettingName(r.get("Value"))
		winSet(ev, schemas.CategoryConfiguration, schemas.TypeChange, defActConfigBlocked, f)
		ev.Event.Reason = "tamper protection"
	case 2000:
		winSet(ev, schemas.CategoryHost, schemas.TypeChange, defActSignatureUpdated, s)
	case 2001:
		winSet(ev, schemas.CategoryHost, schemas.TypeError, defActSignatureFailed, f)
	case 2003:
		winSet(ev, schemas.CategoryHost, schemas.TypeError, defActEngineFailed, f)
	case 2004:
		winSet(ev, schemas.CategoryHost, schemas.TypeError, defActSignatureLoadFail, f)
	}
}

// defThreat reads what a detection found: threat name, category and
// severity, the file, who and which process.
func defThreat(ev *schemas.Event, r *winRec) {
	t := &ev.Threat
	t.Name = r.take("Threat Name")
	t.Category = r.take("Category Name")
	t.Severity = r.take("Severity Name")
	if n, ok := winUint(r.get("Severity ID"), 100); ok {
		ev.Event.Severity = n
	}
	raw := r.take("Path")
	ev.File.Path = defFilePath(raw)
	ev.File.Name = winBaseName(ev.File.Path)
	if ev.File.Path != strings.TrimPrefix(raw, "file:_") {
		r.put("Path", raw) // several resources, or not a file: keep them all
	}
	winDomainUser(ev, r.take("Detection User"))
	if p := r.take("Process Name"); p != "Unknown" {
		ev.Process.Executable = p
		ev.Process.Name = winBaseName(p)
	}
}

// defFilePath reads the file from a detection's Path, a list of
// resources separated by "; " each with a type prefix ("file:_C:\x.exe",
// "containerfile:_C:\a.zip; file:_C:\a.zip->b.exe", "webfile:_C:\f|URL|pid:..").
// The first file resource wins, else the first resource; a member of an
// archive ("->b.exe") and what follows '|' are cut off.
func defFilePath(p string) string {
	pick := ""
	for rest := p; rest != ""; {
		item := rest
		if i := strings.Index(rest, "; "); i >= 0 {
			item, rest = rest[:i], rest[i+2:]
		} else {
			rest = ""
		}
		if v, ok := strings.CutPrefix(item, "file:_"); ok {
			pick = v
			break
		}
		if pick == "" {
			pick = item
			if i := strings.Index(item, ":_"); i > 0 && i < 24 {
				pick = item[i+2:]
			}
		}
	}
	if i := strings.Index(pick, "->"); i >= 0 {
		pick = pick[:i]
	}
	if i := strings.IndexByte(pick, '|'); i >= 0 {
		pick = pick[:i]
	}
	return pick
}

// defSettingName is the registry value a 5007 or 5013 names:
// "HKLM\SOFTWARE\Microsoft\Windows Defender\Exclusions\Paths\C:\x = 0x0"
// is the part before " = ".
func defSettingName(v string) string {
	if i := strings.Index(v, " = "); i >= 0 {
		return v[:i]
	}
	return v
}

// defActionReason words the Action ID of a detection's remediation.
func defActionReason(id string) string {
	n, ok := winUint(id, 1<<16)
	if !ok {
		return ""
	}
	switch n {
	case 1:
		return "clean"
	case 2:
		return "quarantine"
	case 3:
		return "remove"
	case 6:
		return "allow"
	case 8:
		return "user defined"
	case 9:
		return "no action"
	case 10:
		return "block"
	}
	return ""
}
