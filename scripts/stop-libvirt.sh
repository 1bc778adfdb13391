#!/usr/bin/env bash
# Stops what scripts/start-libvirt.sh started: libvirtd, then virtlogd (by their pidfiles),
# and waits until both have exited. Idempotent and quiet on success. Running guests are not
# touched (QEMU processes outlive libvirtd; it reconnects to them when it starts again).
# When systemd is PID 1 it asks systemd instead.
set -euo pipefail

readonly WAIT_SECONDS=30
readonly LOCKFILE=/run/lock/cloudenv-libvirt.lock

die() {
  echo "stop-libvirt: $*" >&2
  exit 1
}

if [ "$(cat /proc/1/comm 2>/dev/null || true)" = "systemd" ]; then
  systemctl stop libvirtd virtlogd
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root"

mkdir -p "${LOCKFILE%/*}"
exec 9>"$LOCKFILE"
flock -w 120 9 || die "timed out waiting for $LOCKFILE (another start/stop is stuck?)"

# Prints the pid when the pidfile names a live (not zombie) process called $2.
live_pid() {
  local pidfile=$1 name=$2 pid state
  [ -s "$pidfile" ] || return 1
  pid=$(cat -- "$pidfile" 2>/dev/null | tr -dc '0-9')
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ] || return 1
  state=$(sed -e 's/^.*) //' -e 's/ .*//' "/proc/$pid/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != "Z" ] && [ "$state" != "X" ] || return 1
  echo "$pid"
}

stop_daemon() {
  local pidfile=$1 name=$2 pid
  pid=$(live_pid "$pidfile" "$name") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((WAIT_SECONDS * 10))); do
    live_pid "$pidfile" "$name" >/dev/null || return 0
    sleep 0.1
  done
  die "$name (pid $pid) did not exit within ${WAIT_SECONDS} s after SIGTERM"
}

stop_daemon /run/libvirtd.pid libvirtd
stop_daemon /run/virtlogd.pid virtlogd
