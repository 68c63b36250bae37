#!/usr/bin/env bash
# A private single-node Apache Kafka 4.x broker (KRaft, broker+controller in
# one JVM) on 127.0.0.1 for tocsin's tests.
#
#   testinfra/kafka.sh start DIR   # prints host:port; writes DIR/bootstrap, DIR/pid
#   testinfra/kafka.sh stop DIR    # stops the broker whose PID is in DIR/pid
#   testinfra/kafka.sh resume DIR  # starts a stopped broker again on its data
#                                  # and ports (outage tests)
#
# Jars come from Maven Central once (testinfra/kafka/pom.xml) and are kept in
# $TOCSIN_TESTINFRA_CACHE (default $HOME/.cache/tocsin-testinfra).
# Environment: KAFKA_HEAP_OPTS (default -Xms256m -Xmx512m),
# KAFKA_START_TIMEOUT seconds (default 90).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

POM="$HERE/kafka/pom.xml"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
[ -n "$KAFKA_VERSION" ] || ti_die "cannot read kafka.version from $POM"
CACHE=${TOCSIN_TESTINFRA_CACHE:-$HOME/.cache/tocsin-testinfra}
JARS="$CACHE/kafka-$KAFKA_VERSION"

fetch_jars() {
  [ -f "$JARS/.complete" ] && return 0
  command -v mvn >/dev/null || ti_die "mvn not found (apt-get install maven)"
  command -v java >/dev/null || ti_die "java not found (Java 17+ needed)"
  local tmp="$JARS.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  echo "testinfra: fetching Kafka $KAFKA_VERSION jars into $JARS" >&2
  if ! (cd "$HERE/kafka" && mvn -q -B dependency:copy-dependencies \
          -DoutputDirectory="$tmp" >"$tmp.log" 2>&1); then
    cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"
    ti_die "mvn could not fetch the Kafka jars (is Maven Central reachable?)"
  fi
  rm -f "$tmp.log"; touch "$tmp/.complete"
  rm -rf "$JARS"; mv "$tmp" "$JARS"
}

# api_versions_ok PORT: sends a Kafka ApiVersions v0 request and checks that
# a response with the same correlation id comes back.
api_versions_ok() {
  local out
  out=$( { exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
           # size=14 | api_key=18 | api_version=0 | correlation_id=7 | client_id="ti"
           printf '\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x07\x00\x02ti' >&3
           timeout 3 head -c 8 <&3 | od -An -tx1 | tr -d ' \n'
         } 2>/dev/null ) || return 1
  [ "${out:8:8}" = "00000007" ]
}

started_count() {
  local n
  n=$(grep -c 'Kafka Server started' "$1/kafka.log" 2>/dev/null) || true
  echo "${n:-0}"
}

start() {
  local dir; dir=$(ti_abs "$1")
  ti_check_running "$dir"
  fetch_jars
  local port cport
  port=$(ti_free_port); cport=$(ti_free_port "$port")
  rm -rf "$dir/data"; mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:$cport
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  cat >"$dir/log4j2.properties" <<'L4J'
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.org.name = org.apache.kafka
logger.org.level = WARN
L4J
  local cp="$JARS/*" log4j="-Dlog4j2.configurationFile=$dir/log4j2.properties"
  local id
  id=$(java "$log4j" -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$dir/format.log" | tail -n1)
  [ -n "$id" ] || { cat "$dir/format.log" >&2; ti_die "StorageTool random-uuid failed"; }
  echo "$id" >"$dir/cluster-id"
  java "$log4j" -cp "$cp" kafka.tools.StorageTool format --standalone -t "$id" \
       -c "$dir/server.properties" >>"$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; ti_die "StorageTool format failed"; }
  launch "$dir" "$port" "$cport"
}

# resume DIR: starts the broker of DIR again after a stop, keeping its data,
# cluster id and ports, so clients reconnect to the same address.
resume() {
  local dir; dir=$(ti_abs "$1")
  ti_check_running "$dir"
  fetch_jars
  [ -f "$dir/server.properties" ] && [ -f "$dir/bootstrap" ] || ti_die "$dir holds no broker started by this script"
  local port cport
  port=$(sed 's/.*://' "$dir/bootstrap"); cport=$(sed 's/.*://' "$dir/controller")
  launch "$dir" "$port" "$cport"
}

# launch DIR PORT CPORT: runs the formatted broker of DIR and waits for it.
launch() {
  local dir=$1 port=$2 cport=$3
  local cp="$JARS/*" log4j="-Dlog4j2.configurationFile=$dir/log4j2.properties"
  # The log accumulates over resumes: wait for one more start line.
  local starts
  starts=$(( $(started_count "$dir") + 1 ))
  # shellcheck disable=SC2086
  nohup java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true \
    "$log4j" -cp "$cp" kafka.Kafka "$dir/server.properties" \
    >>"$dir/kafka.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/pid"

  local limit=${KAFKA_START_TIMEOUT:-90}
  local deadline=$((SECONDS + limit))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! ti_alive "$pid"; then
      tail -n 40 "$dir/kafka.log" >&2; rm -f "$dir/pid"
      ti_die "Kafka exited during start (log: $dir/kafka.log)"
    fi
    if [ "$(started_count "$dir")" -ge "$starts" ] && api_versions_ok "$port"; then
      echo "127.0.0.1:$port" >"$dir/bootstrap"
      echo "127.0.0.1:$cport" >"$dir/controller"
      echo "127.0.0.1:$port"
      return 0
    fi
    sleep 0.2
  done
  tail -n 40 "$dir/kafka.log" >&2
  ti_stop_pid "$dir" kafka.Kafka Kafka || true
  ti_die "Kafka did not answer on 127.0.0.1:$port within ${limit}s (log: $dir/kafka.log)"
}

stop() {
  local dir; dir=$(cd "$1" 2>/dev/null && pwd -P) || ti_die "no such folder: $1"
  ti_stop_pid "$dir" kafka.Kafka Kafka
}

case "${1:-}" in
  start) [ $# -eq 2 ] || ti_die "usage: $0 start DIR"; start "$2" ;;
  stop)  [ $# -eq 2 ] || ti_die "usage: $0 stop DIR";  stop "$2" ;;
  resume) [ $# -eq 2 ] || ti_die "usage: $0 resume DIR"; resume "$2" ;;
  fetch) fetch_jars; echo "$JARS" ;;
  *) echo "usage: $0 start DIR | stop DIR | resume DIR | fetch" >&2; exit 2 ;;
esac
