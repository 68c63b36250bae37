#!/usr/bin/env bash
# Runs a command with a real Apache Kafka broker and a real ClickHouse
# server started for it on free loopback ports, each with its own data
# folder, and stops both afterwards (also on failure or Ctrl-C). The command
# finds them in TOCSIN_TEST_KAFKA (bootstrap host:port) and
# TOCSIN_TEST_CLICKHOUSE (native host:port); the Go test harnesses use them
# instead of starting servers of their own.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d "${TMPDIR:-/tmp}/tocsin-servers.XXXXXX")"
cleanup() {
  "$here/testinfra/kafka.sh" stop "$dir/kafka" >/dev/null 2>&1 || true
  "$here/testinfra/clickhouse.sh" stop "$dir/clickhouse" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$dir/kafka" "$dir/clickhouse"
"$here/testinfra/clickhouse.sh" start "$dir/clickhouse" >/dev/null
"$here/testinfra/kafka.sh" start "$dir/kafka" >/dev/null
export TOCSIN_TEST_KAFKA="$(cat "$dir/kafka/bootstrap")"
export TOCSIN_TEST_CLICKHOUSE="$(cat "$dir/clickhouse/native")"
echo "with-servers: Kafka on $TOCSIN_TEST_KAFKA, ClickHouse on $TOCSIN_TEST_CLICKHOUSE" >&2
"$@"
