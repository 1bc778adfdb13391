"""Boot the test guest under raw QEMU/TCG (no libvirt) and check it comes up.

Checks, each in its own bounded QEMU run (killed afterwards):

* ``kernel`` - direct kernel boot (-kernel/-initrd); also runs a command on the ttyS0 shell and
  presses the ACPI power button (QMP ``system_powerdown``), expecting QEMU to exit;
* ``bios-iso`` - the ISO as a cdrom under SeaBIOS;
* ``uefi-iso`` - the ISO under OVMF (skipped when OVMF cannot be installed);
* ``virtio-disk`` - direct kernel boot with a virtio disk of serial ``ce-disk-1``, expecting
  ``CLOUDENV-DISKS: ce-disk-1``;
* ``scsi-disk`` - the same with a virtio-scsi disk of serial ``ce-disk-2``.

Prints the seconds from QEMU's start to the marker for each, and ``N passed, N failed``.
Run: ``.venv/bin/python -m tests.guest.smoke_boot`` or ``python3 tests/guest/smoke_boot.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    from tests.guest.build import (
        CMDLINE,
        DEFAULT_CACHE_ROOT,
        DISKS_PREFIX,
        GuestArtifacts,
        GuestBuildError,
        build_guest,
        ensure_packages,
    )
except ImportError:  # run as a script: python3 tests/guest/smoke_boot.py
    from build import (  # type: ignore[no-redef]
        CMDLINE,
        DEFAULT_CACHE_ROOT,
        DISKS_PREFIX,
        GuestArtifacts,
        GuestBuildError,
        build_guest,
        ensure_packages,
    )

QEMU = "qemu-system-x86_64"
OVMF_COMBINED = Path("/usr/share/ovmf/OVMF.fd")
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS.fd")
SHELL_PROBE = b"echo CE-SHELL-$((6*7))\n"
SHELL_REPLY = b"CE-SHELL-42"
ALL_CHECKS = ("kernel", "bios-iso", "uefi-iso", "virtio-disk", "scsi-disk")


@dataclass
class Result:
    name: str
    ok: bool = False
    marker_s: float | None = None
    disks: list[str] | None = None
    shell_s: float | None = None
    powerdown_s: float | None = None
    skipped: str | None = None
    errors: list[str] = field(default_factory=list)
    log: Path | None = None

    def line(self) -> str:
        if self.skipped:
            return f"{self.name:12} SKIP  {self.skipped}"
        parts = [f"{self.name:12} {'PASS' if self.ok else 'FAIL'}"]
        parts.append(f"marker {self.marker_s:6.2f} s" if self.marker_s is not None else "no marker")
        if self.disks is not None:
            parts.append(f"disks {self.disks}")
        if self.shell_s is not None:
            parts.append(f"shell {self.shell_s:.2f} s")
        if self.powerdown_s is not None:
            parts.append(f"power button -> off {self.powerdown_s:.2f} s")
        parts += self.errors
        return "  ".join(parts)


class Guest:
    """One QEMU process with its serial console on stdin/stdout."""

    def __init__(self, argv: list[str], log_path: Path) -> None:
        self.started = time.monotonic()
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait_for(self, pattern: bytes, deadline: float, start: int = 0) -> re.Match[bytes] | None:
        """Read the console until ``pattern`` (a regex) matches after offset ``start``."""
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.buf, start)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.5)) and self.proc.poll() is not None):
                return regex.search(self.buf, start)

    def _read(self, timeout: float) -> bool:
        assert self.proc.stdout is not None
        if not self.selector.select(timeout):
            return True
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            self.selector.unregister(self.proc.stdout)
            time.sleep(timeout)
            return False
        self.buf += chunk
        self.log.write(chunk)
        self.log.flush()
        return True

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_exit(self, deadline: float) -> bool:
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        return self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                with contextlib.suppress(OSError):
                    stream.close()
        self.selector.close()
        self.log.close()


def qmp_powerdown(sock_path: Path, deadline: float) -> None:
    """Press the ACPI power button through QEMU's QMP socket."""
    while not sock_path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no QMP socket")
        time.sleep(0.05)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        sock.connect(os.fspath(sock_path))
        reader = sock.makefile("rb")

        def call(command: str) -> None:
            sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
            while True:
                reply = json.loads(reader.readline())
                if "return" in reply:
                    return
                if "error" in reply:
                    raise RuntimeError(f"QMP {command}: {reply['error']}")

        json.loads(reader.readline())  # greeting
        call("qmp_capabilities")
        call("system_powerdown")


def base_argv(memory: int = 256) -> list[str]:
    return [
        QEMU,
        "-accel",
        "tcg",
        "-machine",
        "pc",
        "-m",
        str(memory),
        "-smp",
        "1",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-nic",
        "none",
    ]


