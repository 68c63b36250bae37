package parse

import (
	"strconv"

	"github.com/tidwall/gjson"
)

// The JSON layouts of Windows events. Each reader makes one pass over the
// keys it needs with gjson; strings without JSON escapes stay substrings
// of the record.

// readBeat reads a Winlogbeat / Elastic Agent document.
func (r *winRec) readBeat(doc gjson.Result) {
	var host, outcome string
	var code gjson.Result
	doc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "@timestamp":
			r.time = v.Str
		case "message":
			r.message = v.Str
		case "host":
			host = v.Get("name").Str
		case "event":
			code = v.Get("code")
			outcome = v.Get("outcome").Str
		case "winlog":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "event_id":
					r.setID(winScalar(v))
				case "provider_name":
					r.provider = v.Str
				case "channel":
					r.channel = v.Str
				case "computer_name":
					r.computer = v.Str
				case "record_id":
					r.record = winScalar(v)
				case "keywords":
					r.beatKeywords(v)
				case "time_created":
					if r.time == "" {
						r.time = v.Str
					}
				case "event_data", "user_data":
					v.ForEach(func(k, v gjson.Result) bool {
						if k.Str != "xml_name" && v.Type != gjson.JSON {
							r.put(k.Str, winScalar(v))
						}
						return true
					})
				}
				return true
			})
		}
		return true
	})
	if r.code == "" && code.Exists() {
		r.setID(winScalar(code)) // ECS event.code, when winlog.event_id is missing
	}
	if r.computer == "" {
		r.computer = host
	}
	// Winlogbeat 7 sets event.outcome from the keywords itself; it is a
	// fixed English word, used only when the keywords gave none.
	if r.audit == winAuditUnknown {
		switch outcome {
		case "success":
			r.audit = winAuditSuccess
		case "failure":
			r.audit = winAuditFailure
		}
	}
}

// beatKeywords reads winlog.keywords: names, as an array or one string.
// Names are in the language of the machine that rendered them; only the
// English audit names are read for meaning.
func (r *winRec) beatKeywords(v gjson.Result) {
	if !v.IsArray() {
		r.keywords = v.Str
		r.auditWord(v.Str)
		return
	}
	n := 0
	v.ForEach(func(_, k gjson.Result) bool {
		r.auditWord(k.Str)
		if n == 0 {
			r.keywords = k.Str
		} else {
			r.keywords += "," + k.Str
		}
		n++
		return n < 64
	})
}

// winNXLogMeta are the keys NXLog's im_msvistalog and a Logstash or
// Fluentd hop add beside the EventData; they are not EventData.
var winNXLogMeta = map[string]bool{
	"EventTime": true, "EventReceivedTime": true, "Hostname": true, "Keywords": true,
	"EventType": true, "SeverityValue": true, "Severity": true, "SourceName": true,
	"ProviderGuid": true, "EventID": true, "Version": true, "Task": true, "OpcodeValue": true,
	"Opcode": true, "RecordNumber": true, "ActivityID": true, "RelatedActivityID": true,
	"ExecutionProcessID": true, "ExecutionThreadID": true, "ThreadID": true, "Channel": true, "Domain": true,
	"AccountName": true, "UserID": true, "AccountType": true, "Category": true,
	"Message": true, "SourceModuleName": true, "SourceModuleType": true,
	"EventTypeOrignal": true, "TimeCreated": true, "@timestamp": true, "@version": true,
	"tags": true, "host": true, "port": true, "ERROR_EVT_UNRESOLVED": true,
}

// readNXLog reads an NXLog im_msvistalog record. Its EventTime is the
// Windows host's local time without zone; the parser's Location reads
// it.
func (r *winRec) readNXLog(doc gjson.Result) {
	var created, logstash string
	doc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "EventID":
			r.setID(winScalar(v))
		case "SourceName":
			r.provider = v.Str
		case "Channel":
			r.channel = v.Str
		case "Hostname":
			r.computer = v.Str
		case "RecordNumber":
			r.record = winScalar(v)
		case "Keywords":
			r.setKeywords(winScalar(v))
		case "EventType":
			r.auditWord(v.Str)
		case "EventTime":
			r.time = v.Str
		case "TimeCreated":
			created = v.Str
		case "@timestamp":
			logstash = v.Str
		case "Message":
			r.message = v.Str
		default:
			if !winNXLogMeta[k.Str] && v.Type != gjson.JSON {
				r.put(k.Str, winScalar(v))
			}
		}
		return true
	})
	// The record's own times first; a Logstash hop's receive time last.
	if r.time == "" {
		r.time = created
	}
	if r.time == "" {
		r.time = logstash
	}
}

// readWazuh reads a Wazuh eventchannel record, at the top or inside a
// Wazuh alert's "data".
func (r *winRec) readWazuh(doc gjson.Result) {
	win := doc.Get("win")
	if !win.Exists() {
		win = doc.Get("data.win")
	}
	win.Get("system").ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "eventID":
			r.setID(winScalar(v))
		case "providerName":
			r.provider = v.Str
		case "channel":
			r.channel = v.Str
		case "computer":
			r.computer = v.Str
		case "eventRecordID":
			r.record = winScalar(v)
		case "keywords":
			r.setKeywords(v.Str)
		case "severityValue":
			r.auditWord(v.Str)
		case "systemTime":
			r.time = v.Str
		case "level":
			r.level = winScalar(v)
		case "message":
			// Wazuh wraps the rendered message in a second pair of quotes.
			m := v.Str
			if len(m) >= 2 && m[0] == '"' && m[len(m)-1] == '"' {
				m = m[1 : len(m)-1]
			}
			r.message = m
		}
		return true
	})
	win.Get("eventdata").ForEach(func(k, v gjson.Result) bool {
		if v.Type != gjson.JSON {
			r.put(winUpperFirst(k.Str), winScalar(v))
		}
		return true
	})
}

