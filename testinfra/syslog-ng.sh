#!/usr/bin/env bash
# Makes Debian's syslog-ng runnable beside rsyslog, for tests that forward
# logs with a real syslog-ng. Debian's syslog-ng-core conflicts with the
# rsyslog package the other tests need, so it is not installed: its .deb is
# downloaded with apt-get and unpacked under the cache, and the libraries it
# needs that do not conflict (libivykis0, libnet1) are installed.
#
#   testinfra/syslog-ng.sh fetch   prints the path of a wrapper that runs
#                                  syslog-ng with its unpacked modules
#
# The cache is $TOCSIN_TESTINFRA_CACHE (default $HOME/.cache/tocsin-testinfra).
set -euo pipefail
# shellcheck source=testinfra/lib.sh
. "$(dirname "$0")/lib.sh"

CACHE=${TOCSIN_TESTINFRA_CACHE:-$HOME/.cache/tocsin-testinfra}
DIR="$CACHE/syslog-ng"
WRAPPER="$DIR/syslog-ng"

fetch() {
  if [ -x "$WRAPPER" ] && "$WRAPPER" --version >/dev/null 2>&1; then
    echo "$WRAPPER"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || ti_die "syslog-ng: apt-get is needed to fetch Debian's syslog-ng-core"
  local need=()
  for p in libivykis0 libnet1 libjson-c5 libwrap0; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
  done
  if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || ti_die "syslog-ng: missing ${need[*]}; run as root or install them with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  rm -rf "$DIR.tmp"
  mkdir -p "$DIR.tmp/deb"
  (cd "$DIR.tmp/deb" && apt-get download -qq syslog-ng-core >/dev/null 2>&1) ||
    ti_die "syslog-ng: apt-get download syslog-ng-core failed (is the Debian mirror reachable?)"
  dpkg -x "$DIR.tmp"/deb/syslog-ng-core_*.deb "$DIR.tmp/root"
  rm -rf "$DIR.tmp/deb"
  local mods
  mods=$(ls -d "$DIR.tmp"/root/usr/lib/syslog-ng/3.* | head -1)
  [ -n "$mods" ] || ti_die "syslog-ng: no module directory in the package"
  rm -rf "$DIR"
  mv "$DIR.tmp" "$DIR"
  mods=${mods/$DIR.tmp/$DIR}
  cat >"$WRAPPER" <<WRAP
#!/bin/sh
# Runs the unpacked syslog-ng with its own modules and libraries.
LD_LIBRARY_PATH="$DIR/root/usr/lib/syslog-ng:$DIR/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \\
  exec "$DIR/root/usr/sbin/syslog-ng" --module-path="$mods" "\$@"
WRAP
  chmod +x "$WRAPPER"
  "$WRAPPER" --version >/dev/null || ti_die "syslog-ng: the unpacked binary does not run"
  echo "$WRAPPER"
}

case "${1:-}" in
  fetch) fetch ;;
  *) echo "usage: $0 fetch" >&2; exit 2 ;;
esac
