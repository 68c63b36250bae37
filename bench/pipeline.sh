#!/usr/bin/env bash
# pipeline.sh: measures tocsin's production path on this machine.
#
# Starts a private Apache Kafka and ClickHouse (testinfra/*.sh) in a
# temporary folder, then the three roles (tocsin ticketing, engine, ingest)
# from one binary on free loopback ports, with topics, consumer groups and
# a ClickHouse database unique to the run; runs bench/cmd/pipeload against
# them for DURATION seconds; prints its summary, the CPU time and memory of
# every process, and ClickHouse's own row count; and stops everything it
# started, whatever happens (trap).
#
# Environment:
#   DURATION      seconds of load (default 600)
#   RATE          background lines per second; 0 (default) sends as fast as
#                 ingest reads
#   CONNS         background TCP connections (default 2)
#   PARTITIONS    partitions of the events and repartition topics (default 12)
#   TOCSIN        tocsin binary (default: `make build`, then bin/tocsin)
#   PIPELOAD_ARGS extra pipeload flags, e.g. "-file /tmp/auth.log -burst-every 10s"
#   KEEP=1        keep the work folder (role logs, Kafka and ClickHouse data)
#
# Everything (Kafka, ClickHouse, the roles and the load generator) shares
# this machine's cores: the figures are those of the whole pipeline on one
# box, not of one role.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/../testinfra/lib.sh
. "$REPO/testinfra/lib.sh" # ti_free_port, ti_alive

DURATION=${DURATION:-600}
RATE=${RATE:-0}
CONNS=${CONNS:-2}
PARTITIONS=${PARTITIONS:-12}
case "$DURATION" in '' | *[!0-9]*) echo "pipeline.sh: DURATION must be whole seconds, got '$DURATION'" >&2; exit 2 ;; esac

die() {
	echo "pipeline.sh: $*" >&2
	exit 2
}

work=$(mktemp -d /tmp/tocsin-pipeline.XXXXXX)
pids=() # roles we started, stopped in reverse order
kafka_up=0 ch_up=0

# stop_pid PID NAME: SIGTERM, up to 30 s, then SIGKILL. Only our own PIDs.
# shellcheck disable=SC2317 # stop_pid and cleanup run from the EXIT trap
stop_pid() {
	local pid=$1 name=$2
	ti_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 300); do
		ti_alive "$pid" || return 0
		sleep 0.1
	done
	echo "pipeline.sh: $name (pid $pid) did not stop in 30 s; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317
