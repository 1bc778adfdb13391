#!/usr/bin/env bash
# Starts Open vSwitch on this host the way its service (ovs-ctl) would, and waits until
# ovs-vswitchd answers. Idempotent and quiet on success (a no-op when both daemons run);
# safe to run concurrently (serialised by a lock).
#
# On a real server (systemd is PID 1) it only asks systemd to start the service. Elsewhere
# (development and CI VMs without a service manager) it does what ovs-ctl does by hand:
#   1. Loads the openvswitch kernel module when the kernel has one (the network driver then
#      uses the `system` datapath; without it, bridges use the userspace `netdev` datapath).
#   2. /var/run/openvswitch, /var/log/openvswitch, /var/lib/openvswitch.
#   3. The configuration database: created from the installed schema when missing (the
#      Debian package doesn't create it), converted when an upgrade changed the schema.
#   4. ovsdb-server on unix:/var/run/openvswitch/db.sock, then `ovs-vsctl --no-wait init`.
#   5. ovs-vswitchd, then a wait (at most 30 s) until it answers on its control socket.
set -euo pipefail

readonly WAIT_SECONDS=30
readonly RUN_DIR=/var/run/openvswitch
readonly LOG_DIR=/var/log/openvswitch
readonly DB_DIR=/var/lib/openvswitch
readonly DB_FILE=$DB_DIR/conf.db
readonly SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
readonly DB_SOCK=$RUN_DIR/db.sock
readonly DB_PIDFILE=$RUN_DIR/ovsdb-server.pid
readonly SWITCHD_PIDFILE=$RUN_DIR/ovs-vswitchd.pid
readonly LOCKFILE=/run/lock/cloudenv-ovs.lock

die() {
  echo "start-ovs: $*" >&2
  exit 1
}

if [ "$(cat /proc/1/comm 2>/dev/null || true)" = "systemd" ]; then
  systemctl start openvswitch-switch
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (it starts system daemons)"
for tool in ovsdb-server ovs-vswitchd ovsdb-tool ovs-vsctl ovs-appctl; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' is missing: run scripts/install-system-deps.sh (openvswitch-switch)"
done

mkdir -p "${LOCKFILE%/*}"
exec 9>"$LOCKFILE"
flock -w 120 9 || die "timed out waiting for $LOCKFILE (another start is stuck?)"

# shellcheck source=lib/daemons.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/daemons.sh"

# 1. The kernel datapath, where the kernel has it (no module tree here: nothing to do).
if [ ! -d /sys/module/openvswitch ] && command -v modprobe >/dev/null 2>&1; then
  modprobe openvswitch >/dev/null 2>&1 || true
fi

# 2. Directories.
mkdir -p "$RUN_DIR" "$LOG_DIR" "$DB_DIR"

# 3 and 4. The database and its server.
if ! running "$DB_PIDFILE" ovsdb-server; then
  if [ ! -s "$DB_FILE" ]; then
    ovsdb-tool create "$DB_FILE" "$SCHEMA"
  elif [ "$(ovsdb-tool needs-conversion "$DB_FILE" "$SCHEMA")" = "yes" ]; then
    ovsdb-tool convert "$DB_FILE" "$SCHEMA"
  fi
  launch "$DB_PIDFILE" ovsdb-server "$LOG_DIR/ovsdb-server.log" \
    ovsdb-server "$DB_FILE" --remote="punix:$DB_SOCK" \
    --remote=db:Open_vSwitch,Open_vSwitch,manager_options \
    --pidfile="$DB_PIDFILE" --detach --log-file="$LOG_DIR/ovsdb-server.log"
fi
for _ in $(seq 100); do
  [ -S "$DB_SOCK" ] && break
  sleep 0.1
done
[ -S "$DB_SOCK" ] || die "ovsdb-server started but $DB_SOCK never appeared; see $LOG_DIR/ovsdb-server.log"
# The Open_vSwitch root row (a no-op when it exists).
ovs-vsctl --db="unix:$DB_SOCK" --timeout=10 --no-wait init

# 5. The switch daemon.
if ! running "$SWITCHD_PIDFILE" ovs-vswitchd; then
  launch "$SWITCHD_PIDFILE" ovs-vswitchd "$LOG_DIR/ovs-vswitchd.log" \
    ovs-vswitchd "unix:$DB_SOCK" --pidfile="$SWITCHD_PIDFILE" --detach \
    --log-file="$LOG_DIR/ovs-vswitchd.log"
fi
deadline=$((SECONDS + WAIT_SECONDS))
until ovs-appctl -t "$RUN_DIR/ovs-vswitchd.$(tr -dc '0-9' <"$SWITCHD_PIDFILE").ctl" version >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] ||
    die "ovs-vswitchd did not answer within ${WAIT_SECONDS} s; see $LOG_DIR/ovs-vswitchd.log"
  sleep 0.2
done
