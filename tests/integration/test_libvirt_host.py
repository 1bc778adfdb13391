"""The host as the platform prepares it: libvirtd started by scripts/start-libvirt.sh, and
the capabilities a node reports read from that real libvirtd with the real KVM probe."""

from __future__ import annotations

import grp
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from cloudenv.drivers.compute.base import Accelerator
from cloudenv.drivers.compute.libvirt_caps import read_capabilities
from cloudenv.host.accel import choose_accelerator, probe_kvm
from tests.support.libvirt import START_SCRIPT, ensure_libvirtd

pytestmark = pytest.mark.integration

DEV_KVM = Path("/dev/kvm")


@pytest.fixture(scope="module")
def started() -> None:
    ensure_libvirtd()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


@pytest.fixture
def conn(started: None) -> Iterator[libvirt.virConnect]:
    connection = libvirt.open("qemu:///system")
    try:
        yield connection
    finally:
        connection.close()


def test_start_script_is_a_quiet_noop_when_running(started: None) -> None:
    pid_before = Path("/run/libvirtd.pid").read_text().strip()

    done = subprocess.run(["bash", str(START_SCRIPT)], capture_output=True, text=True, check=False)

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert Path("/run/libvirtd.pid").read_text().strip() == pid_before


def test_dev_kvm_prepared_as_udev_would(started: None) -> None:
    if not DEV_KVM.exists():
        pytest.skip("this host has no /dev/kvm")
    st = DEV_KVM.stat()
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert grp.getgrgid(st.st_gid).gr_name == "kvm"


def test_capabilities_of_this_host(conn: libvirt.virConnect) -> None:
    probe = probe_kvm()
    accelerator, reason = choose_accelerator("auto", probe)

    t0 = time.monotonic()
    caps = read_capabilities(conn, probe, accelerator, reason)
    print(f"read_capabilities: {time.monotonic() - t0:.4f} s")

    assert "x86_64" in caps
    x86 = caps["x86_64"]
    assert x86.kvm_supported is probe.kvm_usable
    assert x86.accelerator is Accelerator(accelerator)
    assert x86.accelerator_reason == reason
    if Path("/sys/module/kvm_pvm").is_dir():  # this kind of test VM: libvirt claims KVM
        assert x86.accelerator is Accelerator.TCG
        assert x86.kvm_supported is False
        assert "kvm-pvm" in x86.accelerator_reason
    assert x86.wordsize == 64
    assert Path(x86.emulator).is_file()
    assert x86.machines
    assert x86.default_machine in {m.name for m in x86.machines}
    assert x86.firmware["efi"]
    assert all(Path(loader).is_file() for loader in x86.firmware["efi"])
    assert x86.features["uefi"] is True
    assert any(model.usable for model in x86.cpu_models)


def test_lxc_driver_opens(started: None) -> None:
    connection = libvirt.open("lxc:///")
    try:
        assert connection.getType() == "LXC"
        assert "<os_type>exe</os_type>" in connection.getCapabilities()
    finally:
        connection.close()


def test_define_and_undefine_a_tcg_domain(conn: libvirt.virConnect) -> None:
    name = f"cetest-caps-{uuid.uuid4().hex[:8]}"
    xml = f"""<domain type='qemu'>
      <name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type></os>
      <devices><memballoon model='none'/></devices>
    </domain>"""
    domain = None
    try:
        t0 = time.monotonic()
        domain = conn.defineXML(xml)
        print(f"defineXML: {time.monotonic() - t0:.4f} s")
        assert domain.name() == name
        assert not domain.isActive()
        t0 = time.monotonic()
        domain.undefine()
        print(f"undefine: {time.monotonic() - t0:.4f} s")
        domain = None
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByName(name)
    finally:
        if domain is not None:
            domain.undefine()


def test_libvirtd_sees_what_the_node_mounts_for_containers(started: None, tmp_path: Path) -> None:
    """The script shares /run/cloudenv/mounts with libvirtd even when it runs libvirtd in a
    mount namespace of its own: a mount made there afterwards is libvirtd's too."""
    from cloudenv.drivers.compute.container_mounts import MOUNT_DIR

    pid = Path("/run/libvirtd.pid").read_text().strip()
    target = MOUNT_DIR / f"cetest-{uuid.uuid4().hex[:6]}"
    target.mkdir(parents=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "cetest", str(target)], check=True)
        try:
            (target / "seen").write_text("by libvirtd\n")
            assert Path(f"/proc/{pid}/root{target}/seen").read_text() == "by libvirtd\n"
        finally:
            subprocess.run(["umount", str(target)], check=True)
        assert not Path(f"/proc/{pid}/root{target}/seen").exists()  # the unmount too
    finally:
        target.rmdir()


def test_the_storage_driver_stages_in_the_node_s_scratch_directory(
    started: None, tmp_path: Path
) -> None:
    from cloudenv.agent.drivers import libvirt_drivers

    scratch = tmp_path / "data" / "scratch"
    drivers = libvirt_drivers(scratch=scratch)
    assert drivers.storage is not None, drivers.unavailable
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o700
    assert drivers.storage._scratch == str(scratch)  # type: ignore[attr-defined]
