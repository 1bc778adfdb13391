# Shared by the scripts that start system daemons where no service manager does
# (start-libvirt.sh, start-ovs.sh). Source it after defining die(); the caller holds its
# lock on file descriptor 9.

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

# launch PIDFILE NAME LOG COMMAND...: runs a daemonizing command that writes PIDFILE (NAME
# names the process); shows its output only when it fails and no such daemon runs afterwards
# (one started outside the caller's lock makes ours fail with "Unable to obtain pidfile",
# which is fine). LOG is where to look when it fails.
launch() {
  local pidfile=$1 name=$2 log=$3 out rc=0
  shift 3
  out=$(mktemp)
  # 9>&-: the daemons must not inherit (and so hold forever) the lock.
  "$@" >"$out" 2>&1 </dev/null 9>&- || rc=$?
  if [ "$rc" -ne 0 ] && ! running "$pidfile" "$name"; then
    cat "$out" >&2
    rm -f "$out"
    die "'$*' failed (exit $rc); see $log"
  fi
  rm -f "$out"
}
