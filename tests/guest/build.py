"""Build the tiny QEMU test guest: a Debian cloud kernel, a busybox initramfs and a hybrid ISO.

The guest is made only from Debian packages, fetched with ``apt-get download`` and unpacked with
``dpkg-deb -x`` (nothing is installed from them):

* ``vmlinuz`` - the kernel of ``linux-image-<abi>-cloud-amd64`` (the package that
  ``linux-image-cloud-amd64`` depends on);
* ``initrd.gz`` - a gzip'd newc cpio written here in Python: ``busybox-static`` with its applet
  links, the virtio/SCSI/ACPI-button modules of that kernel and an rc script run by busybox init;
* ``guest.iso`` - a hybrid ISO (volume ``CLOUDENV_GUEST``) booting the same kernel and initrd
  under BIOS (isolinux) and UEFI (a standalone GRUB in a FAT El Torito image).

The guest prints :data:`MARKER` and then ``CLOUDENV-DISKS: <serial> ...`` (the serials in
``/sys/block/*/serial``, or a SCSI disk's unit serial VPD page) on its console once it is up,
answers on a root shell on ttyS0 and powers off on the ACPI power button.
``cloudenv.ip=ADDR/PREFIX`` (and optionally ``cloudenv.gw=ADDR``) on the kernel command line
configure eth0.

Output goes to ``<cache_root>/build-<key>/``, where the key hashes the package versions used and
this file's source, so a change rebuilds and an unchanged build is reused. Everything there is
world-readable because libvirt runs QEMU as the ``libvirt-qemu`` user.

Run: ``.venv/bin/python -m tests.guest.build`` or ``python3 tests/guest/build.py``.
Standard library only (Python 3.11); must run as root on Debian 12 (it may apt-get install).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import json
import logging
import lzma
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CMDLINE",
    "DEFAULT_CACHE_ROOT",
    "DISKS_PREFIX",
    "ISO_LABEL",
    "MARKER",
    "GuestArtifacts",
    "GuestBuildError",
    "build_guest",
]

log = logging.getLogger("cloudenv.tests.guest")

MARKER = "CLOUDENV-GUEST-READY"
DISKS_PREFIX = "CLOUDENV-DISKS:"
CMDLINE = "console=ttyS0,115200 panic=-1"
ISO_LABEL = "CLOUDENV_GUEST"
DEFAULT_CACHE_ROOT = Path("/var/cache/cloudenv-test-guest")

KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"
# Host tools. busybox-static is not among them: the guest's busybox comes from the downloaded
# .deb, and installing busybox-static on the host would remove Debian's `busybox` (Conflicts).
# cpio is not needed by the builder (it writes the archive itself), only handy to inspect it.
BUILD_TOOLS = (
    "xorriso",
    "isolinux",
    "syslinux-common",
    "grub-efi-amd64-bin",
    "grub-common",
    "mtools",
    "cpio",
)
# Loaded in this order (each after its dependencies): the input/ACPI modules first so acpid
# finds the power button, the SCSI disk/cdrom drivers before virtio_scsi so its devices bind.
GUEST_MODULES = (
    "button",
    "evdev",
    "virtio_pci",
    "virtio_blk",
    "virtio_net",
    "cdrom",
    "sd_mod",
    "sr_mod",
    "virtio_scsi",
)
# Module parameters. SCSI hosts are scanned by the rc script, for targets 0 to
# SCSI_SCAN_TARGETS - 1 only: the kernel's own scan of all 256 virtio-scsi targets takes ~6 s
# under TCG. Devices hot-plugged later are added by the HBA driver itself.
MODULE_PARAMS: Mapping[str, str] = {"scsi_mod": "scan=manual"}
SCSI_SCAN_TARGETS = 16

KERNEL_NAME = "vmlinuz"
INITRD_NAME = "initrd.gz"
ISO_NAME = "guest.iso"
MANIFEST_NAME = "manifest.json"
RESOLVED_NAME = "resolved.json"
APT_STATE = (Path("/var/lib/apt/lists"), Path("/etc/apt"))
ISO_ID_FILE = "boot/cloudenv-guest.id"
SOURCE_DATE_EPOCH = 1_700_000_000  # fixed timestamps inside the artefacts

ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")
ISOHYBRID_MBR = Path("/usr/lib/ISOLINUX/isohdpfx.bin")
LDLINUX_C32 = Path("/usr/lib/syslinux/modules/bios/ldlinux.c32")
GRUB_EFI_MODULES = (
    "normal",
    "configfile",
    "echo",
    "search",
    "search_fs_file",
    "iso9660",
    "part_gpt",
    "part_msdos",
    "fat",
    "linux",
    "gzio",
)

FILE_MODE = 0o644
DIR_MODE = 0o755


class GuestBuildError(RuntimeError):
    """The guest could not be built (a tool failed, a package or module is missing...)."""


@dataclass(frozen=True)
class GuestArtifacts:
    """Paths of one complete build; boot with :data:`CMDLINE` and wait for :attr:`marker`."""

    kernel: Path
    initrd: Path
    iso: Path
    marker: str = MARKER


# --------------------------------------------------------------------------- subprocesses


def _run(args: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None) -> str:
    """Run a command (argument list, no shell); return stdout or raise GuestBuildError."""
    argv = [os.fspath(a) for a in args]
    log.debug("run: %s", argv)
    env = dict(os.environ, LC_ALL="C", DEBIAN_FRONTEND="noninteractive")
    env["SOURCE_DATE_EPOCH"] = str(SOURCE_DATE_EPOCH)
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=1800
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GuestBuildError(f"{argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise GuestBuildError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    return proc.stdout


def installed_versions(packages: Iterable[str]) -> dict[str, str | None]:
    """Installed version of each package (None when not installed), from dpkg-query."""
    wanted = list(packages)
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Version}\n", *wanted],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, LC_ALL="C"),
    )
    found: dict[str, str | None] = dict.fromkeys(wanted)
    for line in proc.stdout.splitlines():
        name, status, version = [*line.split("\t"), "", ""][:3]
        name = name.split(":")[0]
        if name in found and status.startswith("ii"):
            found[name] = version
    return found


def ensure_packages(packages: Iterable[str]) -> dict[str, str]:
    """apt-get install the packages that are missing; return {package: installed version}."""
    versions = installed_versions(packages)
    missing = sorted(name for name, version in versions.items() if version is None)
    if missing:
        if os.geteuid() != 0:
            raise GuestBuildError(f"missing packages {missing}; run as root to install them")
        log.info("installing %s", " ".join(missing))
        _run(
            [
                "apt-get",
                "-o",
                "DPkg::Lock::Timeout=900",
                "install",
                "-y",
                "--no-install-recommends",
                *missing,
            ]
        )
        versions = installed_versions(packages)
        still = sorted(name for name, version in versions.items() if version is None)
        if still:
            raise GuestBuildError(f"apt-get install did not install {still}")
    return {name: version for name, version in versions.items() if version is not None}


def kernel_package_name() -> str:
    """The versioned kernel package that the cloud kernel meta-package depends on."""
    out = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
    names = re.findall(r"^\s*\|?Depends:\s*(linux-image-\d\S*-cloud-amd64)\s*$", out, re.M)
    if not names:
        raise GuestBuildError(
            f"apt-cache depends {KERNEL_META_PACKAGE} names no linux-image-*-cloud-amd64 "
            f"(run apt-get update?):\n{out.strip()}"
        )
    return str(names[0])


def candidate_versions(packages: Sequence[str]) -> dict[str, str]:
    """The version apt would download for each package (``apt-cache policy``'s Candidate)."""
    out = _run(["apt-cache", "policy", *packages])
    versions: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            current = line[:-1].split(":")[0]
        elif current and line.strip().startswith("Candidate:"):
            versions[current] = line.split(":", 1)[1].strip()
    for name in packages:
        if versions.get(name) in (None, "(none)"):
            raise GuestBuildError(f"no candidate version of {name} (run apt-get update?)")
    return versions


def apt_fingerprint(roots: Iterable[Path] = APT_STATE) -> str:
    """A hash of apt's package lists and configuration (names, sizes, mtimes): when it is
    unchanged, so are the versions apt-cache resolves."""
    digest = hashlib.sha256()
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.name == "lock" or "partial" in path.parts or not path.is_file():
                continue
            st = path.stat()
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def resolve_packages(cache_root: Path) -> dict[str, str]:
    """{versioned cloud kernel package: version, busybox-static: version}, as apt would download
    them; remembered in cache_root/resolved.json while apt's lists are unchanged (apt-cache
    takes ~1 s here)."""
    memo = cache_root / RESOLVED_NAME
    fingerprint = apt_fingerprint()
    try:
        saved = json.loads(memo.read_text())
        if saved["fingerprint"] == fingerprint:
            return {str(k): str(v) for k, v in saved["packages"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    packages = candidate_versions([kernel_package_name(), BUSYBOX_PACKAGE])
    tmp = memo.with_name(f".{memo.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "packages": packages}, indent=2))
    tmp.chmod(FILE_MODE)
    tmp.replace(memo)
    return packages


def download_and_extract(package: str, version: str, workdir: Path) -> Path:
    """apt-get download package=version into workdir and dpkg-deb -x it; return the tree."""
    debs = workdir / "debs"
    debs.mkdir(exist_ok=True)
    args = ["apt-get"]
    if os.geteuid() == 0:  # the _apt sandbox user cannot write into a private temp dir
        args += ["-o", "APT::Sandbox::User=root"]
    _run([*args, "download", f"{package}={version}"], cwd=debs)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if len(found) != 1:
        raise GuestBuildError(f"apt-get download {package}: expected one .deb, found {found}")
    tree = workdir / package
    tree.mkdir()
    _run(["dpkg-deb", "-x", found[0], tree])
    return tree


# --------------------------------------------------------------------------- kernel modules


def read_modinfo(ko: bytes) -> dict[str, list[str]]:
    """The ``key=value`` strings of an ELF64 little-endian kernel module's .modinfo section."""
    if ko[:4] != b"\x7fELF" or ko[4] != 2 or ko[5] != 1:
        raise GuestBuildError("not an ELF64 little-endian kernel module")
    (shoff,) = struct.unpack_from("<Q", ko, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ko, 0x3A)
    header = struct.Struct("<IIQQQQIIQQ")
    if shentsize != header.size or shoff + shnum * shentsize > len(ko) or shstrndx >= shnum:
        raise GuestBuildError("malformed ELF section header table")
    sections = [header.unpack_from(ko, shoff + i * shentsize) for i in range(shnum)]
    names_offset = sections[shstrndx][4]
    for sh_name, _type, _flags, _addr, offset, size, *_rest in sections:
        start = names_offset + sh_name
        name = ko[start : ko.index(b"\0", start)]
        if name == b".modinfo":
            info: dict[str, list[str]] = {}
            for entry in ko[offset : offset + size].split(b"\0"):
                key, sep, value = entry.decode("utf-8", "replace").partition("=")
                if sep:
                    info.setdefault(key, []).append(value)
            return info
    raise GuestBuildError("no .modinfo section")


def module_depends(ko: bytes) -> list[str]:
    values = read_modinfo(ko).get("depends", [""])
    return [dep for dep in values[0].split(",") if dep]


def _module_name(path: Path) -> str:
    return path.name.split(".ko", 1)[0].replace("-", "_")


def load_module_bytes(path: Path) -> bytes:
    """A module's ELF bytes, decompressing .ko.xz / .ko.gz."""
    data = path.read_bytes()
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.name.endswith(".ko.gz"):
        return gzip.decompress(data)
    if path.name.endswith(".ko"):
        return data
    raise GuestBuildError(f"{path.name}: compression not supported by the standard library")


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    data: bytes = field(repr=False)
    depends: tuple[str, ...]


def resolve_modules(moddir: Path, wanted: Iterable[str]) -> list[Module]:
    """The wanted modules of the kernel in ``moddir`` (lib/modules/<ver>) and their dependencies,
    each after the modules it depends on; built-in ones are skipped."""
    index: dict[str, Path] = {}
    for path in sorted((moddir / "kernel").rglob("*.ko*")):
        if re.search(r"\.ko(\.\w+)?$", path.name):
            index.setdefault(_module_name(path), path)
    builtin_file = moddir / "modules.builtin"
    builtin = set()
    if builtin_file.exists():
        builtin = {_module_name(Path(line)) for line in builtin_file.read_text().split()}

    order: list[Module] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str, wanted_by: str | None) -> None:
        name = name.replace("-", "_")
        if name in done:
            return
        if name in visiting:
            raise GuestBuildError(f"module dependency cycle: {' -> '.join([*visiting, name])}")
        if name not in index:
            if name in builtin:
                done.add(name)
                return
            why = f" (needed by {wanted_by})" if wanted_by else ""
            raise GuestBuildError(f"kernel module {name}{why} not found under {moddir}")
        visiting.append(name)
        data = load_module_bytes(index[name])
        depends = tuple(module_depends(data))
        for dep in depends:
            visit(dep, name)
        visiting.pop()
        done.add(name)
        order.append(Module(name, index[name], data, depends))

    for name in wanted:
        visit(name, None)
    return order


# --------------------------------------------------------------------------- initramfs (cpio)


@dataclass(frozen=True)
class CpioEntry:
    path: str  # relative, no leading slash
    mode: int  # full st_mode (type bits included)
    data: bytes = b""  # file contents, or the target of a symlink
    rdev: tuple[int, int] = (0, 0)


def cpio_dir(path: str) -> CpioEntry:
    return CpioEntry(path, stat.S_IFDIR | 0o755)


def cpio_file(path: str, data: bytes, perm: int = 0o644) -> CpioEntry:
    return CpioEntry(path, stat.S_IFREG | perm, data)


def cpio_symlink(path: str, target: str) -> CpioEntry:
    return CpioEntry(path, stat.S_IFLNK | 0o777, target.encode())


def cpio_chardev(path: str, major: int, minor: int, perm: int = 0o600) -> CpioEntry:
    return CpioEntry(path, stat.S_IFCHR | perm, rdev=(major, minor))


def write_newc(entries: Iterable[CpioEntry], mtime: int = SOURCE_DATE_EPOCH) -> bytes:
    """A newc ("070701") cpio archive of the entries, in the given order, owned by root."""
    out = bytearray()

    def pad4() -> None:
        out.extend(b"\0" * (-len(out) % 4))

    def member(ino: int, entry: CpioEntry) -> None:
        name = entry.path.encode() + b"\0"
        nlink = 2 if stat.S_ISDIR(entry.mode) else 1
        fields = (ino, entry.mode, 0, 0, nlink, mtime, len(entry.data), 0, 0, *entry.rdev)
        out.extend(b"070701" + b"".join(b"%08X" % value for value in fields))
        out.extend(b"%08X%08X" % (len(name), 0))
        out.extend(name)
        pad4()
        out.extend(entry.data)
        pad4()

    ino = 0
    for ino, entry in enumerate(entries, start=1):
        if entry.path.startswith("/") or not entry.path:
            raise ValueError(f"cpio paths are relative: {entry.path!r}")
        member(ino, entry)
    member(ino + 1, CpioEntry("TRAILER!!!", 0))
    out.extend(b"\0" * (-len(out) % 512))
    return bytes(out)


INITTAB = """\
# cloudenv test guest (generated by tests/guest/build.py)
::sysinit:/etc/init.d/rcS
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
"""

PROFILE = """\
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PS1='cloudenv-guest# '
"""

ACPI_POWER = """\
#!/bin/sh
# busybox acpid runs /etc/acpi/PWRF/00000080 for the ACPI power button
exec /sbin/poweroff
"""


def render_rc(kernel_version: str, modules: Sequence[Module]) -> str:
    """The sysinit script: mounts, insmod in order, network, acpid, then the marker lines."""
    moddir = f"/lib/modules/{kernel_version}"
    insmods = "\n".join(
        f"insmod {moddir}/{m.name}.ko {MODULE_PARAMS.get(m.name, '')}".rstrip() for m in modules
    )
    return f"""\
#!/bin/sh
# cloudenv test guest (generated by tests/guest/build.py)
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
hostname cloudenv-guest

{insmods}

# Scan SCSI targets 0-{SCSI_SCAN_TARGETS - 1} (all LUNs) by hand, then wait (bounded) until the
# disks and cdroms found are bound to sd/sr.
for h in /sys/class/scsi_host/host*; do
    [ -e "$h/scan" ] || continue
    t=0
    while [ $t -lt {SCSI_SCAN_TARGETS} ]; do
        echo "0 $t -" > "$h/scan" 2>/dev/null
        t=$((t + 1))
    done
done
n=0
while [ $n -lt 50 ]; do
    pending=0
    for d in /sys/bus/scsi/devices/*:*:*:*; do
        [ -r "$d/type" ] || continue
        case "$(cat "$d/type")" in
            0|5|7|14) [ -e "$d/driver" ] || pending=1 ;;
        esac
    done
    [ $pending = 0 ] && break
    sleep 0.1
    n=$((n + 1))
done

ip link set lo up
cmdline=$(cat /proc/cmdline)
ce_ip=; ce_gw=
for arg in $cmdline; do
    case "$arg" in
        cloudenv.ip=*) ce_ip=${{arg#cloudenv.ip=}} ;;
        cloudenv.gw=*) ce_gw=${{arg#cloudenv.gw=}} ;;
    esac
done
if [ -n "$ce_ip" ]; then
    ip link set eth0 up
    ip addr add "$ce_ip" dev eth0
    [ -n "$ce_gw" ] && ip route add default via "$ce_gw"
fi

acpid -l /var/log/acpid.log

# Keep routine kernel messages off the serial shell unless loglevel= was asked for.
case " $cmdline " in
    *" loglevel="*) ;;
    *) dmesg -n 4 ;;
esac

# Disk serials: /sys/block/X/serial (virtio-blk), else the SCSI unit serial VPD page 0x80.
serials=
for d in /sys/block/*; do
    if [ -r "$d/serial" ]; then
        s=$(cat "$d/serial")
    elif [ -r "$d/device/vpd_pg80" ]; then
        s=$(tail -c +5 "$d/device/vpd_pg80" | tr -d '\000')
    else
        continue
    fi
    s=$(echo "$s" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    [ -n "$s" ] && serials="$serials $s"
done
report() {{
    echo "{MARKER}"
    echo "{DISKS_PREFIX}$serials"
}}
report > /dev/console
if ! grep -qw ttyS0 /sys/class/tty/console/active 2>/dev/null; then
    report > /dev/ttyS0 2>/dev/null
fi
"""


def initramfs_entries(
    busybox: bytes, applets: Iterable[str], kernel_version: str, modules: Sequence[Module]
) -> list[CpioEntry]:
    dirs = [
        "bin",
        "dev",
        "etc",
        "etc/acpi",
        "etc/acpi/PWRF",
        "etc/init.d",
        "lib",
        "lib/modules",
        f"lib/modules/{kernel_version}",
        "mnt",
        "proc",
        "root",
        "run",
        "sbin",
        "sys",
        "tmp",
        "usr",
        "usr/bin",
        "usr/sbin",
        "var",
        "var/log",
    ]
    entries = [cpio_dir(d) for d in dirs]
    entries += [
        cpio_chardev("dev/console", 5, 1),
        cpio_chardev("dev/null", 1, 3, 0o666),
        cpio_file("bin/busybox", busybox, 0o755),
        cpio_symlink("init", "bin/busybox"),
        cpio_symlink("var/run", "../run"),
        cpio_file("etc/inittab", INITTAB.encode()),
        cpio_file("etc/init.d/rcS", render_rc(kernel_version, modules).encode(), 0o755),
        cpio_file("etc/acpi/PWRF/00000080", ACPI_POWER.encode(), 0o755),
        cpio_file("etc/profile", PROFILE.encode()),
        cpio_file("etc/hostname", b"cloudenv-guest\n"),
        cpio_file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
        cpio_file("etc/group", b"root:x:0:\n"),
    ]
    seen = {"bin/busybox"}
    for applet in sorted(applets):
        applet = applet.strip().lstrip("/")
        if not applet or applet in seen or applet.rsplit("/", 1)[-1] == "busybox":
            continue
        seen.add(applet)
        entries.append(cpio_symlink(applet, "/bin/busybox"))
    entries += [cpio_file(f"lib/modules/{kernel_version}/{m.name}.ko", m.data) for m in modules]
    return entries


# --------------------------------------------------------------------------- ISO


ISOLINUX_CFG = f"""\
SERIAL 0 115200
DEFAULT cloudenv
PROMPT 0
TIMEOUT 0
LABEL cloudenv
  KERNEL /boot/{KERNEL_NAME}
  INITRD /boot/{INITRD_NAME}
  APPEND {CMDLINE}
"""

GRUB_CFG = f"""\
set timeout=0
search --no-floppy --file --set=root /{ISO_ID_FILE}
linux /boot/{KERNEL_NAME} {CMDLINE}
initrd /boot/{INITRD_NAME}
boot
"""


def _set_mtime_tree(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.utime(path, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH), follow_symlinks=False)


def build_iso(kernel: Path, initrd: Path, key: str, workdir: Path, out: Path) -> None:
    """A hybrid BIOS (isolinux) + UEFI (standalone GRUB) ISO booting kernel + initrd."""
    root = workdir / "iso-root"
    for sub in ("isolinux", "boot", "EFI/BOOT"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ISOLINUX_BIN, root / "isolinux/isolinux.bin")
    shutil.copyfile(LDLINUX_C32, root / "isolinux/ldlinux.c32")
    (root / "isolinux/isolinux.cfg").write_text(ISOLINUX_CFG)
    shutil.copyfile(kernel, root / "boot" / KERNEL_NAME)
    shutil.copyfile(initrd, root / "boot" / INITRD_NAME)
    (root / ISO_ID_FILE).write_text(f"cloudenv test guest {key}\n")

    grub_cfg = workdir / "grub-embedded.cfg"
    grub_cfg.write_text(GRUB_CFG)
    efi_binary = root / "EFI/BOOT/BOOTX64.EFI"
    _run(
        [
            "grub-mkstandalone",
            "--format=x86_64-efi",
            f"--output={efi_binary}",
            "--locales=",
            "--fonts=",
            "--themes=",
            f"--install-modules={' '.join(GRUB_EFI_MODULES)}",
            f"--modules={' '.join(('part_gpt', 'part_msdos', 'iso9660'))}",
            f"boot/grub/grub.cfg={grub_cfg}",
        ]
    )
    # The FAT El Torito image, made with mtools (no loop mount).
    efi_img = root / "boot/efi.img"
    size = efi_binary.stat().st_size + (512 << 10)
    size = -(-size // (1 << 20)) * (1 << 20)
    with efi_img.open("wb") as fh:
        fh.truncate(size)
    _run(["mformat", "-i", efi_img, "-N", "0", "-v", "EFIBOOT", "::"])
    _run(["mmd", "-i", efi_img, "::/EFI", "::/EFI/BOOT"])
    _run(["mcopy", "-m", "-i", efi_img, efi_binary, "::/EFI/BOOT/BOOTX64.EFI"])
    _set_mtime_tree(root)
    _run(
        [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-o",
            out,
            "-V",
            ISO_LABEL,
            "-J",
            "-R",
            "-isohybrid-mbr",
            ISOHYBRID_MBR,
            "-c",
            "isolinux/boot.cat",
            "-b",
            "isolinux/isolinux.bin",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-eltorito-alt-boot",
            "-e",
            "boot/efi.img",
            "-no-emul-boot",
            "-isohybrid-gpt-basdat",
            root,
        ]
    )


# --------------------------------------------------------------------------- cache


def check_cache_root(cache_root: Path) -> Path:
    """The absolute cache root; refuse places the libvirt-qemu user could not reach."""
    root = Path(os.path.abspath(cache_root))
    if root == Path("/root") or Path("/root") in root.parents:
        raise GuestBuildError(f"{root}: under /root, which libvirt's QEMU user cannot read")
    for ancestor in reversed(root.parents):
        mode = ancestor.stat().st_mode if ancestor.exists() else DIR_MODE
        if not mode & stat.S_IXOTH:
            raise GuestBuildError(f"{root}: {ancestor} is not searchable by other users")
    return root


def build_key(packages: Mapping[str, str], tools: Mapping[str, str], source: bytes) -> str:
    """The hash naming a build: guest package versions, build tool versions, this source."""
    blob = json.dumps(
        {
            "packages": dict(sorted(packages.items())),
            "tools": dict(sorted(tools.items())),
            "source": hashlib.sha256(source).hexdigest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _artifacts(build_dir: Path) -> GuestArtifacts:
    return GuestArtifacts(
        kernel=build_dir / KERNEL_NAME,
        initrd=build_dir / INITRD_NAME,
        iso=build_dir / ISO_NAME,
        marker=MARKER,
    )


def is_complete(build_dir: Path) -> bool:
    """True when the build's manifest exists and every file it lists has the listed size."""
    try:
        manifest = json.loads((build_dir / MANIFEST_NAME).read_text())
        files = manifest["files"]
        return bool(files) and all(
            (build_dir / name).stat().st_size == meta["size"] for name, meta in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _make_dir(path: Path) -> None:
    """mkdir -p with mode 0755 for the directories it creates (whatever the umask) and path."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        directory.chmod(DIR_MODE)
    path.chmod(DIR_MODE)


def prune_builds(cache_root: Path, keep: GuestArtifacts) -> list[Path]:
    """Remove the cache's other build-* directories (not while a VM may still use them)."""
    removed = []
    for build_dir in sorted(Path(cache_root).glob("build-*")):
        if build_dir != keep.kernel.parent and build_dir.is_dir():
            shutil.rmtree(build_dir)
            removed.append(build_dir)
    return removed


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _build_into(
    stage: Path, workdir: Path, key: str, packages: Mapping[str, str], tools: Mapping[str, str]
) -> None:
    started = time.monotonic()
    kernel_pkg = next(name for name in packages if name != BUSYBOX_PACKAGE)
    kernel_version = kernel_pkg.removeprefix("linux-image-")
    kernel_tree = download_and_extract(kernel_pkg, packages[kernel_pkg], workdir)
    busybox_tree = download_and_extract(BUSYBOX_PACKAGE, packages[BUSYBOX_PACKAGE], workdir)
    log.info("downloaded and unpacked in %.1f s", time.monotonic() - started)

    vmlinuz = kernel_tree / "boot" / f"vmlinuz-{kernel_version}"
    moddir = kernel_tree / "lib/modules" / kernel_version
    if not vmlinuz.is_file() or not moddir.is_dir():
        raise GuestBuildError(f"{kernel_pkg}: no boot/vmlinuz-{kernel_version} or {moddir.name}")
    modules = resolve_modules(moddir, GUEST_MODULES)
    for module in modules:
        vermagic = read_modinfo(module.data).get("vermagic", [""])[0]
        if not vermagic.startswith(kernel_version + " "):
            raise GuestBuildError(f"{module.name}: vermagic {vermagic!r} is not {kernel_version}")
    log.info("modules: %s", " ".join(m.name for m in modules))

    busybox = busybox_tree / "bin/busybox"
    applets = _run([busybox, "--list-full"]).split()
    entries = initramfs_entries(busybox.read_bytes(), applets, kernel_version, modules)
    kernel = stage / KERNEL_NAME
    initrd = stage / INITRD_NAME
    shutil.copyfile(vmlinuz, kernel)
    initrd.write_bytes(gzip.compress(write_newc(entries), compresslevel=9, mtime=0))
    build_iso(kernel, initrd, key, workdir, stage / ISO_NAME)

    files = {}
    for name in (KERNEL_NAME, INITRD_NAME, ISO_NAME):
        path = stage / name
        path.chmod(FILE_MODE)
        files[name] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    manifest = {
        "key": key,
        "kernel_version": kernel_version,
        "packages": dict(packages),
        "tools": dict(tools),
        "modules": [m.name for m in modules],
        "marker": MARKER,
        "cmdline": CMDLINE,
        "iso_label": ISO_LABEL,
        "build_seconds": round(time.monotonic() - started, 2),
        "files": files,
    }
    manifest_path = stage / MANIFEST_NAME
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    manifest_path.chmod(FILE_MODE)


def build_guest(cache_root: Path = DEFAULT_CACHE_ROOT) -> GuestArtifacts:
    """Build the test guest under ``cache_root/build-<key>/`` (or reuse a complete build)."""
    root = check_cache_root(cache_root)
    tools = ensure_packages(BUILD_TOOLS)
    _make_dir(root)
    packages = resolve_packages(root)
    key = build_key(packages, tools, Path(__file__).read_bytes())
    build_dir = root / f"build-{key}"
    if is_complete(build_dir):
        log.info("reusing %s", build_dir)
        return _artifacts(build_dir)

    with _locked(root / ".lock"):
        if is_complete(build_dir):  # built by another process meanwhile
            return _artifacts(build_dir)
        log.info("building %s (%s)", build_dir, ", ".join(f"{k} {v}" for k, v in packages.items()))
        stage = root / f".stage-{key}-{os.getpid()}"
        shutil.rmtree(stage, ignore_errors=True)
        _make_dir(stage)
        try:
            with tempfile.TemporaryDirectory(prefix="cloudenv-guest-") as tmp:
                _build_into(stage, Path(tmp), key, packages, tools)
            if build_dir.exists():  # an incomplete leftover
                shutil.rmtree(build_dir)
            stage.rename(build_dir)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return _artifacts(build_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the cloudenv QEMU test guest.")
    parser.add_argument("--cache-root", type=Path, default=DEFAULT_CACHE_ROOT)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--prune", action="store_true", help="then delete the cache's other build-* dirs"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    started = time.monotonic()
    try:
        artifacts = build_guest(args.cache_root)
    except GuestBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.prune:
        for removed in prune_builds(args.cache_root, artifacts):
            print(f"removed {removed}", file=sys.stderr)
    print(f"kernel: {artifacts.kernel}")
    print(f"initrd: {artifacts.initrd}")
    print(f"iso:    {artifacts.iso}")
    print(f"marker: {artifacts.marker}")
    print(f"cmdline: {CMDLINE}")
    print(f"seconds: {time.monotonic() - started:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
