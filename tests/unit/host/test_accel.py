"""probe_kvm on fake /dev, /sys and /proc trees, and the node's accelerator setting."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cloudenv.host.accel import AcceleratorProbe, choose_accelerator, probe_kvm

pytestmark = pytest.mark.unit

# Trimmed from real /proc/cpuinfo files: this host (AMD EPYC under a Firecracker guest
# kernel: "hypervisor" but neither vmx nor svm) and a bare-metal Intel server.
CPUINFO_THIS_HOST = """\
processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush \
mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl \
cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe \
popcnt aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a

processor\t: 1
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme de pse tsc msr pae hypervisor lahf_lm
"""
CPUINFO_INTEL = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts \
acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc vmx smx est tm2
vmx flags\t: vnmi preemption_timer posted_intr invvpid ept_x_only ept_ad ept_1gb
"""
CPUINFO_AMD = """\
processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic svm extapic cr8_legacy abm sse4a
"""


def fake_host(
    root: Path,
    *,
    dev_kvm: bool = True,
    modules: tuple[str, ...] = ("kvm", "kvm_intel"),
    cpuinfo: str | None = CPUINFO_INTEL,
) -> Path:
    (root / "dev").mkdir(parents=True, exist_ok=True)
    if dev_kvm:
        (root / "dev" / "kvm").write_bytes(b"")
        (root / "dev" / "kvm").chmod(0o660)
    for name in modules:
        (root / "sys" / "module" / name / "parameters").mkdir(parents=True, exist_ok=True)
    (root / "proc").mkdir(exist_ok=True)
    if cpuinfo is not None:
        (root / "proc" / "cpuinfo").write_text(cpuinfo)
    return root


def non_root_access(path: Path, mode: int) -> bool:
    """os.access as an unprivileged owner sees it (root would pass any mode bits)."""
    bits = stat.S_IMODE(path.stat().st_mode)
    wanted = (stat.S_IRUSR if mode & os.R_OK else 0) | (stat.S_IWUSR if mode & os.W_OK else 0)
    return bits & wanted == wanted


def test_this_host_kvm_pvm_means_tcg(tmp_path: Path) -> None:
    root = fake_host(tmp_path, modules=("kvm", "kvm_pvm"), cpuinfo=CPUINFO_THIS_HOST)

    probe = probe_kvm(root, access=non_root_access)
    accelerator, reason = choose_accelerator("auto", probe)

    assert probe.kvm_usable is False
    assert "kvm-pvm" in probe.reason
    assert accelerator == "tcg"
    assert "kvm-pvm" in reason
    assert "TCG" in reason


def test_kvm_pvm_wins_even_with_vendor_module_and_flags(tmp_path: Path) -> None:
    root = fake_host(tmp_path, modules=("kvm", "kvm_intel", "kvm_pvm"))

    probe = probe_kvm(root, access=non_root_access)

    assert probe.kvm_usable is False
    assert "kvm-pvm" in probe.reason


def test_real_intel_host_is_kvm(tmp_path: Path) -> None:
    root = fake_host(tmp_path)

    probe = probe_kvm(root, access=non_root_access)

    assert probe == AcceleratorProbe(
        True, "Hardware KVM is available (kvm_intel loaded, CPU flag vmx)."
    )
    assert choose_accelerator("auto", probe)[0] == "kvm"
    assert choose_accelerator("kvm", probe)[0] == "kvm"


def test_real_amd_host_is_kvm(tmp_path: Path) -> None:
    root = fake_host(tmp_path, modules=("kvm", "kvm_amd"), cpuinfo=CPUINFO_AMD)

    probe = probe_kvm(root, access=non_root_access)

    assert probe.kvm_usable is True
    assert "kvm_amd" in probe.reason
    assert "svm" in probe.reason


def test_no_dev_kvm(tmp_path: Path) -> None:
    root = fake_host(tmp_path, dev_kvm=False)

    probe = probe_kvm(root, access=non_root_access)

    assert probe.kvm_usable is False
    assert "/dev/kvm does not exist" in probe.reason


