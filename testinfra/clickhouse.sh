#!/usr/bin/env bash
# A private ClickHouse server (Debian's clickhouse-server, 18.16) on
# 127.0.0.1 for tocsin's tests, with all of its data inside DIR.
#
#   testinfra/clickhouse.sh start DIR   # prints host:port (native protocol);
#                                       # writes DIR/native, DIR/http, DIR/pid
#   testinfra/clickhouse.sh stop DIR    # stops the server whose PID is in DIR/pid
#   testinfra/clickhouse.sh resume DIR  # starts a stopped server again on its data
#
# Installs clickhouse-server and clickhouse-client with apt-get when missing
# (needs root), without letting the package start the system service.
# Environment: CLICKHOUSE_START_TIMEOUT seconds (default 30).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

SERVER=/usr/sbin/clickhouse-server
CLIENT=/usr/bin/clickhouse-client

install_packages() {
  [ -x "$SERVER" ] && [ -x "$CLIENT" ] && [ -f /etc/clickhouse-server/users.xml ] && return 0
  [ "$(id -u)" = 0 ] || ti_die "clickhouse-server is missing and installing it needs root"
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    # Exit code 101 tells invoke-rc.d not to start the packaged service.
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made_policy=1
  fi
  echo "testinfra: installing clickhouse-server and clickhouse-client" >&2
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server clickhouse-client \
      >&2 || rc=$?
  if [ "$rc" != 0 ]; then
    # The package lists may be missing on a fresh machine: update once, retry once.
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      clickhouse-server clickhouse-client >&2 && rc=0 || rc=$?
  fi
  [ "$made_policy" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || ti_die "apt-get could not install clickhouse-server/clickhouse-client"
}

query_ok() { # PORT
  [ "$(timeout 5 "$CLIENT" --host 127.0.0.1 --port "$1" --query 'SELECT 1' 2>/dev/null)" = 1 ]
}

start() {
  local dir; dir=$(ti_abs "$1")
  ti_check_running "$dir"
  install_packages
  local tcp http ihttp
  tcp=$(ti_free_port); http=$(ti_free_port "$tcp"); ihttp=$(ti_free_port "$tcp" "$http")
  rm -rf "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  cp /etc/clickhouse-server/users.xml "$dir/users.xml"
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/log/clickhouse-server.log</log>
        <errorlog>$dir/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$tcp</tcp_port>
    <http_port>$http</http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>$ihttp</interserver_http_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <uncompressed_cache_size>134217728</uncompressed_cache_size>
    <mark_cache_size>134217728</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
XML
  launch "$dir" "$tcp" "$http"
}

# resume DIR: starts the server of DIR again after a stop, on its data and
# ports (outage tests).
resume() {
  local dir; dir=$(ti_abs "$1")
  ti_check_running "$dir"
  [ -f "$dir/config.xml" ] && [ -f "$dir/native" ] || ti_die "$dir holds no server started by this script"
  launch "$dir" "$(sed 's/.*://' "$dir/native")" "$(sed 's/.*://' "$dir/http")"
}

# launch DIR TCP HTTP: runs the configured server of DIR and waits for it.
launch() {
  local dir=$1 tcp=$2 http=$3
  nohup "$SERVER" --config-file="$dir/config.xml" >>"$dir/log/stdout.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/pid"

  local limit=${CLICKHOUSE_START_TIMEOUT:-30}
  local deadline=$((SECONDS + limit))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! ti_alive "$pid"; then
      tail -n 30 "$dir/log/stdout.log" "$dir/log/clickhouse-server.err.log" >&2 2>/dev/null || true
      rm -f "$dir/pid"
      ti_die "clickhouse-server exited during start (logs: $dir/log)"
    fi
    if query_ok "$tcp"; then
      echo "127.0.0.1:$tcp" >"$dir/native"
      echo "127.0.0.1:$http" >"$dir/http"
      echo "127.0.0.1:$tcp"
      return 0
    fi
    sleep 0.1
  done
  tail -n 30 "$dir/log/clickhouse-server.err.log" >&2 2>/dev/null || true
  ti_stop_pid "$dir" clickhouse-server clickhouse-server || true
  ti_die "clickhouse-server did not answer SELECT 1 on 127.0.0.1:$tcp within ${limit}s"
}

stop() {
  local dir; dir=$(cd "$1" 2>/dev/null && pwd -P) || ti_die "no such folder: $1"
  ti_stop_pid "$dir" clickhouse-server clickhouse-server
}

case "${1:-}" in
  start) [ $# -eq 2 ] || ti_die "usage: $0 start DIR"; start "$2" ;;
  stop)  [ $# -eq 2 ] || ti_die "usage: $0 stop DIR";  stop "$2" ;;
  resume) [ $# -eq 2 ] || ti_die "usage: $0 resume DIR"; resume "$2" ;;
  install) install_packages ;;
  *) echo "usage: $0 start DIR | stop DIR | resume DIR | install" >&2; exit 2 ;;
esac
