# shellcheck shell=bash
# Shared helpers for testinfra/kafka.sh and testinfra/clickhouse.sh.
# Sourced, not run. Every loop here is bounded.

ti_die() { echo "testinfra: $*" >&2; exit 1; }

# ti_port_busy PORT: true when something listens on 127.0.0.1:PORT.
ti_port_busy() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ti_free_port [EXCLUDED_PORT...]: prints a loopback TCP port nobody listens on.
# Ports come from 20000-32767, below the kernel's default ephemeral range
# (32768-60999), so that an outgoing connection cannot take the port between
# this check and the server's bind.
ti_free_port() {
  local p x taken
  for _ in $(seq 1 200); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12768 ))
    taken=0
    for x in "$@"; do [ "$p" = "$x" ] && taken=1; done
    [ "$taken" = 1 ] && continue
    ti_port_busy "$p" || { echo "$p"; return 0; }
  done
  ti_die "no free port found after 200 tries"
}

# ti_abs DIR: creates DIR if needed and prints its absolute path.
ti_abs() { mkdir -p "$1" && (cd "$1" && pwd -P); }

# ti_alive PID: true while PID exists and is not a finished zombie. A JVM's
# main thread may show as Z while its other threads still shut down, so a Z
# counts as alive while /proc/PID/task lists more than one thread.
ti_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local st tasks
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ] && return 0
  tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  [ "$tasks" -gt 1 ]
}

# ti_check_running DIR: refuses to start twice in one folder.
ti_check_running() {
  if [ -f "$1/pid" ] && ti_alive "$(cat "$1/pid")"; then
    ti_die "already running in $1 (pid $(cat "$1/pid")); stop it first"
  fi
}

# ti_stop_pid DIR PATTERN NAME: stops the process whose PID is in DIR/pid,
# only if its command line contains PATTERN (guards against a reused PID).
# SIGTERM, up to 30 s, then SIGKILL, up to 10 s more.
ti_stop_pid() {
  local dir=$1 pattern=$2 name=$3 pid
  [ -f "$dir/pid" ] || { echo "testinfra: no $dir/pid, nothing to stop" >&2; return 0; }
  pid=$(cat "$dir/pid")
  case "$pid" in ''|*[!0-9]*) ti_die "bad pid in $dir/pid: '$pid'";; esac
  if ! ti_alive "$pid"; then rm -f "$dir/pid"; return 0; fi
  if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"; then
    ti_die "pid $pid is not $name (command line lacks '$pattern'); not killing it"
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do ti_alive "$pid" || break; sleep 0.1; done
  if ti_alive "$pid"; then
    echo "testinfra: $name (pid $pid) ignored SIGTERM for 30 s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do ti_alive "$pid" || break; sleep 0.1; done
  fi
  ti_alive "$pid" && ti_die "$name (pid $pid) did not exit"
  rm -f "$dir/pid"
}
