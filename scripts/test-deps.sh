#!/usr/bin/env bash
# Installs what the test suite needs beyond Go: rsyslog from Debian's
# packages, used as a real log shipper in the end-to-end tests. Services are
# kept from starting at install time; the tests start their own rsyslogd
# with a private configuration.
set -euo pipefail

need=()
command -v rsyslogd >/dev/null 2>&1 || need+=(rsyslog)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${need[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created=1
fi
trap '[ "$created" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "test-deps: installed ${need[*]}"
