package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Generic key=value lines: pairs separated by spaces, a value either
// quoted with '"' or '\'' (a backslash escapes the next character) or
// running to the next space. It is the reader of last resort for lines
// that start with three such pairs and that no vendor reader claimed.

// DatasetKV is the event.dataset of generic key=value lines.
const DatasetKV = "kv"

// ReasonBadKV is a key=value line with a quoted value that is never
// closed, or closed and followed by something other than a space.
const ReasonBadKV = "bad_kv"

func init() {
	register(Source{
		Name:        "kv",
		Description: "generic key=value lines (at least three pairs at the start), with common key names mapped",
		Priority:    95,
		Sniff:       kvSniff,
		Reasons:     []string{ReasonBadKV},
		Parse:       parseKV,
	})
}

// kvSniffPairs is how many pairs must start a message for kv to claim it.
const kvSniffPairs = 3

// kvSniff reports whether msg starts with kvSniffPairs key=value pairs;
// a malformed last one (a quote never closed) still counts, so that Parse
// reports it. It reads at most those pairs and does not allocate.
func kvSniff(msg string) bool {
	i := 0
	for n := 0; n < kvSniffPairs; n++ {
		pr, ok := kvNext(msg, i)
		if !ok {
			return false
		}
		i = pr.next
	}
	return true
}

// kvPair is one pair as found in the text.
type kvPair struct {
	key, val string
	esc      bool // val is quoted text holding backslash escapes
	next     int  // where the next pair may start
	problem  string
	at       int
}

// kvNext reads the pair that starts at s[i] after any spaces. ok is false
// when there is no key= there (free text, or the end).
func kvNext(s string, i int) (kvPair, bool) {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	k := i
	if k >= len(s) || !(s[k] == '_' || (s[k]|0x20 >= 'a' && s[k]|0x20 <= 'z')) {
		return kvPair{}, false
	}
	for k < len(s) && genKeyChar(s[k]) {
		k++
	}
	if k == len(s) || s[k] != '=' {
		return kvPair{}, false
	}
	pr := kvPair{key: s[i:k]}
	v := k + 1
	if v < len(s) && (s[v] == '"' || s[v] == '\'') {
		q := s[v]
		j := v + 1
		for j < len(s) && s[j] != q {
			if s[j] == '\\' {
				pr.esc = true
				j++
			}
			j++
		}
		if j >= len(s) {
			pr.problem, pr.at = "a quoted value that is never closed", v
			pr.next = len(s)
			return pr, true
		}
		pr.val = s[v+1 : j]
		j++
		if j < len(s) && s[j] != ' ' && s[j] != '\t' {
			pr.problem, pr.at = "a quoted value followed by something other than a space", j
		}
		pr.next = j
		return pr, true
	}
	j := v
	for j < len(s) && s[j] != ' ' && s[j] != '\t' {
		j++
	}
	pr.val = s[v:j]
	if j == len(s) {
		pr.val = strings.TrimRight(pr.val, "\r\n")
	}
	pr.next = j
	return pr, true
}

func parseKV(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := in.Msg
	ev.Event.Dataset = DatasetKV
	var st kvState
	var bad *Error
	n := 0
	for i := 0; i < len(msg); {
		pr, ok := kvNext(msg, i)
		if !ok {
			// Free text between pairs is skipped to the next space.
			j := strings.IndexAny(msg[i:], " \t")
			if j < 0 {
				break
			}
			i += j + 1
			continue
		}
		if pr.problem != "" && bad == nil {
			bad = fail(ReasonBadKV, pr.problem+" (key "+genTruncate(pr.key, 64)+")", pr.at)
		}
		val := pr.val
		if pr.esc {
			val = genUnescape(val)
		}
		kvField(p, ev, &st, pr.key, val)
		n++
		i = pr.next
	}
	if n == 0 && bad == nil {
		bad = fail(ReasonBadKV, "expected key=value pairs", 0)
	}
	if st.time != "" {
		t, ok := p.genTime(st.time, in.Received)
		genSetTimestamp(ev, t, ok)
		if !ok {
			genLabel(ev, st.timeKey, st.time)
		}
	}
	if ev.Message == "" {
		ev.Message = msg
	}
	if ev.Threat.Name != "" {
		ev.Event.Category, ev.Event.Type, ev.Event.Action = schemas.CategoryMalware, schemas.TypeInfo, genActionMalwareDetected
		if ev.Event.Reason == "" {
			ev.Event.Reason = st.action
		}
	} else {
		genApplyVerdict(ev, st.action)
	}
	return bad
}

