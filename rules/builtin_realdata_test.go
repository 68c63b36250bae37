package rules_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/internal/shareddata"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// The tests below replay public recordings of real attacks through the
// parser and the built-in rules, and check the alerts against what each
// recording is documented to hold, read straight off the raw records
// without tocsin's parser.

// replayBuiltin parses every line of path and runs the built-in rules on
// the events, returning the alerts.
func replayBuiltin(t *testing.T, path string) []schemas.Alert {
	t.Helper()
	set, err := rules.Load(rules.BuiltinSource())
	require.NoError(t, err)
	out := &bus.Collector[schemas.Alert]{}
	eng, err := engine.New(engine.Options{Rules: set, Alerts: out, Shards: 1})
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	p := parse.New(parse.Options{})
	tracker := parse.NewSSHDTracker(0)
	received := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var evs []*schemas.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := uint64(1); sc.Scan(); n++ {
		ev := new(schemas.Event)
		require.NoError(t, p.Parse(sc.Text(), received, ev), sc.Text())
		tracker.Apply(ev)
		ev.ID = n
		evs = append(evs, ev)
	}
	require.NoError(t, sc.Err())
	ctx := context.Background()
	require.NoError(t, eng.Handle(ctx, evs))
	require.NoError(t, eng.Flush(ctx))
	require.NoError(t, eng.Close(ctx))
	alerts := out.Take()
	for _, a := range alerts {
		t.Logf("%s [%s]: %s", a.RuleID, a.GroupKey, a.Reason)
	}
	return alerts
}

// alertGroups returns, sorted, the group keys of the alerts of rule id.
func alertGroups(alerts []schemas.Alert, id string) []string {
	var out []string
	for _, a := range alerts {
		if a.RuleID == id && !slices.Contains(out, a.GroupKey) {
			out = append(out, a.GroupKey)
		}
	}
	sort.Strings(out)
	return out
}

// otrfRecord is what these tests read of an OTRF record (NXLog's flat
// layout: the EventData names at the top level).
type otrfRecord struct {
	EventID         int
	Hostname        string
	EventTime       string
	TargetImage     string // Sysmon 10
	SourceImage     string
	GrantedAccess   string
	ObjectName      string // Security 4656, 4663
	ProcessName     string
	AccessMask      string
	TargetUserName  string // Security 4625
	IpAddress       string
	WorkstationName string
}

func readOTRF(t *testing.T, path string) []otrfRecord {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []otrfRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r otrfRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// readsMemory reports whether an access mask written in hex grants
// PROCESS_VM_READ (0x10), the right a credential dump needs.
func readsMemory(t *testing.T, mask string) bool {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(mask), "0x"), 16, 64)
	require.NoError(t, err, mask)
	return n&0x10 != 0
}

// TestBuiltinRulesOnOTRFRecordings: in the OTRF Security-Datasets
// recordings, the LSASS rule alerts for exactly the processes that opened
// LSASS with the right to read its memory (comsvcs.dll's MiniDump run by
// rundll32), and not for svchost's routine queries; the log-cleared rule
// for each cleared log; the spray rule for each source whose failed logons
// (4625) named five or more accounts within two minutes (PurpleSharp's
// spray); and no other rule alerts.
func TestBuiltinRulesOnOTRFRecordings(t *testing.T) {
	cases := []struct {
		file      string
		documents string // the rule the recording's attack must trigger, if any
	}{
		{"otrf/credential_dumping/psh_lsass_memory_dump_comsvcs.jsonl", "windows-lsass-access"},
		{"otrf/brute_force_spray/purplesharp_ad_playbook_I.filtered.jsonl", "windows-password-spray"},
		{"otrf/account_creation/empire_wmic_add_user_backdoor.filtered.jsonl", ""},
		{"otrf/lateral_movement/covenant_copy_smb_CreateRequest.jsonl", ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := shareddata.Path(t, c.file)
			recs := readOTRF(t, path)
			var lsass, cleared []string
			type failure struct {
				at   time.Time
				user string
			}
			failures := map[string][]failure{}
			for _, r := range recs {
				switch {
				case r.EventID == 10 && strings.HasSuffix(strings.ToLower(r.TargetImage), `\lsass.exe`) && readsMemory(t, r.GrantedAccess):
					lsass = append(lsass, r.Hostname+"|"+r.SourceImage)
				case (r.EventID == 4656 || r.EventID == 4663) && strings.HasSuffix(strings.ToLower(r.ObjectName), `\lsass.exe`) &&
					readsMemory(t, r.AccessMask):
					lsass = append(lsass, r.Hostname+"|"+r.ProcessName)
				case r.EventID == 1102 || r.EventID == 104:
					cleared = append(cleared, r.Hostname)
				case r.EventID == 4625:
					src := r.IpAddress
					if src == "" || src == "-" || src == "127.0.0.1" || src == "::1" {
						src = r.WorkstationName
					}
					at, err := time.Parse(time.DateTime, r.EventTime)
					require.NoError(t, err)
					failures[src] = append(failures[src], failure{at, r.TargetUserName})
				}
			}
			var sprays []string
			for src, fs := range failures {
				for i := range fs {
					users := map[string]bool{}
					for _, f := range fs {
						if !f.at.Before(fs[i].at) && f.at.Sub(fs[i].at) <= 2*time.Minute {
							users[f.user] = true
						}
					}
					if len(users) >= 5 && src != "" && src != "-" {
						sprays = append(sprays, src)
						break
					}
				}
			}
			uniq := func(s []string) []string { sort.Strings(s); return slices.Compact(s) }

			alerts := replayBuiltin(t, path)
			require.Equal(t, uniq(lsass), alertGroups(alerts, "windows-lsass-access"))
			require.Equal(t, uniq(cleared), alertGroups(alerts, "windows-log-cleared"))
			require.Equal(t, uniq(sprays), alertGroups(alerts, "windows-password-spray"))
			for _, a := range alerts {
				require.Contains(t, []string{"windows-lsass-access", "windows-log-cleared", "windows-password-spray"}, a.RuleID,
					"unexpected alert: %s", a.Reason)
			}
			if c.documents != "" {
				require.NotEmpty(t, alertGroups(alerts, c.documents), "the recorded attack goes unnoticed")
			}
		})
	}
}

// TestBuiltinPortScanAgreesWithCrowdSec: on the CrowdSec hub's
// iptables-scan-multi-port test log, the port-scan rules flag the same
// sources that CrowdSec's scenario test expects (each with 16 or 17
// distinct ports refused or logged within a second), and none of the
// loopback source whose packets UFW only audits.
func TestBuiltinPortScanAgreesWithCrowdSec(t *testing.T) {
	dir := "crowdsec_hub_tests/iptables-scan-multi-port/"
	assert, err := os.ReadFile(shareddata.Path(t, dir+"scenario.assert"))
	require.NoError(t, err)
	var want []string
	for _, m := range regexp.MustCompile(`"([^"]+)" in results\[\d+\]\.Overflow\.GetSources\(\)`).FindAllStringSubmatch(string(assert), -1) {
		want = append(want, m[1])
	}
	sort.Strings(want)
	require.Len(t, want, 2, "the scenario test expects two sources")

	alerts := replayBuiltin(t, shareddata.Path(t, dir+"iptables-scan-multi-port.log"))
	got := append(alertGroups(alerts, "firewall-port-scan-external"), alertGroups(alerts, "firewall-port-scan-internal")...)
	sort.Strings(got)
	require.Equal(t, want, got)
	require.Len(t, alerts, len(want), "one alert per source, from no other rule")
}
