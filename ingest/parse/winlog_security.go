package parse

import (
	"net/netip"
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Actions of Windows Security, Sysmon and event log events. Each is
// documented in docs/formats/windows.md; the outcome says whether it
// worked.
const (
	winActLogon              = "logon"                   // 4624
	winActLogonFailed        = "logon_failed"            // 4625
	winActLogoff             = "logoff"                  // 4634, 4647
	winActExplicitLogon      = "explicit_logon"          // 4648
	winActObjectAccess       = "object_access"           // 4656, 4663
	winActLSASSAccess        = "lsass_access"            // 4656, 4663 on lsass.exe; Sysmon 10
	winActSAMAccess          = "sam_access"              // 4656, 4663 on the SAM
	winActSpecialPrivileges  = "special_privileges"      // 4672
	winActProcessCreated     = "process_created"         // 4688; Sysmon 1
	winActUserCreated        = "user_created"            // 4720
	winActUserEnabled        = "user_enabled"            // 4722
	winActPasswordChanged    = "password_changed"        // 4723
	winActPasswordReset      = "password_reset"          // 4724
	winActUserDisabled       = "user_disabled"           // 4725
	winActUserDeleted        = "user_deleted"            // 4726
	winActUserModified       = "user_modified"           // 4738
	winActUserLockedOut      = "user_locked_out"         // 4740
	winActUserUnlocked       = "user_unlocked"           // 4767
	winActGroupCreated       = "group_created"           // 4727, 4731, 4754
	winActGroupDeleted       = "group_deleted"           // 4730, 4734, 4758
	winActGroupMemberAdded   = "group_member_added"      // 4728, 4732, 4756
	winActGroupMemberRemoved = "group_member_removed"    // 4729, 4733, 4757
	winActKerberosTGT        = "kerberos_tgt_request"    // 4768
	winActKerberosService    = "kerberos_service_ticket" // 4769
	winActKerberosPreauth    = "kerberos_preauth_failed" // 4771
	winActCredentialCheck    = "credential_validation"   // 4776
	winActLogCleared         = "log_cleared"             // 1102, 104
	winActNetworkConnection  = "network_connection"      // Sysmon 3
	winActProcessAccess      = "process_access"          // Sysmon 10
	winActFileCreated        = "file_created"            // Sysmon 11
)

// winSecurity maps an event of Microsoft-Windows-Security-Auditing. The
// action and outcome come from the event ID, the keywords mask (or the
// shipper's language-independent AUDIT_SUCCESS / AUDIT_FAILURE) and the
// status codes, never from the rendered text, which may be in any
// language.
func winSecurity(ev *schemas.Event, r *winRec) {
	ev.Event.Dataset = DatasetWindowsSecurity
	s, f := schemas.OutcomeSuccess, schemas.OutcomeFailure
	switch r.id {
	case 4624:
		winLogon(ev, r, winActLogon, s)
	case 4625:
		winLogon(ev, r, winActLogonFailed, f)
		st, sub := r.take("Status"), r.take("SubStatus")
		ev.Winlog.Status, ev.Winlog.SubStatus = st, sub
		code := sub
		if n, ok := winUint(sub, 1<<32); !ok || n == 0 {
			code = st
		}
		ev.Event.Reason = winNTStatusReason(code)
	case 4634, 4647:
		winTargetUser(ev, r)
		winLogonType(ev, r)
		winSet(ev, schemas.CategorySession, schemas.TypeEnd, winActLogoff, r.outcome(s))
	case 4648:
		// The account whose credentials were used is the user, as for the
		// other logon events; the subject that used them stays in Labels.
		winLogon(ev, r, winActExplicitLogon, r.outcome(s))
		ev.Destination.Domain = r.take("TargetServerName")
	case 4656, 4663:
		winObjectAccess(ev, r)
	case 4672:
		winSubject(ev, r)
		winSet(ev, schemas.CategoryIAM, schemas.TypeInfo, winActSpecialPrivileges, r.outcome(s))
	case 4688:
		winSubject(ev, r)
		winProcess(ev, r, "NewProcessName", "NewProcessId")
		ev.Process.CommandLine = r.take("CommandLine")
		ev.Process.Parent.Executable = r.take("ParentProcessName")
		ev.Process.Parent.PID, _ = winUint(r.take("ProcessId"), 1<<32)
		winSet(ev, schemas.CategoryProcess, schemas.TypeStart, winActProcessCreated, r.outcome(s))
	case 4720:
		winAccount(ev, r, winActUserCreated, schemas.TypeCreation, s)
	case 4722:
		winAccount(ev, r, winActUserEnabled, schemas.TypeChange, s)
	case 4723:
		winAccount(ev, r, winActPasswordChanged, schemas.TypeChange, schemas.OutcomeUnknown)
	case 4724:
		winAccount(ev, r, winActPasswordReset, schemas.TypeChange, schemas.OutcomeUnknown)
	case 4725:
		winAccount(ev, r, winActUserDisabled, schemas.TypeChange, s)
	case 4726:
		winAccount(ev, r, winActUserDeleted, schemas.TypeDeletion, s)
	case 4738:
		winAccount(ev, r, winActUserModified, schemas.TypeChange, s)
	case 4740:
		// TargetDomainName of a lockout is the computer the failed
		// attempts came from, not the account's domain.
		caller := r.take("TargetDomainName")
		winAccount(ev, r, winActUserLockedOut, schemas.TypeChange, s)
		ev.Source.Domain = caller
	case 4767:
		winAccount(ev, r, winActUserUnlocked, schemas.TypeChange, s)
	case 4727, 4731, 4754:
		winGroup(ev, r, winActGroupCreated, schemas.TypeCreation)
	case 4730, 4734, 4758:
		winGroup(ev, r, winActGroupDeleted, schemas.TypeDeletion)
	case 4728, 4732, 4756:
		winGroup(ev, r, winActGroupMemberAdded, schemas.TypeChange)
	case 4729, 4733, 4757:
		winGroup(ev, r, winActGroupMemberRemoved, schemas.TypeChange)
	case 4768, 4769, 4771:
		winKerberos(ev, r)
	case 4776:
		ev.User.Name = r.take("TargetUserName")
		ev.Source.Domain = r.take("Workstation")
		st := r.take("Status")
		ev.Winlog.Status = st
		out, reason := s, ""
		if n, ok := winUint(st, 1<<32); ok && n != 0 {
			out, reason = f, winNTStatusReason(st)
		} else if !ok {
			out = r.outcome(schemas.OutcomeUnknown)
		}
		winSet(ev, schemas.CategoryAuthentication, schemas.TypeStart, winActCredentialCheck, out)
		ev.Event.Reason = reason
	}
}

// winSet sets the meaning of an event; the dataset is already set.
func winSet(ev *schemas.Event, category, typ, action, outcome string) {
	e := &ev.Event
	e.Category, e.Type, e.Action, e.Outcome = category, typ, action, outcome
}

// winLogon maps the logon events: the account logging on is the user.
func winLogon(ev *schemas.Event, r *winRec, action, outcome string) {
	winTargetUser(ev, r)
	winSource(ev, r, "IpAddress", "IpPort")
	if ws := r.take("WorkstationName"); ws != "" && ev.Source.Domain == "" {
		ev.Source.Domain = ws
	}
	winLogonType(ev, r)
	winProcess(ev, r, "ProcessName", "ProcessId")
	winSet(ev, schemas.CategoryAuthentication, schemas.TypeStart, action, outcome)
}

func winLogonType(ev *schemas.Event, r *winRec) {
	if n, ok := winUint(r.take("LogonType"), 1<<16); ok {
		ev.Winlog.LogonType = n
	}
}

// winSubject makes the subject (who acted) the user.
func winSubject(ev *schemas.Event, r *winRec) {
	ev.User.Name = r.take("SubjectUserName")
	ev.User.Domain = r.take("SubjectDomainName")
	ev.User.ID = winSID(r.take("SubjectUserSid"))
}

// winTargetUser makes the target account (who logged on) the user.
func winTargetUser(ev *schemas.Event, r *winRec) {
	ev.User.Name = r.take("TargetUserName")
	ev.User.Domain = r.take("TargetDomainName")
	ev.User.ID = winSID(r.take("TargetUserSid"))
	if ev.User.ID == "" {
		ev.User.ID = winSID(r.take("TargetSid"))
	}
}

// winAccount maps an account change: the subject changed the target.
func winAccount(ev *schemas.Event, r *winRec, action, typ, def string) {
	winSubject(ev, r)
	t := &ev.User.Target
	t.Name = r.take("TargetUserName")
	t.Domain = r.take("TargetDomainName")
	t.ID = winSID(r.take("TargetSid"))
	winSet(ev, schemas.CategoryIAM, typ, action, r.outcome(def))
}

// winGroup maps a group change: the subject changed the group (Target*),
// adding or removing the member when there is one.
func winGroup(ev *schemas.Event, r *winRec, action, typ string) {
	winSubject(ev, r)
	ev.Group.Name = r.take("TargetUserName")
	ev.Group.Domain = r.take("TargetDomainName")
	ev.Group.ID = winSID(r.take("TargetSid"))
	ev.User.Target.ID = winSID(r.take("MemberSid"))
	ev.User.Target.Name = winCN(r.take("MemberName"))
	winSet(ev, schemas.CategoryIAM, typ, action, r.outcome(schemas.OutcomeSuccess))
}

// winKerberos maps the Kerberos events of a domain controller: 4768 (a
// TGT was requested), 4769 (a service ticket was requested), 4771
// (pre-authentication failed). The result code decides the outcome.
func winKerberos(ev *schemas.Event, r *winRec) {
	name, domain := r.take("TargetUserName"), r.take("TargetDomainName")
	// 4769 writes the account as "user@REALM".
	if at := strings.LastIndexByte(name, '@'); at > 0 {
		if domain == "" {
			domain = name[at+1:]
		}
		name = name[:at]
	}
	ev.User.Name, ev.User.Domain = name, domain
	ev.User.ID = winSID(r.take("TargetSid"))
	winSource(ev, r, "IpAddress", "IpPort")
	st := r.take("Status")
	ev.Winlog.Status = st
	action := winActKerberosTGT
	switch r.id {
	case 4769:
		action = winActKerberosService
	case 4771:
		action = winActKerberosPreauth
	}
	out := schemas.OutcomeFailure
	if n, ok := winUint(st, 1<<32); ok && n == 0 && r.id != 4771 {
		out = schemas.OutcomeSuccess
	} else if !ok && r.id != 4771 {
		out = r.outcome(schemas.OutcomeUnknown)
	}
	winSet(ev, schemas.CategoryAuthentication, schemas.TypeStart, action, out)
	if out == schemas.OutcomeFailure {
		ev.Event.Reason = winKerberosReason(st)
	}
}

// winObjectAccess maps 4656 (a handle to an object was requested) and
// 4663 (an object was accessed). The object name goes to file.path; a
// handle on LSASS or on the SAM is flagged by its action.
func winObjectAccess(ev *schemas.Event, r *winRec) {
	name := r.take("ObjectName")
	ev.File.Path = name
	ev.File.Name = winBaseName(name)
	action := winActObjectAccess
	switch {
	case winIsLSASS(name):
		action = winActLSASSAccess
	case winIsSAM(name, r.get("ObjectType")):
		action = winActSAMAccess
	}
	winSubject(ev, r)
	winProcess(ev, r, "ProcessName", "ProcessId")
	def := schemas.OutcomeSuccess // 4663 is written only for an access that was granted
	if r.id == 4656 {
		def = schemas.OutcomeUnknown
	}
	winSet(ev, schemas.CategoryFile, schemas.TypeAccess, action, r.outcome(def))
}

// winSysmon maps the Sysmon events rules use most: 1 (process created),
// 3 (network connection), 10 (process accessed, LSASS flagged) and 11
// (file created).
func winSysmon(ev *schemas.Event, r *winRec) {
	ev.Event.Dataset = DatasetWindowsSysmon
	ev.Observer.Product = "Sysmon"
	switch r.id {
	case 1:
		winProcess(ev, r, "Image", "ProcessId")
		ev.Process.CommandLine = r.take("CommandLine")
		ev.Process.Parent.Executable = r.take("ParentImage")
		ev.Process.Parent.PID, _ = winUint(r.take("ParentProcessId"), 1<<32)
		winDomainUser(ev, r.take("User"))
		winSet(ev, schemas.CategoryProcess, schemas.TypeStart, winActProcessCreated, schemas.OutcomeSuccess)
	case 3:
		winProcess(ev, r, "Image", "ProcessId")
		winDomainUser(ev, r.take("User"))
		winSource(ev, r, "SourceIp", "SourcePort")
		if ip := r.take("DestinationIp"); isIP(ip) {
			ev.Destination.IP = ip
		} else if ip != "" {
			r.put("DestinationIp", ip)
		}
		ev.Destination.Port, _ = winUint(r.take("DestinationPort"), 65535)
		ev.Destination.Domain = r.take("DestinationHostname")
		ev.Network.Transport = r.take("Protocol")
		switch r.get("Initiated") {
		case "true":
			ev.Network.Direction = "outbound"
		case "false":
			ev.Network.Direction = "inbound"
		}
		winSet(ev, schemas.CategoryNetwork, schemas.TypeConnection, winActNetworkConnection, "")
	case 10:
		winProcess(ev, r, "SourceImage", "SourceProcessId")
		winDomainUser(ev, r.take("SourceUser"))
		action := winActProcessAccess
		if winIsLSASS(r.get("TargetImage")) {
			action = winActLSASSAccess
		}
		winSet(ev, schemas.CategoryProcess, schemas.TypeAccess, action, schemas.OutcomeSuccess)
	case 11:
		winProcess(ev, r, "Image", "ProcessId")
		winDomainUser(ev, r.take("User"))
		ev.File.Path = r.take("TargetFilename")
		ev.File.Name = winBaseName(ev.File.Path)
		winSet(ev, schemas.CategoryFile, schemas.TypeCreation, winActFileCreated, schemas.OutcomeSuccess)
	}
}

// winEventlog maps the event log service's own events: 1102 (the
// Security log was cleared) and 104 (another log was cleared).
func winEventlog(ev *schemas.Event, r *winRec) {
	if strings.EqualFold(r.channel, "Security") {
		ev.Event.Dataset = DatasetWindowsSecurity
	}
	switch r.id {
	case 1102, 104:
		winSubject(ev, r)
		ev.Change.Item = r.channel
		if c := r.take("Channel"); c != "" {
			ev.Change.Item = c
		}
		winSet(ev, schemas.CategoryHost, schemas.TypeDeletion, winActLogCleared, schemas.OutcomeSuccess)
	}
}

// winProcess sets process.executable, name and pid from EventData keys.
// Process IDs are written in hex ("0x12d8") by Security events and in
// decimal by Sysmon.
func winProcess(ev *schemas.Event, r *winRec, exeKey, pidKey string) {
	exe := r.take(exeKey)
	ev.Process.Executable = exe
	ev.Process.Name = winBaseName(exe)
	ev.Process.PID, _ = winUint(r.take(pidKey), 1<<32)
}

// winSource sets source.ip and port. "-" and empty mean none; a
// loopback address (a logon on the machine itself) is not a source that
// rules can group on across machines, so it stays in Labels as written,
// as does anything that is not an address.
func winSource(ev *schemas.Event, r *winRec, ipKey, portKey string) {
	ip, port := r.take(ipKey), r.take(portKey)
	if ip == "" {
		return
	}
	if !isIP(ip) {
		r.put(ipKey, ip)
		return
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.Unmap().IsLoopback() {
		r.put(ipKey, ip)
		if port != "" {
			r.put(portKey, port)
		}
		return
	}
	setIP(ev, ip)
	if n, ok := winUint(port, 65535); ok {
		ev.Source.Port = n
	}
}

// winDomainUser sets user.domain and user.name from "DOMAIN\name".
func winDomainUser(ev *schemas.Event, s string) {
	if s == "" {
		return
	}
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		ev.User.Domain, ev.User.Name = s[:i], s[i+1:]
		return
	}
	ev.User.Name = s
}

// winSID drops the NULL SID, which stands for no account.
func winSID(s string) string {
	if s == "S-1-0-0" {
		return ""
	}
	return s
}

// winCN returns the first relative name of a distinguished name
// ("CN=bob,CN=Users,DC=example,DC=org" is "bob"), or s when it is not
// one. An escaped comma ("CN=Doe\, John") is kept with its backslash.
func winCN(s string) string {
	if len(s) < 3 || !strings.EqualFold(s[:3], "CN=") {
		return s
	}
	for i := 3; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ',':
			return s[3:i]
		}
	}
	return s[3:]
}

