#!/bin/sh
# Runs a daemon that logs through syslog(3) (sshd, clamd) with /dev/log
# pointing at a test's own rsyslogd socket instead of the machine's. It is
# meant to run as the first command inside a fresh mount namespace:
#
#   unshare -m --propagation private sh private-devlog.sh SCRATCH SOCKET RUN CMD [ARG...]
#
# SCRATCH is an empty directory that becomes the namespace's /dev: it
# gets null, zero, random and urandom bound from the real /dev, and a log
# symlink to SOCKET. RUN "sshd" also puts an empty tmpfs on /run holding
# /run/sshd, the privilege separation directory sshd insists on; "-"
# leaves /run alone. The mounts are private to the namespace, so the
# host's /dev and /run do not change, and they vanish with the daemon.
# The script ends by exec'ing CMD, so the daemon keeps the PID that
# unshare started with.
set -eu
scratch=$1
sock=$2
run=$3
shift 3
for f in null zero random urandom; do
	: >"$scratch/$f"
	mount --bind "/dev/$f" "$scratch/$f"
done
ln -sf "$sock" "$scratch/log"
mount --rbind "$scratch" /dev
if [ "$run" = sshd ]; then
	mount -t tmpfs -o mode=0755 tmpfs /run
	mkdir -m 0755 /run/sshd
fi
exec "$@"
