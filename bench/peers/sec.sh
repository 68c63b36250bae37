#!/usr/bin/env bash
# sec.sh FILE [TRUTH]: replays FILE through SEC (the Simple Event
# Correlator) with the shared SSH brute-force rule, pinned to one core, and
# prints lines per CPU-second (user+sys) and peak RSS, median of $RUNS
# runs. With a truth file (default: FILE with its extension replaced by
# .truth.json, when that exists) it also scores SEC's alerts with
# checktruth, for information only: the rule covers one kind, and SEC's
# windows run on wall-clock time, so a replay squeezes the whole log into
# one window.
#
# Installs SEC and GNU time from Debian when missing (as root). The rule
# file is read from $PEERDIR (default: shared/peers beside the repo) and is
# not copied into the repo: no licence is stated for it.
#
# Environment: PEERDIR, CPU (core, default 0), RUNS (default 3),
# KEEP=1 keeps the work folder (SEC's alerts) and prints its path.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	die "usage: sec.sh FILE [TRUTH]"
fi
file=$1
[ -r "$file" ] || die "cannot read $file"
truth=${2:-${file%.*}.truth.json}
PEERDIR=${PEERDIR:-$REPO/../shared/peers}
rule=$PEERDIR/sec-ssh-bf.sec
[ -r "$rule" ] || die "cannot read $rule: set PEERDIR to the folder holding sec-ssh-bf.sec"

need_tools
command -v sec >/dev/null || apt_install sec

work=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then
	echo "work folder: $work"
else
	trap 'rm -rf "$work"' EXIT
fi
sed "s|@OUTDIR@|$work|g" "$rule" >"$work/sec-ssh-bf.sec"

lines=$(wc -l <"$file")
echo "sec $(sec --version 2>/dev/null | head -n1 | awk '{print $NF}') on $file ($lines lines), core $CPU, $RUNS runs"
cmd=(sec "--conf=$work/sec-ssh-bf.sec" "--input=$file" --notail --nointevents --log=/dev/null)
echo "command: taskset -c $CPU /usr/bin/time -v ${cmd[*]}"
times=()
for i in $(seq 1 "$RUNS"); do
	rm -f "$work/sec.alerts"
	timed "$work/time.$i" "${cmd[@]}" >/dev/null 2>"$work/stderr.$i" ||
		die "sec failed (run $i): $(tail -n3 "$work/stderr.$i")"
	times+=("$work/time.$i")
done
alerts=$( [ -f "$work/sec.alerts" ] && wc -l <"$work/sec.alerts" || echo 0)
sources=$( [ -f "$work/sec.alerts" ] && awk '{print $NF}' "$work/sec.alerts" | sort -u | wc -l || echo 0)
echo "alerts: $alerts lines naming $sources sources (SEC's windows follow wall-clock time, not the log's)"
report sec "$lines" "${times[@]}"

if [ -r "$truth" ] && [ -f "$work/sec.alerts" ]; then
	echo "detection check of SEC's alerts (information only):"
	awk '$1 == "ALERT" { printf "{\"id\":\"sec-%d\",\"title\":\"%s\",\"rule_ids\":[\"sec-ssh-bf\"],\"entities\":[{\"type\":\"ip\",\"field\":\"source.ip\",\"value\":\"%s\"}]}\n", NR, $0, $NF }' \
		"$work/sec.alerts" >"$work/sec.jsonl"
	(cd "$REPO" && go build -o "$work/checktruth" ./bench/cmd/checktruth) || die "cannot build checktruth"
	"$work/checktruth" -truth "$truth" -incidents "$work/sec.jsonl" -kind sec-ssh-bf=ssh_bruteforce_fast || true
fi