// readEvtx reads the evtx_dump JSON layout.
func (r *winRec) readEvtx(doc gjson.Result) {
	e := doc.Get("Event")
	e.Get("System").ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "EventID":
			if v.IsObject() {
				v = v.Get("#text")
			}
			r.setID(winScalar(v))
		case "Provider":
			r.provider = v.Get("#attributes.Name").Str
		case "Channel":
			r.channel = v.Str
		case "Computer":
			r.computer = v.Str
		case "EventRecordID":
			r.record = winScalar(v)
		case "Keywords":
			r.setKeywords(winScalar(v))
		case "Level":
			r.level = winScalar(v)
		case "TimeCreated":
			r.time = v.Get("#attributes.SystemTime").Str
		}
		return true
	})
	e.Get("EventData").ForEach(func(k, v gjson.Result) bool {
		if k.Str != "#attributes" && v.Type != gjson.JSON {
			r.put(k.Str, winScalar(v))
		}
		return true
	})
	// UserData holds one element named for the event, whose children are
	// the values.
	e.Get("UserData").ForEach(func(_, inner gjson.Result) bool {
		inner.ForEach(func(k, v gjson.Result) bool {
			if k.Str != "#attributes" && v.Type != gjson.JSON {
				r.put(k.Str, winScalar(v))
			}
			return true
		})
		return false
	})
}

// readPS reads a PowerShell Get-WinEvent record. Its Properties carry no
// names: the layouts of the events in winPSTemplates get their names,
// any other event's values are param1, param2, ... as Winlogbeat names
// unnamed values.
func (r *winRec) readPS(doc gjson.Result) {
	var props gjson.Result
	var logName string
	doc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "Id":
			r.setID(winScalar(v))
		case "ProviderName":
			r.provider = v.Str
		case "LogName":
			r.channel = v.Str
		case "ContainerLog":
			logName = v.Str
		case "MachineName":
			r.computer = v.Str
		case "RecordId":
			r.record = winScalar(v)
		case "Keywords":
			r.setKeywords(winScalar(v))
		case "Level":
			r.level = winScalar(v)
		case "TimeCreated":
			r.time = v.Str
		case "Message":
			r.message = v.Str
		case "Properties":
			props = v
		}
		return true
	})
	if r.channel == "" {
		r.channel = logName
	}
	names := winPSNames(r.provider, r.id)
	i := 0
	props.ForEach(func(_, p gjson.Result) bool {
		v := p
		if p.IsObject() {
			v = p.Get("Value")
			if v.IsObject() { // a SID: {"BinaryLength":..,"Value":"S-1-5-18"}
				v = v.Get("Value")
			}
		}
		switch {
		case i < len(names):
			r.put(names[i], winScalar(v))
		case i < len(winParamNames):
			r.put(winParamNames[i], winScalar(v))
		}
		i++
		return i < winMaxLabels
	})
}

// winParamNames names unnamed event values, as Winlogbeat does.
var winParamNames = func() []string {
	out := make([]string, 64)
	for i := range out {
		out[i] = "param" + strconv.Itoa(i+1)
	}
	return out
}()

// winScalar is a JSON value as text: a string's contents, a number's or
// a boolean's literal, "" for null.
func winScalar(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Null:
		return ""
	}
	return v.Raw
}

// winUpperFirst turns Wazuh's "targetUserName" into the EventData name
// "TargetUserName". The common names come from a table; others allocate.
func winUpperFirst(k string) string {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return k
	}
	if u, ok := winWazuhNames[k]; ok {
		return u
	}
	return string(k[0]-'a'+'A') + k[1:]
}

// winWazuhNames maps the lower camel case of common EventData names to
// the names themselves.
var winWazuhNames = func() map[string]string {
	names := []string{
		"SubjectUserName", "SubjectDomainName", "SubjectUserSid", "SubjectLogonId", "TargetUserName",
		"TargetDomainName", "TargetUserSid", "TargetSid", "TargetLogonId", "TargetServerName", "TargetInfo",
		"IpAddress", "IpPort", "WorkstationName", "Workstation", "LogonType", "LogonProcessName",
		"AuthenticationPackageName", "LmPackageName", "TransmittedServices", "KeyLength", "LogonGuid",
		"ImpersonationLevel", "ElevatedToken", "VirtualAccount", "RestrictedAdminMode", "ProcessName",
		"ProcessId", "Status", "SubStatus", "FailureReason", "ObjectServer", "ObjectType", "ObjectName",
		"HandleId", "AccessList", "AccessMask", "AccessReason", "PrivilegeList", "ResourceAttributes",
		"NewProcessName", "NewProcessId", "CommandLine", "ParentProcessName", "TokenElevationType",
		"MandatoryLabel", "MemberName", "MemberSid", "SamAccountName", "ServiceName", "ServiceSid",
		"TicketOptions", "TicketEncryptionType", "PreAuthType", "PackageName", "RuleName", "UtcTime",
		"ProcessGuid", "Image", "ParentImage", "ParentProcessId", "ParentProcessGuid", "User", "Hashes",
		"SourceIp", "SourcePort", "DestinationIp", "DestinationPort", "DestinationHostname", "Protocol",
		"Initiated", "SourceImage", "SourceProcessId", "SourceProcessGUID", "SourceThreadId", "SourceUser",
		"TargetImage", "TargetProcessId", "TargetProcessGUID", "GrantedAccess", "CallTrace", "TargetFilename",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[string(n[0]-'A'+'a')+n[1:]] = n
	}
	return m
}()