// winBaseName is the last element of a Windows or Unix path.
func winBaseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '\\' || p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// winIsLSASS reports whether an object or image path names lsass.exe.
func winIsLSASS(p string) bool {
	return strings.EqualFold(winBaseName(p), "lsass.exe")
}

// winIsSAM reports whether an object is the Security Account Manager
// database: its registry hive (\REGISTRY\MACHINE\SAM and keys below it),
// its file (...\config\SAM, also in a shadow copy) or a SAM object type.
func winIsSAM(name, objectType string) bool {
	const hive = `\REGISTRY\MACHINE\SAM`
	if len(name) >= len(hive) && strings.EqualFold(name[:len(hive)], hive) &&
		(len(name) == len(hive) || name[len(hive)] == '\\') {
		return true
	}
	const file = `\config\SAM`
	if len(name) >= len(file) && strings.EqualFold(name[len(name)-len(file):], file) {
		return true
	}
	return len(objectType) > 4 && strings.EqualFold(objectType[:4], "SAM_")
}

// winNTStatusReason words the NTSTATUS code of a failed logon (4625
// Status/SubStatus, 4776 Status), or "" for a code not listed.
func winNTStatusReason(code string) string {
	n, ok := winUint(code, 1<<32)
	if !ok {
		return ""
	}
	switch n {
	case 0xc000006a:
		return ReasonWrongPassword
	case 0xc0000064:
		return ReasonUserUnknown
	case 0xc000006d:
		return ReasonAuthFailed
	case 0xc0000234:
		return "account locked out"
	case 0xc0000072:
		return "account disabled"
	case 0xc000006e:
		return "account restriction"
	case 0xc000006f:
		return "outside logon hours"
	case 0xc0000070:
		return "workstation restriction"
	case 0xc0000071:
		return "password expired"
	case 0xc0000193:
		return "account expired"
	case 0xc0000224:
		return "password must change"
	case 0xc000015b:
		return "logon type not granted"
	case 0xc0000133:
		return "clock skew"
	case 0xc000005e:
		return "no logon servers"
	case 0xc0000413:
		return "authentication firewall"
	}
	return ""
}

// winKerberosReason words a Kerberos result code (RFC 4120 section
// 7.5.9) of 4768, 4769 and 4771, or "" for a code not listed.
func winKerberosReason(code string) string {
	n, ok := winUint(code, 1<<32)
	if !ok {
		return ""
	}
	switch n {
	case 0x6:
		return ReasonUserUnknown
	case 0x7:
		return "service unknown"
	case 0xc:
		return "policy restriction"
	case 0xe:
		return "unsupported encryption type"
	case 0x12:
		return "credentials revoked"
	case 0x17:
		return "password expired"
	case 0x18:
		return ReasonWrongPassword
	case 0x19:
		return "pre-authentication required"
	case 0x1f:
		return "integrity check failed"
	case 0x20:
		return "ticket expired"
	case 0x22:
		return "replay"
	case 0x25:
		return "clock skew"
	}
	return ""
}
