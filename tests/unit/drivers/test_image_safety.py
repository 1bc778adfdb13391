"""Images that refer to other files (a qcow2 with an external data file) are refused by the
libvirt storage driver, before qemu-img opens them, and qemu-img is always told the format
(``-f``) instead of guessing it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.errors import InvalidInput
from cloudenv.drivers.storage import libvirt_pools
from cloudenv.drivers.storage.libvirt_pools import image_info
from tests.unit.drivers.test_storage_contract import (  # the libvirt contract harness
    Harness,
    _libvirt_harness,
    libvirt_ready,  # noqa: F401 - a fixture
)

MiB = 1024**2
SECRET = b"secret contents of another file\n"


def _qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


@pytest.fixture
def with_data_file(tmp_path: Path) -> str:
    """A real qcow2 whose guest data lives in ``raw.img`` (which holds a "secret")."""
    raw = tmp_path / "raw.img"
    _qemu_img("create", "-f", "raw", str(raw), "1M")
    with raw.open("r+b") as handle:
        handle.write(SECRET)
    image = tmp_path / "x.qcow2"
    _qemu_img("create", "-f", "qcow2", "-o", f"data_file={raw},data_file_raw=on", str(image), "1M")
    return str(image)


@pytest.fixture
def qemu_img_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(args: list[str], *rest: Any, **kwargs: Any) -> Any:
        calls.append(list(args))
        return real_run(args, *rest, **kwargs)

    def popen(args: list[str], *rest: Any, **kwargs: Any) -> Any:
        calls.append(list(args))
        return real_popen(args, *rest, **kwargs)

    recording = SimpleNamespace(
        run=run, Popen=popen, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT
    )
    monkeypatch.setattr(libvirt_pools, "subprocess", recording)
    return calls


def _refused(err: pytest.ExceptionInfo[InvalidInput]) -> None:
    assert "refers to another file" in err.value.message
    assert "not allowed" in err.value.message


@pytest.mark.unit
def test_image_info_refuses_an_external_data_file(
    with_data_file: str, qemu_img_calls: list[list[str]]
) -> None:
    with pytest.raises(InvalidInput) as err:
        image_info(with_data_file)
    _refused(err)
    assert err.value.field == "source_path"
    assert qemu_img_calls == []  # refused from the header: qemu-img never opened it


@pytest.mark.unit
def test_image_info_refuses_a_data_file_key_in_qemu_img_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = tmp_path / "plain.qcow2"
    _qemu_img("create", "-f", "qcow2", str(image), "1M")
    output = json.dumps(
        {
            "virtual-size": MiB,
            "filename": str(image),
            "format": "qcow2",
            "format-specific": {"type": "qcow2", "data": {"data-file": "/etc/shadow"}},
        }
    )
    monkeypatch.setattr(libvirt_pools, "_qemu_img", lambda _args, _context: output)
    with pytest.raises(InvalidInput) as err:
        image_info(str(image), "fmt", "Upload of volume v")
    _refused(err)
    assert err.value.message.startswith("Upload of volume v ")


@pytest.mark.unit
@pytest.mark.parametrize("fmt", ["qcow2", "raw", "vmdk"])
def test_qemu_img_info_is_told_the_format(
    tmp_path: Path, qemu_img_calls: list[list[str]], fmt: str
) -> None:
    image = tmp_path / f"plain.{fmt}"
    _qemu_img("create", "-f", fmt, str(image), "1M")
    found = image_info(str(image))
    assert found["format"] == fmt and found["virtual-size"] == MiB
    assert qemu_img_calls == [["qemu-img", "info", "-f", fmt, "--output=json", str(image)]]


@pytest.mark.unit
def test_a_raw_file_that_looks_like_nothing_is_read_as_raw(
    tmp_path: Path, qemu_img_calls: list[list[str]]
) -> None:
    image = tmp_path / "data.bin"
    image.write_bytes(b'# Disk DescriptorFile\nRW 8 FLAT "/etc/shadow" 0\n'.ljust(4096, b"\0"))
    assert image_info(str(image))["format"] == "raw"
    assert all("-f" in call for call in qemu_img_calls)


@pytest.fixture
def lv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    request.getfixturevalue("libvirt_ready")
    for harness in _libvirt_harness(tmp_path):
        harness.driver.ensure_pool(harness.spec)
        yield harness


@pytest.mark.integration
def test_libvirt_upload_of_an_image_with_a_data_file_is_refused(
    lv: Harness, with_data_file: str
) -> None:
    data = Path(with_data_file).read_bytes()
    with pytest.raises(InvalidInput) as err:
        lv.driver.upload_volume(lv.pool, "up.qcow2", [data], len(data), DiskFormat.QCOW2)
    _refused(err)
    assert err.value.field == "fmt"
    assert lv.driver.list_volumes(lv.pool) == [] and lv.leftovers() == []


@pytest.mark.integration
def test_libvirt_clone_of_an_image_with_a_data_file_is_refused(
    lv: Harness, with_data_file: str, qemu_img_calls: list[list[str]]
) -> None:
    with pytest.raises(InvalidInput) as err:
        lv.driver.clone_volume(lv.pool, "disk.qcow2", with_data_file, DiskFormat.QCOW2, None)
    _refused(err)
    assert lv.driver.list_volumes(lv.pool) == [] and lv.leftovers() == []
    assert [c for c in qemu_img_calls if c[:1] == ["qemu-img"]] == []


@pytest.mark.integration
def test_libvirt_clone_tells_qemu_img_the_format(
    lv: Harness, tmp_path: Path, qemu_img_calls: list[list[str]]
) -> None:
    image = tmp_path / "base.qcow2"
    _qemu_img("create", "-f", "qcow2", str(image), "1M")
    info = lv.driver.clone_volume(lv.pool, "disk.raw", str(image), DiskFormat.RAW, 2 * MiB)
    assert info.capacity_bytes == 2 * MiB
    used = [c for c in qemu_img_calls if c[:1] == ["qemu-img"] and c[1] in ("info", "convert")]
    assert used and all("-f" in c for c in used)
    assert ["qemu-img", "info", "-f", "qcow2", "--output=json", str(image)] in used


# -- layering: drivers take their errors from cloudenv.drivers.errors ------------------

DRIVER_MODULES = (
    "compute/libvirt_qemu.py",
    "compute/fake.py",
    "storage/libvirt_pools.py",
    "storage/fake.py",
)


@pytest.mark.unit
@pytest.mark.parametrize("module", DRIVER_MODULES)
def test_drivers_import_errors_from_their_own_errors_module(module: str) -> None:
    import ast

    import cloudenv.drivers

    source = Path(cloudenv.drivers.__file__).parent / module
    imported = {
        node.module
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "cloudenv.errors" not in imported
    assert "cloudenv.drivers.errors" in imported


@pytest.mark.unit
def test_driver_errors_are_the_cloudenv_errors() -> None:
    from cloudenv import errors
    from cloudenv.drivers import errors as driver_errors

    for name in ("Conflict", "InvalidInput", "NotFound", "DriverError"):
        assert getattr(driver_errors, name) is getattr(errors, name)
        assert name in driver_errors.__all__