type kvState struct {
	action, time, timeKey string
}

// kvKind is where a key's value goes.
type kvKind uint8

const (
	kvLabel kvKind = iota
	kvSrcIP
	kvDstIP
	kvSrcPort
	kvDstPort
	kvUser
	kvTargetUser
	kvUserID
	kvAction
	kvTransport
	kvHost
	kvMessage
	kvOutcome
	kvSeverity
	kvSrcMAC
	kvDstMAC
	kvRuleName
	kvRuleID
	kvReason
	kvProcess
	kvPID
	kvFilePath
	kvFileName
	kvHash
	kvThreat
	kvTime
	kvSrcBytes
	kvDstBytes
)

// kvKeys maps lower-case key names that many products share to the
// schema. Keys are compared in lower case.
var kvKeys = map[string]kvKind{
	"src": kvSrcIP, "srcip": kvSrcIP, "src_ip": kvSrcIP, "source_ip": kvSrcIP, "sourceip": kvSrcIP,
	"source_address": kvSrcIP, "srcaddr": kvSrcIP, "src_addr": kvSrcIP, "saddr": kvSrcIP, "sip": kvSrcIP,
	"client_ip": kvSrcIP, "clientip": kvSrcIP, "remote_addr": kvSrcIP, "rhost_ip": kvSrcIP,
	"dst": kvDstIP, "dstip": kvDstIP, "dst_ip": kvDstIP, "destination_ip": kvDstIP, "destip": kvDstIP,
	"dest_ip": kvDstIP, "destination_address": kvDstIP, "dstaddr": kvDstIP, "dst_addr": kvDstIP,
	"daddr": kvDstIP, "dip": kvDstIP, "server_ip": kvDstIP,
	"sport": kvSrcPort, "srcport": kvSrcPort, "src_port": kvSrcPort, "source_port": kvSrcPort, "spt": kvSrcPort,
	"dport": kvDstPort, "dstport": kvDstPort, "dst_port": kvDstPort, "destination_port": kvDstPort,
	"dest_port": kvDstPort, "dpt": kvDstPort,
	"user": kvUser, "username": kvUser, "usr": kvUser, "user_name": kvUser, "uname": kvUser,
	"login": kvUser, "account": kvUser, "suser": kvUser, "srcuser": kvUser, "src_user": kvUser,
	"duser": kvTargetUser, "dstuser": kvTargetUser, "dst_user": kvTargetUser, "target_user": kvTargetUser,
	"targetuser": kvTargetUser,
	"uid":        kvUserID,
	"action":     kvAction, "act": kvAction,
	"proto": kvTransport, "protocol": kvTransport, "transport": kvTransport,
	"host": kvHost, "hostname": kvHost, "devname": kvHost,
	"msg": kvMessage, "message": kvMessage,
	"outcome": kvOutcome, "result": kvOutcome, "status": kvOutcome,
	"severity": kvSeverity, "sev": kvSeverity,
	"srcmac": kvSrcMAC, "src_mac": kvSrcMAC, "smac": kvSrcMAC,
	"dstmac": kvDstMAC, "dst_mac": kvDstMAC, "dmac": kvDstMAC,
	"rule": kvRuleName, "rule_name": kvRuleName, "rulename": kvRuleName, "policy": kvRuleName,
	"policyname": kvRuleName,
	"rule_id":    kvRuleID, "ruleid": kvRuleID, "policyid": kvRuleID, "policy_id": kvRuleID,
	"reason":  kvReason,
	"process": kvProcess, "proc": kvProcess, "program": kvProcess,
	"pid":  kvPID,
	"file": kvFilePath, "filepath": kvFilePath, "file_path": kvFilePath,
	"filename": kvFileName, "file_name": kvFileName,
	"md5": kvHash, "sha1": kvHash, "sha256": kvHash, "hash": kvHash, "filehash": kvHash,
	"virus": kvThreat, "virus_name": kvThreat, "virusname": kvThreat, "malware": kvThreat,
	"malware_name": kvThreat, "threat": kvThreat, "threat_name": kvThreat,
	"time": kvTime, "timestamp": kvTime, "ts": kvTime, "datetime": kvTime,
	"sentbyte": kvSrcBytes, "bytes_sent": kvSrcBytes, "sent_bytes": kvSrcBytes, "srcbytes": kvSrcBytes,
	"rcvdbyte": kvDstBytes, "bytes_received": kvDstBytes, "received_bytes": kvDstBytes, "dstbytes": kvDstBytes,
}