cleanup() {
	local rc=$? keep=${KEEP:-0} i
	trap '' INT TERM # every wait below is bounded; let it finish
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${pids[$i]%%:*}" "${pids[$i]#*:}"
	done
	if [ "$ch_up" = 1 ]; then
		"$REPO/testinfra/clickhouse.sh" stop "$work/ch" >/dev/null 2>&1 ||
			{ echo "pipeline.sh: cannot stop ClickHouse in $work/ch" >&2; keep=1; }
	fi
	if [ "$kafka_up" = 1 ]; then
		"$REPO/testinfra/kafka.sh" stop "$work/kafka" >/dev/null 2>&1 ||
			{ echo "pipeline.sh: cannot stop Kafka in $work/kafka" >&2; keep=1; }
	fi
	if [ "$keep" = 1 ]; then
		echo "pipeline.sh: kept $work"
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cpu_s PID: user+system CPU seconds the process used so far.
cpu_s() {
	local tck
	tck=$(getconf CLK_TCK)
	awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || echo "?"
}

# rss_mb PID: resident memory in MB.
rss_mb() {
	awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

# wait_http URL NAME SECONDS: until URL answers 200.
wait_http() {
	local url=$1 name=$2 secs=$3
	for _ in $(seq 1 $((secs * 5))); do
		curl -sf -o /dev/null --max-time 2 "$url" && return 0
		sleep 0.2
	done
	die "$name is not healthy after ${secs}s ($url); its log: $(tail -n 5 "$work/$name.log" 2>/dev/null)"
}

command -v curl >/dev/null || die "needs curl"
cd "$REPO"
bin=${TOCSIN:-}
if [ -z "$bin" ]; then
	make -s build >/dev/null || die "make build failed"
	bin=$REPO/bin/tocsin
fi
[ -x "$bin" ] || die "cannot run $bin"
go build -o "$work/pipeload" ./bench/cmd/pipeload || die "cannot build bench/cmd/pipeload"

echo "pipeline.sh: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM; Kafka, ClickHouse,"
echo "pipeline.sh: the three tocsin roles and pipeload all run here and share those cores."
echo "pipeline.sh: load average $(cut -d' ' -f1-3 /proc/loadavg) before starting (other work on the machine takes cores too)"
echo "pipeline.sh: tocsin $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' + uncommitted changes'), work folder $work"

# Marked before starting: a start that fails half way is stopped too (stop
# goes by the PID file, and does nothing without one).
kafka_up=1
boot=$("$REPO/testinfra/kafka.sh" start "$work/kafka" | tail -n 1)
ch_up=1
native=$("$REPO/testinfra/clickhouse.sh" start "$work/ch" | tail -n 1)
echo "pipeline.sh: Kafka $boot, ClickHouse $native"

id=b$(date +%s)$$
p_syslog=$(ti_free_port)
p_ingest=$(ti_free_port "$p_syslog")
p_engine=$(ti_free_port "$p_syslog" "$p_ingest")
p_http=$(ti_free_port "$p_syslog" "$p_ingest" "$p_engine")
db=bench_$id

export TOCSIN_KAFKA_BROKERS=$boot
export TOCSIN_CLICKHOUSE_DSN=clickhouse://default@$native/$db
export TOCSIN_KAFKA_TOPICS_EVENTS=$id.events
export TOCSIN_KAFKA_TOPICS_ALERTS=$id.alerts
export TOCSIN_KAFKA_TOPICS_FAILURES=$id.failures
export TOCSIN_KAFKA_TOPICS_REPARTITION=$id.repartition
export TOCSIN_KAFKA_TOPICS_STATE=$id.state
export TOCSIN_KAFKA_PARTITIONS_EVENTS=$PARTITIONS
export TOCSIN_KAFKA_PARTITIONS_REPARTITION=$PARTITIONS
export TOCSIN_KAFKA_GROUPS_ENGINE=$id-engine
export TOCSIN_KAFKA_GROUPS_TICKETING=$id-ticketing
export TOCSIN_KAFKA_GROUPS_HISTORY=$id-history
export TOCSIN_KAFKA_GROUPS_RAW=$id-raw
export TOCSIN_SYSLOG_UDP_ADDRESS=
export TOCSIN_SYSLOG_TCP_ADDRESS=127.0.0.1:$p_syslog
export TOCSIN_INGEST_METRICS_ADDRESS=127.0.0.1:$p_ingest
export TOCSIN_ENGINE_METRICS_ADDRESS=127.0.0.1:$p_engine
export TOCSIN_HTTP_ADDRESS=127.0.0.1:$p_http
export TOCSIN_LOG_LEVEL=${TOCSIN_LOG_LEVEL:-info}

for role in ticketing engine ingest; do
	mkdir -p "$work/$role-data"
	TOCSIN_DATA_DIR=$work/$role-data "$bin" "$role" >"$work/$role.log" 2>&1 &
	pids+=("$!:$role")
	case $role in
	ticketing) wait_http "http://127.0.0.1:$p_http/healthz" ticketing 60 ;;
	engine) wait_http "http://127.0.0.1:$p_engine/healthz" engine 90 ;;
	ingest) wait_http "http://127.0.0.1:$p_ingest/healthz" ingest 60 ;;
	esac
	echo "pipeline.sh: tocsin $role is up (pid $!)"
done

read -ra extra <<<"${PIPELOAD_ARGS:-}"
cmd=("$work/pipeload" -syslog "127.0.0.1:$p_syslog" -api "http://127.0.0.1:$p_http"
	-ingest-metrics "http://127.0.0.1:$p_ingest/metrics" -engine-metrics "http://127.0.0.1:$p_engine/metrics"
	-events-topic "$id.events" -engine-group "$id-engine" -history-group "$id-history"
	-duration "${DURATION}s" -rate "$RATE" -conns "$CONNS" "${extra[@]}")
echo "pipeline.sh: ${cmd[*]}"
rc=0
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f "pipeload: %U s user, %S s system, %M KB peak RSS" -o "$work/pipeload.time" "${cmd[@]}" || rc=$?
else
	"${cmd[@]}" || rc=$?
fi

echo
echo "== processes (CPU seconds since start, resident memory) =="
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$work/pipeload.time" ] && cat "$work/pipeload.time"
for p in "${pids[@]}"; do
	echo "tocsin ${p#*:}: $(cpu_s "${p%%:*}") CPU s, $(rss_mb "${p%%:*}") MB"
done
echo "kafka: $(cpu_s "$(cat "$work/kafka/pid")") CPU s, $(rss_mb "$(cat "$work/kafka/pid")") MB"
echo "clickhouse: $(cpu_s "$(cat "$work/ch/pid")") CPU s, $(rss_mb "$(cat "$work/ch/pid")") MB"
chport=${native##*:}
echo "clickhouse $db.events: $(clickhouse-client --host 127.0.0.1 --port "$chport" -q "SELECT count() FROM $db.events" 2>&1) rows," \
	"$(clickhouse-client --host 127.0.0.1 --port "$chport" -q "SELECT count() FROM system.parts WHERE database = '$db' AND table = 'events' AND active" 2>&1) active parts"
for p in "${pids[@]}"; do
	n=$(grep -c '"level":"error"' "$work/${p#*:}.log" || true)
	[ "$n" = 0 ] || echo "tocsin ${p#*:}: $n error lines in its log; the last: $(grep '"level":"error"' "$work/${p#*:}.log" | tail -n 1 | cut -c1-400)"
done
exit "$rc"
