#!/usr/bin/env bash
# Installs what the test suite needs beyond Go, from Debian's packages:
# rsyslog (with omkafka) and kcat as real log shippers, ClickHouse as a real
# history store, and Java with Maven to run a real Apache Kafka broker,
# whose jars it then fetches from Maven Central (cached). Services are kept
# from starting at install time; the tests start their own servers with
# private configurations on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v rsyslogd >/dev/null 2>&1 || need+=(rsyslog)
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ] || [ -e /usr/lib/rsyslog/omkafka.so ] || need+=(rsyslog-kafka)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
# rsyslog's TLS and RELP outputs, and real log sources: sshd, ClamAV.
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || [ -e /usr/lib/rsyslog/lmnsd_gtls.so ] || need+=(rsyslog-gnutls)
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so ] || [ -e /usr/lib/rsyslog/omrelp.so ] || need+=(rsyslog-relp)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v clamscan >/dev/null 2>&1 || need+=(clamav)
[ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
command -v sshpass >/dev/null 2>&1 || need+=(sshpass)
[ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
command -v clickhouse-client >/dev/null 2>&1 || need+=(clickhouse-client)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v ss >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
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
fi
# syslog-ng conflicts with the rsyslog package, so it is unpacked, not
# installed (see testinfra/syslog-ng.sh).
testinfra/syslog-ng.sh fetch >/dev/null
# The Kafka broker's jars (about 43 MB, once per machine).
testinfra/kafka.sh fetch >/dev/null
