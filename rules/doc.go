// Package rules loads, checks and compiles tocsin's detection rules.
//
// # Files
//
// A rules directory holds YAML files (*.yaml, *.yml, searched
// recursively) and a lists/ subdirectory of named lists. Each rule file
// is one YAML mapping with a list of rules and, optionally, the tests
// that go with them:
//
//	rules:
//	  - id: ssh-brute-force-fast          # unique, stable; lower case
//	    title: SSH brute force (burst)
//	    description: ...
//	    severity: high                    # info|low|medium|high|critical
//	    references: [https://attack.mitre.org/techniques/T1110/001/]
//	    tags: [attack.credential_access, attack.t1110.001]
//	    kind: threshold                   # match | threshold
//	    condition: event.action == "ssh_login" && event.outcome == "failure"
//	    group_by: [source.ip]             # required; fields known to schemas.LookupField
//	    threshold: 10                     # threshold kind: see below
//	    window: 1m
//	    reason: "{count} failed SSH logins from {source.ip} within {window}"
//	tests:
//	  - name: ten failures in a minute
//	    now: 2024-12-31T00:00:00Z         # reference time (year inference)
//	    lines: |                          # raw log lines, parsed as ingest does
//	      Dec 10 06:55:46 host sshd[24200]: Failed password for root from ...
//	    events:                           # or events given field by field
//	      - {timestamp: "+10s", event.action: ssh_login, source.ip: 192.0.2.9}
//	    expect:                           # every alert of the file's rules;
//	      - rule: ssh-brute-force-fast    # [] means "no alert"
//	        group: {source.ip: 192.0.2.9}
//	        count: 1                      # default 1; 0 asserts none
//
// Decoding is strict: unknown keys, duplicate keys, wrong types and YAML
// aliases are errors. Load reports every problem of every file at once,
// each as "file:line: rule "id": field: message", so an operator can fix
// a whole directory in one pass.
//
// # Conditions
//
// A condition is an expr-lang expression over schemas.Event, using its
// dotted ECS names (event.action, source.ip, user.name, ...). It is
// compiled once at load; a misspelt field is a load error naming the
// field ("unknown field actoin (event.actoin); did you mean
// event.action?"). in_list(value, "name") tests membership in a named
// list; the name must be a constant naming a loaded list.
//
// Top-level conjuncts of the forms field == "x", field != "x", field in
// [...], field not in [...] and [!]in_list(field, "name") on string fields
// are evaluated natively, without the expr VM and without allocating, and
// the first equality on event.action (or another selective field) becomes
// the condition's IndexHint, so the engine only looks at events that carry
// that value. Other expressions run in the VM after the native checks
// pass.
//
// # Kinds
//
// match fires once per matching event.
//
// threshold counts matching events per group in a sliding window of event
// time and fires once when the count reaches threshold; it re-arms when
// the group has no counted event for a whole window. Each event counts
// event.count times (so "message repeated 5 times" counts five and a
// count of 0 counts nothing). With distinct: FIELD it counts distinct
// values of FIELD instead ("many users from one source"). With
// followed_by: {condition, within}, reaching the threshold only arms the
// rule: it fires when an event of the same group matching the follow-up
// condition arrives within `within` of the last counted event ("brute
// force, then a successful login from the same source").
//
// Kinds plug in through the Kind interface: a kind reads its own keys
// through a KindContext and compiles a Detector whose Groups hold per-group
// state. The loader and the engine know nothing kind-specific.
//
// # Lists
//
// lists/NAME.txt holds one value per line ('#' starts a comment);
// lists/NAME.yaml a YAML list. IP addresses match any spelling of the same
// address, and CIDR prefixes match every address they cover. A list name
// present in several sources (the built-in rules and an operator's
// directory) is the union of them.
package rules