def run_check(
    name: str,
    extra: list[str],
    *,
    workdir: Path,
    timeout: float,
    expect_disks: list[str] | None = None,
    probe_shell: bool = False,
    powerdown: bool = False,
) -> Result:
    log_path = workdir / f"{name}.serial.log"
    result = Result(name, log=log_path)
    argv = base_argv() + extra
    qmp = workdir / f"{name}.qmp"
    if powerdown:
        argv += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    guest = Guest(argv, log_path)
    deadline = guest.started + timeout
    try:
        marker = guest.wait_for(rb"CLOUDENV-GUEST-READY\r?\n", deadline)
        if not marker:
            if guest.proc.poll() is not None:
                last = guest.buf.decode(errors="replace").strip().splitlines()[-1:]
                result.errors.append(f"QEMU exited {guest.proc.returncode}: {last}")
            else:
                result.errors.append(f"no marker within {timeout:.0f} s")
            result.errors.append(f"(see {result.log})")
            return result
        result.marker_s = round(guest.elapsed(), 2)
        disks = guest.wait_for(
            re.escape(DISKS_PREFIX.encode()) + rb"([^\r\n]*)\r?\n", deadline, marker.end()
        )
        if not disks:
            result.errors.append(f"no {DISKS_PREFIX} line")
            return result
        result.disks = disks.group(1).decode(errors="replace").split()
        if expect_disks is not None and result.disks != expect_disks:
            result.errors.append(f"expected disks {expect_disks}")
        if probe_shell:
            shell_start = guest.elapsed()
            offset = disks.end()
            while True:
                guest.send(SHELL_PROBE)
                if guest.wait_for(re.escape(SHELL_REPLY), time.monotonic() + 2.0, offset):
                    result.shell_s = round(guest.elapsed() - shell_start, 2)
                    break
                if time.monotonic() > deadline:
                    result.errors.append("no answer from the ttyS0 shell")
                    break
        if powerdown:
            pressed = time.monotonic()
            try:
                qmp_powerdown(qmp, deadline)
            except (OSError, RuntimeError, ValueError) as exc:
                result.errors.append(f"QMP: {exc}")
            else:
                if guest.wait_exit(max(deadline, pressed + 20)):
                    result.powerdown_s = round(time.monotonic() - pressed, 2)
                else:
                    result.errors.append("still running after the power button")
        result.ok = not result.errors
        return result
    finally:
        guest.stop()
        qmp.unlink(missing_ok=True)


def uefi_firmware(workdir: Path) -> list[str] | None:
    if OVMF_COMBINED.exists():
        return ["-bios", os.fspath(OVMF_COMBINED)]
    if OVMF_CODE.exists() and OVMF_VARS.exists():
        vars_copy = workdir / "OVMF_VARS.fd"
        shutil.copyfile(OVMF_VARS, vars_copy)
        return [
            "-drive",
            f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive",
            f"if=pflash,format=raw,unit=1,file={vars_copy}",
        ]
    return None


def smoke(
    guest: GuestArtifacts, checks: Sequence[str], workdir: Path, timeout: float
) -> list[Result]:
    kernel = ["-kernel", os.fspath(guest.kernel), "-initrd", os.fspath(guest.initrd)]
    kernel += ["-append", CMDLINE]
    iso = ["-cdrom", os.fspath(guest.iso), "-boot", "d"]
    results = []
    for name in checks:
        if name == "kernel":
            results.append(
                run_check(
                    name,
                    kernel,
                    workdir=workdir,
                    timeout=timeout,
                    expect_disks=[],
                    probe_shell=True,
                    powerdown=True,
                )
            )
        elif name == "bios-iso":
            results.append(run_check(name, iso, workdir=workdir, timeout=timeout))
        elif name == "uefi-iso":
            firmware = uefi_firmware(workdir)
            if firmware is None:
                results.append(Result(name, skipped="no OVMF firmware (apt-get install ovmf)"))
                continue
            results.append(run_check(name, firmware + iso, workdir=workdir, timeout=timeout))
        elif name in ("virtio-disk", "scsi-disk"):
            image = workdir / f"{name}.img"
            with image.open("wb") as fh:
                fh.truncate(16 << 20)
            if name == "virtio-disk":
                serial = "ce-disk-1"
                # QEMU 7.2 rejects -drive ...,serial=: the serial is a device property.
                disk = [
                    "-drive",
                    f"file={image},if=none,format=raw,id=d0",
                    "-device",
                    f"virtio-blk-pci,drive=d0,serial={serial}",
                ]
            else:
                serial = "ce-disk-2"
                disk = [
                    "-device",
                    "virtio-scsi-pci,id=scsi0",
                    "-drive",
                    f"file={image},if=none,format=raw,id=d0",
                    "-device",
                    f"scsi-hd,drive=d0,bus=scsi0.0,serial={serial}",
                ]
            results.append(
                run_check(
                    name, kernel + disk, workdir=workdir, timeout=timeout, expect_disks=[serial]
                )
            )
        else:
            raise ValueError(f"unknown check {name}")
        print(results[-1].line(), flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Boot the test guest under raw QEMU/TCG.")
    parser.add_argument("--cache-root", type=Path, default=DEFAULT_CACHE_ROOT)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per boot (60)")
    parser.add_argument("--check", action="append", choices=ALL_CHECKS, help="default: all")
    parser.add_argument("--runs", type=int, default=1, help="repeat the checks (timings)")
    parser.add_argument("--log-dir", type=Path, help="keep serial logs here (default: temp)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    checks = args.check or list(ALL_CHECKS)

    try:
        ensure_packages(["qemu-system-x86"])
        if "uefi-iso" in checks:
            try:
                ensure_packages(["ovmf"])
            except GuestBuildError as exc:
                logging.warning("no OVMF: %s", exc)
        started = time.monotonic()
        guest = build_guest(args.cache_root)
        print(f"guest: {guest.kernel.parent} (ready in {time.monotonic() - started:.2f} s)")
    except GuestBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
        workdir = args.log_dir
    else:
        workdir = Path(tempfile.mkdtemp(prefix="cloudenv-smoke-"))
    results: list[Result] = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"-- run {run + 1}/{args.runs}")
        results += smoke(guest, checks, workdir, args.timeout)
    passed = sum(r.ok for r in results)
    failed = sum(not r.ok and not r.skipped for r in results)
    skipped = sum(bool(r.skipped) for r in results)
    if args.runs > 1:
        for name in checks:
            times = sorted(r.marker_s for r in results if r.name == name and r.marker_s)
            if times:
                median = times[len(times) // 2]
                print(f"{name:12} marker min {times[0]:.2f} s, median {median:.2f} s")
    if failed or args.log_dir:
        print(f"serial logs: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"smoke: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
