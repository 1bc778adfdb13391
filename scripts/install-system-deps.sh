#!/usr/bin/env bash
# Installs the Debian packages cloudenv needs on a node and in its test suite.
# Idempotent and quiet when everything is present; runs apt only for what is missing.
set -euo pipefail

PACKAGES=(
  python3 python3-venv python3-dev gcc pkg-config   # the Python environment; C builds
  postgresql                                        # the clustered database, and the tests'
  iproute2 ca-certificates curl                     # host facts (ip -j addr), TLS, smoke tests
  qemu-system-x86 qemu-utils qemu-block-extra ovmf  # compute: QEMU (TCG/KVM), qemu-img, libiscsi, UEFI
  libvirt-daemon libvirt-daemon-system              # libvirtd, virtlogd; qemu.conf, libvirt-qemu user
  libvirt-daemon-driver-qemu libvirt-daemon-driver-lxc libvirt-daemon-driver-storage-iscsi-direct
  libvirt-daemon-driver-storage-rbd libvirt-daemon-driver-storage-zfs  # Ceph RBD and ZFS pools
  tgt                                               # the tests' iSCSI target (userspace)
  libvirt-clients libvirt-dev dnsmasq-base          # virsh; headers for libvirt-python; NAT networks
  openvswitch-switch                                # networking: vSwitches are OVS bridges (scripts/start-ovs.sh)
  busybox-static                                    # the network tests' ping (iputils-ping isn't installed)
  chromium                                          # the web UI's browser tests (Playwright drives it)
)
# Node.js builds the web UI (make ui); a newer one installed another way is kept.
if ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

# Unprivileged containers map their root to a range of root's subordinate IDs (LXD's
# package writes root:100000:10000001; anything giving root 65536 IDs will do).
ensure_subids() {
  local file
  for file in /etc/subuid /etc/subgid; do
    if ! grep -Eq '^root:[0-9]+:[0-9]+$' "$file" 2>/dev/null; then
      if [ "$(id -u)" -ne 0 ]; then
        echo "root has no subordinate IDs in $file; run 'make deps' as root." >&2
        return 1
      fi
      echo "root:100000:65536" >>"$file"
      echo "Added root:100000:65536 to $file (unprivileged containers)"
    fi
  done
}
ensure_subids

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}; run 'make deps' as root (or install them)." >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
