#!/usr/bin/env bash
# tocsin.sh FILE [TRUTH]: replays FILE through `tocsin replay --output
# jsonl` on one core (GOMAXPROCS=1, pinned), prints lines per CPU-second
# (user+sys) and peak RSS, median of $RUNS runs, then scores the last
# run's incidents with checktruth against TRUTH (default: FILE with its
# extension replaced by .truth.json, when that exists).
#
# Environment: TOCSIN (binary, default ./bin/tocsin, then <repo>/bin/tocsin),
# TOCSIN_ARGS (extra replay flags, e.g. "--rules rules/"), CHECKTRUTH_ARGS
# (e.g. "-kind my-rule=ssh_bruteforce_fast"), CPU, RUNS,
# KEEP=1 keeps the work folder (incidents.jsonl) and prints its path.
# Exits with checktruth's status: 1 when an attacker was missed or a
# benign source flagged.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	die "usage: tocsin.sh FILE [TRUTH]"
fi
file=$1
[ -r "$file" ] || die "cannot read $file"
truth=${2:-${file%.*}.truth.json}

bin=${TOCSIN:-}
if [ -z "$bin" ]; then
	if [ -x ./bin/tocsin ]; then bin=./bin/tocsin; else bin=$REPO/bin/tocsin; fi
fi
[ -x "$bin" ] || die "cannot run $bin: build it (go build -o bin/tocsin ./cmd/tocsin) or set TOCSIN"

need_tools
work=$(mktemp -d)
if [ "${KEEP:-0}" = 1 ]; then
	echo "work folder: $work"
else
	trap 'rm -rf "$work"' EXIT
fi

lines=$(wc -l <"$file")
read -ra extra <<<"${TOCSIN_ARGS:-}"
cmd=("$bin" replay "${extra[@]}" --output jsonl "$file")
echo "tocsin on $file ($lines lines), core $CPU, GOMAXPROCS=1, $RUNS runs"
echo "command: GOMAXPROCS=1 taskset -c $CPU /usr/bin/time -v ${cmd[*]}"
times=()
for i in $(seq 1 "$RUNS"); do
	GOMAXPROCS=1 timed "$work/time.$i" "${cmd[@]}" >"$work/incidents.jsonl" 2>"$work/stderr.$i" ||
		die "tocsin replay failed (run $i): $(tail -n3 "$work/stderr.$i")"
	times+=("$work/time.$i")
done
echo "incidents: $(wc -l <"$work/incidents.jsonl")"
report tocsin "$lines" "${times[@]}"

if [ ! -r "$truth" ]; then
	echo "no truth file $truth: skipping the detection check"
	exit 0
fi
(cd "$REPO" && go build -o "$work/checktruth" ./bench/cmd/checktruth) || die "cannot build checktruth"
read -ra check <<<"${CHECKTRUTH_ARGS:-}"
"$work/checktruth" -truth "$truth" -incidents "$work/incidents.jsonl" "${check[@]}"
