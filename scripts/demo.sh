#!/usr/bin/env bash
# make run: start tocsin on the embedded default, send it the bundled real
# sample over syslog TCP, print the incidents it opened, and keep it running
# until Ctrl-C. Set TOCSIN_DEMO_EXIT=1 to stop after printing.
set -euo pipefail
bin=${1:-bin/tocsin}
api=http://127.0.0.1:8080

for port in 8080 5514; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "make run: 127.0.0.1:$port is already in use (another tocsin?); stop it first, or run" >&2
    echo "  $bin run --http-address 127.0.0.1:PORT --syslog-udp-address 127.0.0.1:PORT --syslog-tcp-address 127.0.0.1:PORT" >&2
    exit 1
  fi
done

"$bin" run --log-format console --log-level warn &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  if "$bin" incidents --api "$api" --limit 1 >/dev/null 2>&1; then break; fi
  if ! kill -0 $pid 2>/dev/null; then echo "tocsin did not start (see above)" >&2; exit 1; fi
  sleep 0.1
done

echo "== sending the bundled sample (testdata/sample, real sshd/PAM lines from the CrowdSec hub tests, MIT)"
if ! kill -0 $pid 2>/dev/null; then echo "tocsin did not start (see above)" >&2; exit 1; fi
"$bin" send --address 127.0.0.1:5514 testdata/sample/*.log

echo "== incidents opened"
for _ in $(seq 1 50); do
  out=$("$bin" incidents --api "$api")
  if [ "$out" != "no incidents" ]; then break; fi
  sleep 0.2
done
echo "$out"
echo
echo "tocsin is running: API $api/api/v1/incidents, metrics $api/metrics, syslog 127.0.0.1:5514 (UDP and TCP)."
if [ "${TOCSIN_DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
echo "Press Ctrl-C to stop it."
wait $pid
