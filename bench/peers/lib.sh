# Shared helpers for the peer benchmark scripts; sourced, not run.
# shellcheck shell=bash

# REPO is the tocsin checkout holding this script.
# shellcheck disable=SC2034 # used by the scripts that source this file.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# CPU is the core every measured process is pinned to.
CPU=${CPU:-0}
# RUNS is how many times each measurement is repeated; the median is kept.
RUNS=${RUNS:-3}

die() {
	echo "$(basename "$0"): $*" >&2
	exit 2
}

# apt_install PKG... installs Debian packages without letting their
# maintainer scripts start services: a policy-rc.d that answers 101
# ("action forbidden") is in place for the install and removed after,
# unless one was there already.
apt_install() {
	[ "$(id -u)" = 0 ] || die "cannot install $*: run as root, or install them first"
	local policy=/usr/sbin/policy-rc.d ours=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		ours=1
	fi
	local rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
		{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; } ||
		rc=$?
	if [ "$ours" = 1 ]; then
		rm -f "$policy"
	fi
	[ "$rc" = 0 ] || die "cannot install $*: apt-get failed ($rc)"
}

need_tools() {
	command -v taskset >/dev/null || apt_install util-linux
	[ -x /usr/bin/time ] || apt_install time
}

# timed OUT CMD... runs CMD pinned to $CPU under GNU time, writing time's
# report to OUT. CMD's own exit status is returned.
timed() {
	local out=$1
	shift
	taskset -c "$CPU" /usr/bin/time -v -o "$out" "$@"
}

# time_field FILE NAME prints one field of a GNU time -v report.
time_field() {
	awk -F': ' -v k="$2" 'index($0, k) { v = $NF } END { print v }' "$1"
}

# report NAME LINES TIMEFILE... prints one line per run and a RESULT line
# with the median lines per CPU-second (user+sys) and the median peak RSS.
report() {
	local name=$1 lines=$2
	shift 2
	local f user sys rss wall
	local rows=""
	for f in "$@"; do
		user=$(time_field "$f" "User time (seconds)")
		sys=$(time_field "$f" "System time (seconds)")
		rss=$(time_field "$f" "Maximum resident set size (kbytes)")
		wall=$(time_field "$f" "Elapsed (wall clock) time")
		awk -v n="$name" -v l="$lines" -v u="$user" -v s="$sys" -v r="$rss" -v w="$wall" 'BEGIN {
			cpu = u + s; if (cpu <= 0) cpu = 0.001
			printf "run  %-7s user %6.2fs sys %5.2fs wall %8s  %9.0f lines/CPU-s  peak RSS %7.1f MB\n", n, u, s, w, l / cpu, r / 1024
		}'
		rows+="$user $sys $rss"$'\n'
	done
	printf '%s' "$rows" | awk -v n="$name" -v l="$lines" '
		NF == 3 { cpu[NR] = $1 + $2; rss[NR] = $3; k = NR }
		function median(a, m,   i, j, t) {
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
		}
		END {
			c = median(cpu, k); r = median(rss, k); if (c <= 0) c = 0.001
			printf "RESULT peer=%s lines=%d runs=%d cpu_s=%.2f lines_per_cpu_s=%.0f peak_rss_mb=%.1f\n", n, l, k, c, l / c, r / 1024
		}'
}
