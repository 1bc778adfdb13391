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
#      That namespace is a slave of the host's for /run/cloudenv/mounts (made a shared
#      mount first): the filesystem volumes cloudenv mounts there for containers reach it.
#   5. Wait (at most 30 s) until `virsh -c qemu:///system version` answers. The first call
#      after an install probes QEMU's capabilities (about 12 s); later ones take milliseconds.
set -euo pipefail

readonly WAIT_SECONDS=30
readonly LIBVIRTD_PIDFILE=/run/libvirtd.pid
readonly VIRTLOGD_PIDFILE=/run/virtlogd.pid
readonly CGROUP2_HYBRID=/sys/fs/cgroup/unified
readonly CONTAINER_MOUNTS=/run/cloudenv/mounts
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

# shellcheck source=lib/daemons.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/daemons.sh"

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
  launch "$VIRTLOGD_PIDFILE" virtlogd /var/log/libvirt/virtlogd.log virtlogd -d
  for _ in $(seq 50); do
    [ -S /run/libvirt/virtlogd-sock ] && break
    sleep 0.1
  done
  [ -S /run/libvirt/virtlogd-sock ] || die "virtlogd started but /run/libvirt/virtlogd-sock never appeared"
fi

# 4. libvirtd.
if ! running "$LIBVIRTD_PIDFILE" libvirtd; then
  if mountpoint -q "$CGROUP2_HYBRID"; then
    # Its own mount namespace: the host keeps its mounts; only libvirtd (and the QEMU and
    # libvirt_lxc processes it starts) no longer sees the cgroup2 mount. It is a slave of
    # the host's: what the host mounts under the shared $CONTAINER_MOUNTS reaches it (a
    # container's filesystem volumes), what it unmounts itself stays its own.
    mkdir -p "$CONTAINER_MOUNTS"
    chmod 0711 "$CONTAINER_MOUNTS"
    mountpoint -q "$CONTAINER_MOUNTS" || mount --bind "$CONTAINER_MOUNTS" "$CONTAINER_MOUNTS"
    mount --make-shared "$CONTAINER_MOUNTS"
    launch "$LIBVIRTD_PIDFILE" libvirtd /var/log/libvirt/libvirtd.log unshare --mount --propagation slave \
      sh -c "umount '$CGROUP2_HYBRID' && exec libvirtd -d"
  else
    launch "$LIBVIRTD_PIDFILE" libvirtd /var/log/libvirt/libvirtd.log libvirtd -d
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