def test_dev_kvm_not_writable(tmp_path: Path) -> None:
    root = fake_host(tmp_path)
    (root / "dev" / "kvm").chmod(0)

    probe = probe_kvm(root, access=non_root_access)

    assert probe.kvm_usable is False
    assert "not readable and writable" in probe.reason
    assert "0660" in probe.reason


def test_dev_kvm_read_only_is_not_enough(tmp_path: Path) -> None:
    root = fake_host(tmp_path)
    (root / "dev" / "kvm").chmod(0o444)

    assert probe_kvm(root, access=non_root_access).kvm_usable is False


def test_default_access_check_is_os_access(tmp_path: Path) -> None:
    root = fake_host(tmp_path)
    (root / "dev" / "kvm").chmod(0)

    probe = probe_kvm(root)

    # Root passes os.access whatever the mode bits; anyone else does not.
    assert probe.kvm_usable is (os.geteuid() == 0)


def test_no_vendor_module(tmp_path: Path) -> None:
    root = fake_host(tmp_path, modules=("kvm",))

    probe = probe_kvm(root, access=non_root_access)

    assert probe.kvm_usable is False
    assert "kvm_intel" in probe.reason
    assert "kvm_amd" in probe.reason


def test_no_vmx_or_svm_flag(tmp_path: Path) -> None:
    root = fake_host(tmp_path, cpuinfo=CPUINFO_THIS_HOST)

    probe = probe_kvm(root, access=non_root_access)

    assert probe.kvm_usable is False
    assert "vmx" in probe.reason
    assert "svm" in probe.reason


def test_vmx_only_in_vmx_flags_line_does_not_count(tmp_path: Path) -> None:
    cpuinfo = "processor\t: 0\nflags\t\t: fpu sse2\nvmx flags\t: vnmi ept\n"
    root = fake_host(tmp_path, cpuinfo=cpuinfo)

    assert probe_kvm(root, access=non_root_access).kvm_usable is False


def test_unreadable_cpuinfo(tmp_path: Path) -> None:
    root = fake_host(tmp_path, cpuinfo=None)

    probe = probe_kvm(root, access=non_root_access)

    assert probe.kvm_usable is False
    assert "/proc/cpuinfo" in probe.reason


USABLE = AcceleratorProbe(True, "Hardware KVM is available (kvm_intel loaded, CPU flag vmx).")
UNUSABLE = AcceleratorProbe(False, "KVM here is kvm-pvm (nested paravirtual KVM).")


@pytest.mark.parametrize(
    ("setting", "probe", "expected"),
    [
        ("auto", USABLE, "kvm"),
        ("auto", UNUSABLE, "tcg"),
        ("kvm", USABLE, "kvm"),
        ("tcg", USABLE, "tcg"),
        ("tcg", UNUSABLE, "tcg"),
        (" AUTO ", UNUSABLE, "tcg"),
    ],
)
def test_settings(setting: str, probe: AcceleratorProbe, expected: str) -> None:
    accelerator, reason = choose_accelerator(setting, probe)

    assert accelerator == expected
    assert reason


def test_auto_fallback_reason_says_why() -> None:
    _, reason = choose_accelerator("auto", UNUSABLE)

    assert UNUSABLE.reason in reason
    assert "TCG" in reason


def test_tcg_setting_says_it_was_chosen() -> None:
    _, reason = choose_accelerator("tcg", USABLE)

    assert "node setting" in reason
    assert "KVM is available" in reason


def test_kvm_requested_but_unusable_raises() -> None:
    with pytest.raises(ValueError, match="not usable") as info:
        choose_accelerator("kvm", UNUSABLE)

    message = str(info.value)
    assert "kvm-pvm" in message
    assert "'tcg'" in message
    assert "'auto'" in message


def test_unknown_setting_raises() -> None:
    with pytest.raises(ValueError, match="'auto', 'kvm' or 'tcg'"):
        choose_accelerator("hvf", USABLE)
