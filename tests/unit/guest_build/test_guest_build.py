"""The test guest builder's pure parts: cpio writer, .modinfo reader, module order, rc script,
cache checks. Nothing here downloads, installs or boots anything."""

from __future__ import annotations

import lzma
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from tests.guest import build
from tests.guest.build import (
    DISKS_PREFIX,
    MARKER,
    CpioEntry,
    GuestBuildError,
    Module,
)

pytestmark = pytest.mark.unit


def parse_newc(archive: bytes) -> list[CpioEntry]:
    """A minimal newc reader, independent of the writer."""
    entries = []
    pos = 0
    while True:
        assert archive[pos : pos + 6] == b"070701", f"bad magic at {pos}"
        fields = [int(archive[pos + 6 + 8 * i : pos + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, rdevmajor, rdevminor, namesize = (
            fields[1],
            fields[6],
            fields[9],
            fields[10],
            fields[11],
        )
        name_start = pos + 110
        name = archive[name_start : name_start + namesize - 1].decode()
        assert archive[name_start + namesize - 1] == 0
        data_start = name_start + namesize + (-(110 + namesize) % 4)
        data = archive[data_start : data_start + filesize]
        pos = data_start + filesize + (-filesize % 4)
        if name == "TRAILER!!!":
            assert len(archive) % 512 == 0
            assert not archive[pos:].strip(b"\0")
            return entries
        entries.append(CpioEntry(name, mode, data, (rdevmajor, rdevminor)))


def make_ko(modinfo: dict[str, str], extra_sections: int = 1) -> bytes:
    """A minimal ELF64 LE relocatable with a .modinfo section (and some filler sections)."""
    names = [b"", b".shstrtab", b".modinfo"] + [b".text%d" % i for i in range(extra_sections)]
    shstrtab = b"\0".join(names) + b"\0"
    name_offsets = []
    offset = 0
    for name in names:
        name_offsets.append(offset)
        offset += len(name) + 1
    modinfo_bytes = b"".join(f"{k}={v}".encode() + b"\0" for k, v in modinfo.items())
    body = bytearray(64)  # ELF header, filled below
    shstrtab_off = len(body)
    body += shstrtab
    modinfo_off = len(body)
    body += modinfo_bytes
    body += b"\0" * (-len(body) % 8)
    shoff = len(body)
    section = struct.Struct("<IIQQQQIIQQ")
    sections = [section.pack(*[0] * 10)]
    sections.append(section.pack(name_offsets[1], 3, 0, 0, shstrtab_off, len(shstrtab), 0, 0, 1, 0))
    sections.append(
        section.pack(name_offsets[2], 1, 2, 0, modinfo_off, len(modinfo_bytes), 0, 0, 1, 0)
    )
    for i in range(extra_sections):
        sections.append(section.pack(name_offsets[3 + i], 1, 6, 0, 0, 0, 0, 0, 16, 0))
    body += b"".join(sections)
    header = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    header += struct.pack(
        "<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, len(sections), 1
    )
    body[:64] = header
    return bytes(body)


def module(name: str) -> Module:
    return Module(name, Path(f"/x/{name}.ko"), b"", ())


# --------------------------------------------------------------------------- cpio


def test_newc_round_trip_keeps_order_types_and_data() -> None:
    entries = [
        build.cpio_dir("bin"),
        build.cpio_file("bin/busybox", b"\x7fELF" + b"x" * 13, 0o755),
        build.cpio_symlink("init", "bin/busybox"),
        build.cpio_chardev("dev/console", 5, 1),
        build.cpio_file("etc/empty", b""),
    ]
    parsed = parse_newc(build.write_newc(entries))
    assert parsed == entries
    assert stat.S_ISLNK(parsed[2].mode)
    assert stat.S_IMODE(parsed[1].mode) == 0o755


def test_newc_is_deterministic_and_rejects_absolute_paths() -> None:
    entries = [build.cpio_file("a", b"1")]
    assert build.write_newc(entries) == build.write_newc(entries)
    with pytest.raises(ValueError, match="relative"):
        build.write_newc([build.cpio_file("/etc/passwd", b"")])


# --------------------------------------------------------------------------- modules


def test_read_modinfo_returns_the_modinfo_strings() -> None:
    ko = make_ko({"license": "GPL", "depends": "virtio,virtio_ring", "vermagic": "6.1 SMP"})
    info = build.read_modinfo(ko)
    assert info["depends"] == ["virtio,virtio_ring"]
    assert info["license"] == ["GPL"]
    assert build.module_depends(ko) == ["virtio", "virtio_ring"]
    assert build.module_depends(make_ko({"depends": ""})) == []


def test_read_modinfo_rejects_non_elf() -> None:
    with pytest.raises(GuestBuildError):
        build.read_modinfo(b"not an elf at all" * 8)


def write_module(moddir: Path, relpath: str, depends: str) -> bytes:
    data = make_ko({"depends": depends, "vermagic": "6.1.0-test SMP mod_unload"})
    path = moddir / "kernel" / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lzma.compress(data) if relpath.endswith(".xz") else data)
    return data


def test_resolve_modules_orders_dependencies_first(tmp_path: Path) -> None:
    write_module(tmp_path, "drivers/a/top.ko", "mid,builtin_thing")
    mid = write_module(tmp_path, "drivers/b/mid.ko.xz", "leaf_one,leaf_two")
    write_module(tmp_path, "drivers/c/leaf-one.ko", "")
    write_module(tmp_path, "drivers/c/leaf_two.ko", "leaf_one")
    write_module(tmp_path, "drivers/d/other.ko", "leaf_two")
    (tmp_path / "modules.builtin").write_text("kernel/drivers/x/builtin_thing.ko\n")

    order = build.resolve_modules(tmp_path, ["top", "other"])

    names = [m.name for m in order]
    assert names == ["leaf_one", "leaf_two", "mid", "top", "other"]
    assert order[2].data == mid  # decompressed from .ko.xz
    assert order[2].depends == ("leaf_one", "leaf_two")


def test_resolve_modules_reports_missing_and_cycles(tmp_path: Path) -> None:
    write_module(tmp_path, "a.ko", "nowhere")
    write_module(tmp_path, "b.ko", "c")
    write_module(tmp_path, "c.ko", "b")
    with pytest.raises(GuestBuildError, match=r"nowhere \(needed by a\)"):
        build.resolve_modules(tmp_path, ["a"])
    with pytest.raises(GuestBuildError, match="cycle"):
        build.resolve_modules(tmp_path, ["b"])


def test_zstd_modules_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "x.ko.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd")
    with pytest.raises(GuestBuildError, match="compression"):
        build.load_module_bytes(path)


# --------------------------------------------------------------------------- initramfs


def test_rc_script_loads_modules_in_order_and_prints_the_markers() -> None:
    rc = build.render_rc("6.1.0-test", [module("scsi_common"), module("scsi_mod"), module("sd")])
    lines = rc.splitlines()
    insmods = [line for line in lines if line.startswith("insmod ")]
    assert insmods == [
        "insmod /lib/modules/6.1.0-test/scsi_common.ko",
        "insmod /lib/modules/6.1.0-test/scsi_mod.ko scan=manual",
        "insmod /lib/modules/6.1.0-test/sd.ko",
    ]
    assert f'echo "{MARKER}"' in rc
    assert f'echo "{DISKS_PREFIX}$serials"' in rc
    assert rc.index("acpid") < rc.index(MARKER)
    assert "cloudenv.ip=*" in rc


@pytest.mark.skipif(shutil.which("sh") is None, reason="no /bin/sh")
def test_rc_script_is_valid_shell(tmp_path: Path) -> None:
    script = tmp_path / "rcS"
    script.write_text(build.render_rc("6.1.0-test", [module("virtio")]))
    subprocess.run(["sh", "-n", str(script)], check=True)


def test_initramfs_has_init_applets_and_parents_first() -> None:
    applets = ["bin/busybox", "bin/sh", "sbin/init", "sbin/acpid", "usr/bin/env", "bin/sh"]
    entries = build.initramfs_entries(b"BB", applets, "6.1.0-test", [module("virtio")])
    paths = [e.path for e in entries]
    assert len(paths) == len(set(paths))
    by_path = {e.path: e for e in entries}
    assert by_path["init"].data == b"bin/busybox"
    assert by_path["bin/sh"].data == b"/bin/busybox"
    assert stat.S_ISREG(by_path["bin/busybox"].mode)
    assert stat.S_ISCHR(by_path["dev/console"].mode)
    assert "lib/modules/6.1.0-test/virtio.ko" in by_path
    assert b"ttyS0::respawn:-/bin/sh" in by_path["etc/inittab"].data
    assert b"poweroff" in by_path["etc/acpi/PWRF/00000080"].data
    for i, path in enumerate(paths):
        parent = path.rpartition("/")[0]
        if parent:
            assert parent in paths[:i], f"{path} before its directory"


# --------------------------------------------------------------------------- cache


def test_cache_root_must_be_reachable_by_libvirt_qemu(tmp_path: Path) -> None:
    with pytest.raises(GuestBuildError, match="/root"):
        build.check_cache_root(Path("/root/guest"))
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    with pytest.raises(GuestBuildError, match="not searchable"):
        build.check_cache_root(private / "cache")
    public = tmp_path / "public"
    public.mkdir()
    public.chmod(0o755)
    tmp_path.chmod(0o755)
    if all(p.stat().st_mode & stat.S_IXOTH for p in tmp_path.parents):
        assert build.check_cache_root(public / "cache") == public / "cache"


def test_build_key_covers_versions_tools_and_source() -> None:
    packages = {"linux-image-6.1.0-1-cloud-amd64": "6.1.1-1", "busybox-static": "1:1.35"}
    tools = {"xorriso": "1.5.4"}
    key = build.build_key(packages, tools, b"source")
    assert key == build.build_key(dict(reversed(packages.items())), tools, b"source")
    assert key != build.build_key({**packages, "busybox-static": "1:1.36"}, tools, b"source")
    assert key != build.build_key(packages, {"xorriso": "1.5.6"}, b"source")
    assert key != build.build_key(packages, tools, b"source!")


def test_is_complete_needs_the_manifest_and_matching_sizes(tmp_path: Path) -> None:
    assert not build.is_complete(tmp_path)
    (tmp_path / "vmlinuz").write_bytes(b"k" * 10)
    (tmp_path / "manifest.json").write_text('{"files": {"vmlinuz": {"size": 10}}}')
    assert build.is_complete(tmp_path)
    (tmp_path / "vmlinuz").write_bytes(b"k" * 9)
    assert not build.is_complete(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    assert not build.is_complete(tmp_path)


def test_make_dir_creates_world_readable_dirs(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    build._make_dir(target)
    for path in (tmp_path / "a", target):
        assert stat.S_IMODE(path.stat().st_mode) == 0o755


# --------------------------------------------------------------------------- apt parsing


def test_kernel_package_and_candidates_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = {
        "depends": "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n",
        "policy": (
            "linux-image-6.1.0-56-cloud-amd64:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"
            "  Version table:\n     6.1.192-2 500\n"
            "busybox-static:\n  Installed: (none)\n  Candidate: 1:1.35.0-4+deb12u1+b1\n"
        ),
    }
    monkeypatch.setattr(build, "_run", lambda args, **_: outputs[str(args[1])])
    assert build.kernel_package_name() == "linux-image-6.1.0-56-cloud-amd64"
    assert build.candidate_versions(["linux-image-6.1.0-56-cloud-amd64", "busybox-static"]) == {
        "linux-image-6.1.0-56-cloud-amd64": "6.1.192-2",
        "busybox-static": "1:1.35.0-4+deb12u1+b1",
    }
    outputs["policy"] = "busybox-static:\n  Installed: (none)\n  Candidate: (none)\n"
    with pytest.raises(GuestBuildError, match="apt-get update"):
        build.candidate_versions(["busybox-static"])


def test_apt_fingerprint_follows_the_lists(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "deb_Packages").write_text("a")
    before = build.apt_fingerprint([lists])
    assert before == build.apt_fingerprint([lists])
    (lists / "lock").write_text("")
    assert before == build.apt_fingerprint([lists])
    (lists / "deb_Packages").write_text("ab")
    assert before != build.apt_fingerprint([lists])