// kvKindOf looks key up in lower case without allocating.
func kvKindOf(key string) kvKind {
	var buf [32]byte
	if len(key) > len(buf) {
		return kvLabel
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return kvKeys[string(buf[:len(key)])]
}

// kvField files one pair; a value that does not fit its field goes to
// Labels under its key.
func kvField(p *Parser, ev *schemas.Event, st *kvState, key, val string) {
	ok := true
	switch kvKindOf(key) {
	case kvSrcIP:
		ok = ev.Source.IP == "" && genSetIP(&ev.Source, val)
	case kvDstIP:
		ok = ev.Destination.IP == "" && genSetIP(&ev.Destination, val)
	case kvSrcPort:
		ev.Source.Port, ok = genPort(val)
	case kvDstPort:
		ev.Destination.Port, ok = genPort(val)
	case kvUser:
		ok = ev.User.Name == "" && val != ""
		if ok {
			ev.User.Name = val
		}
	case kvTargetUser:
		ev.User.Target.Name = val
	case kvUserID:
		ev.User.ID = val
	case kvAction:
		st.action = val
		ok = false
	case kvTransport:
		ok = val != ""
		ev.Network.Transport = genTransport(val)
	case kvHost:
		ok = ev.Host.Name == "" && val != ""
		if ok {
			ev.Host.Name = val
		}
	case kvMessage:
		ev.Message = val
	case kvOutcome:
		ev.Event.Outcome, ok = genOutcome(val)
	case kvSeverity:
		ev.Event.Severity, ok = genUint(val)
	case kvSrcMAC:
		ev.Source.MAC = val
	case kvDstMAC:
		ev.Destination.MAC = val
	case kvRuleName:
		ev.Rule.Name = val
	case kvRuleID:
		ev.Rule.ID = val
	case kvReason:
		ev.Event.Reason = val
	case kvProcess:
		ev.Process.Name = val
	case kvPID:
		ev.Process.PID, ok = genUint(val)
	case kvFilePath:
		ev.File.Path = val
		if ev.File.Name == "" {
			ev.File.Name = genBaseName(val)
		}
	case kvFileName:
		ev.File.Name = val
	case kvHash:
		ok = genSetHash(ev, val)
	case kvThreat:
		ok = val != ""
		ev.Threat.Name = val
	case kvTime:
		st.time, st.timeKey = val, key
	case kvSrcBytes:
		ev.Source.Bytes, ok = genUint(val)
	case kvDstBytes:
		ev.Destination.Bytes, ok = genUint(val)
	default:
		ok = false
	}
	if !ok {
		genLabel(ev, key, val)
	}
}
