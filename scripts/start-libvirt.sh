#!/usr/bin/env bash
# Starts libvirt on this host the way a service manager and udev would, and waits until it
# answers. Idempotent and quiet on success; safe to run concurrently (serialised by a lock).
#
# On a real server (systemd is PID 1) it only asks systemd to start the services. Elsewhere
# (development and CI VMs without systemd or udev) it does the host preparation by hand:
#   1. /dev/kvm -> root:kvm 0660, BEFORE libvirtd starts. Without it libvirt invalidates its
#      QEMU capability cache on every lookup and re-probes QEMU (defineXML: 40 s, not 10 ms).
#   2. /var/log/libvirt and /run/libvirt.
#   3. virtlogd (domains fail to start without it).
#   4. libvirtd; on hybrid cgroup hosts (cgroup2 mounted at /sys/fs/cgroup/unified) in its own
#      mount namespace without that mount, or libvirt's LXC driver fails to start containers.
#   5. Wait (at most 30 s) until `virsh -c qemu:///system version` answers. The first call
#      after an install probes QEMU's capabilities (about 12 s); later ones take milliseconds.
set -euo pipefail

readonly WAIT_SECONDS=30
readonly LIBVIRTD_PIDFILE=/run/libvirtd.pid
readonly VIRTLOGD_PIDFILE=/run/virtlogd.pid
readonly CGROUP2_HYBRID=/sys/fs/cgroup/unified
readonly LOCKFILE=/run/lock/cloudenv-libvirt.lock

die() {
  echo "start-libvirt: $*" >&2
  exit 1
}

if [ "$(cat /proc/1/comm 2>/dev/null || true)" = "systemd" ]; then
  systemctl start libvirtd virtlogd
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (it prepares /dev/kvm and starts system daemons)"
for tool in libvirtd virtlogd virsh; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' is missing: run scripts/install-system-deps.sh (libvirt packages)"
done

# One caller at a time: tests running in parallel may all call this script.
mkdir -p "${LOCKFILE%/*}"
exec 9>"$LOCKFILE"
flock -w 120 9 || die "timed out waiting for $LOCKFILE (another start/stop is stuck?)"

# True when the pidfile names a live (not zombie) process with the expected command name.
running() {
  local pidfile=$1 name=$2 pid state
  [ -s "$pidfile" ] || return 1
  pid=$(cat -- "$pidfile" 2>/dev/null | tr -dc '0-9')
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$name" ] || return 1
  state=$(sed -e 's/^.*) //' -e 's/ .*//' "/proc/$pid/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != "Z" ] && [ "$state" != "X" ]
}

# Runs a daemonizing command that writes $1 ($2 names the process); shows its output only
# when it fails and no such daemon runs afterwards (one started outside this script's lock
# makes ours fail with "Unable to obtain pidfile", which is fine).
launch() {
  local pidfile=$1 name=$2 out rc=0
  shift 2
  out=$(mktemp)
  # 9>&-: the daemons must not inherit (and so hold forever) the lock.
  "$@" >"$out" 2>&1 </dev/null 9>&- || rc=$?
  if [ "$rc" -ne 0 ] && ! running "$pidfile" "$name"; then
    cat "$out" >&2
    rm -f "$out"
    die "'$*' failed (exit $rc); see /var/log/libvirt/libvirtd.log"
  fi
  rm -f "$out"
}

# 1. /dev/kvm as udev would leave it.
if [ -e /dev/kvm ]; then
  if ! getent group kvm >/dev/null; then
    groupadd --system kvm
  fi
  [ "$(stat -c %G /dev/kvm)" = "kvm" ] || chgrp kvm /dev/kvm
  [ "$(stat -c %a /dev/kvm)" = "660" ] || chmod 0660 /dev/kvm
fi

# 2. Directories.
mkdir -p /var/log/libvirt /run/libvirt

# 3. virtlogd.
if ! running "$VIRTLOGD_PIDFILE" virtlogd; then
  launch "$VIRTLOGD_PIDFILE" virtlogd virtlogd -d
  for _ in $(seq 50); do
    [ -S /run/libvirt/virtlogd-sock ] && break
    sleep 0.1
  done
  [ -S /run/libvirt/virtlogd-sock ] || die "virtlogd started but /run/libvirt/virtlogd-sock never appeared"
fi

# 4. libvirtd.
if ! running "$LIBVIRTD_PIDFILE" libvirtd; then
  if mountpoint -q "$CGROUP2_HYBRID"; then
    # Private mount namespace: the host keeps its mounts; only libvirtd (and the QEMU and
    # libvirt_lxc processes it starts) no longer sees the cgroup2 mount.
    launch "$LIBVIRTD_PIDFILE" libvirtd unshare --mount --propagation private \
      sh -c "umount '$CGROUP2_HYBRID' && exec libvirtd -d"
  else
    launch "$LIBVIRTD_PIDFILE" libvirtd libvirtd -d
  fi
fi

# 5. Wait until it answers.
deadline=$((SECONDS + WAIT_SECONDS))
while :; do
  left=$((deadline - SECONDS))
  if [ "$left" -le 0 ]; then
    die "libvirtd did not answer 'virsh -c qemu:///system version' within ${WAIT_SECONDS} s; see /var/log/libvirt/libvirtd.log"
  fi
  if timeout "$left" virsh -c qemu:///system version >/dev/null 2>&1; then
    break
  fi
  running "$LIBVIRTD_PIDFILE" libvirtd ||
    [ "$((deadline - SECONDS))" -gt $((WAIT_SECONDS - 2)) ] ||
    die "libvirtd exited during startup; see /var/log/libvirt/libvirtd.log"
  sleep 0.2
done
