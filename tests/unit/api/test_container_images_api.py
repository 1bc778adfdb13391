"""Container images through a node's image routes, on the fake drivers: a busybox rootfs
tarball and an OCI layout become LXC images (type 1, format rootfs) holding the normalised
tarball; every hostile upload fails its task naming the entry and leaves no image row,
nothing staged and nothing in the pool; a VM can't boot a container image."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.drivers.compute.base import DiskFormat
from cloudenv.drivers.images.archive import ArchiveLimits
from cloudenv.drivers.storage.base import ProgressCallback, VolumeInfo
from cloudenv.store.tables import Image
from tests.conftest import Deployment, count_rows
from tests.support.container_images import (
    Entry,
    Layout,
    build_busybox_rootfs,
    busybox_layout,
    compress,
    make_tar,
    rootfs_tarball,
    symlink,
    tar_of_directory,
)
from tests.unit.api.test_instances_api import deploy_body

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def busybox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "root")


@pytest.fixture
def written(sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What the agent wrote into the (fake) pool, by volume name: the fake keeps only a
    volume's first bytes, so the upload is recorded on its way in."""
    found: dict[str, bytes] = {}
    fake = sqlite_deployment.storage
    real = fake.upload_volume

    def upload_volume(
        pool: str,
        name: str,
        chunks: Iterable[bytes],
        size: int,
        fmt: DiskFormat,
        progress: ProgressCallback | None = None,
    ) -> VolumeInfo:
        data = b"".join(chunks)
        found[name] = data
        return real(pool, name, [data], size, fmt, progress)

    monkeypatch.setattr(fake, "upload_volume", upload_volume)
    return found


def _url(dep: Deployment) -> str:
    return f"/api/v1/nodes/{dep.setup.node_id}/images/images"


def upload(
    client: TestClient, dep: Deployment, name: str, data: bytes, fmt: str | None = None
) -> dict[str, Any]:
    """Upload, run the import, and return its task."""
    params = {"storage_pool_id": dep.setup.default_pool_id, "name": name}
    if fmt:
        params["format"] = fmt
    response = client.post(_url(dep), params=params, content=data)
    assert response.status_code == 202, response.text
    assert dep.daemon.agent.run_pending() >= 1
    task: dict[str, Any] = client.get(f"/api/v1/tasks/{response.json()['task_id']}").json()
    return task


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def nothing_left(dep: Deployment, written: dict[str, bytes]) -> None:
    assert count_rows(dep, Image) == 0
    staging = dep.daemon.settings.data_dir / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert written == {}
    assert all(not files for files in dep.storage.files.values())


def test_a_busybox_rootfs_tarball_becomes_an_lxc_image(
    admin: TestClient, sqlite_deployment: Deployment, busybox: Path, tmp_path: Path,
    written: dict[str, bytes],
) -> None:  # fmt: skip
    dep = sqlite_deployment
    data = rootfs_tarball(busybox, tmp_path / "busybox.tar.gz").read_bytes()
    task = upload(admin, dep, "busybox.tar.gz", data)
    assert task["status"] == "succeeded", task
    assert any("Checked rootfs tarball busybox.tar.gz" in line["message"] for line in task["log"])
    [image] = admin.get(_url(dep)).json()
    stored = written["image-busybox.tar.gz"]
    assert image["type"] == 1 and image["format"] == "rootfs" and image["status"] == "available"
    assert image["size"] == -(-len(stored) // 1024**2)
    found = members(stored)
    assert found["bin/busybox"].isreg() and found["sbin/init"].issym()
    staging = dep.daemon.settings.data_dir / "staging"
    assert list(staging.iterdir()) == []


@pytest.mark.parametrize(("name", "fmt"), [("busybox.oci.tar", None), ("busybox.tar", None),
                                           ("busybox-image", "oci")])  # fmt: skip
def test_an_oci_layout_becomes_an_lxc_image_with_its_whiteouts_applied(
    admin: TestClient, sqlite_deployment: Deployment, busybox: Path,
    written: dict[str, bytes], name: str, fmt: str | None,
) -> None:  # fmt: skip
    task = upload(admin, sqlite_deployment, name, busybox_layout(busybox).tar(), fmt)
    assert task["status"] == "succeeded", task
    [image] = admin.get(_url(sqlite_deployment)).json()
    assert (image["name"], image["type"], image["format"]) == (name, 1, "rootfs")
    found = members(written[f"image-{name}"])
    assert "opt/new" in found and "etc/motd" in found
    assert "etc/remove-me" not in found and "opt/old" not in found


def _layout_with(*entries: Entry) -> bytes:
    layout = Layout()
    layout.add_layer(make_tar([Entry("etc/hostname", data=b"box\n"), *entries]))
    return layout.seal().tar()


def _lying_layout() -> bytes:
    layout = Layout()
    layout.add_layer(make_tar([Entry("etc/hostname", data=b"box\n")]))
    layout.seal()
    digest = layout.layers[0]["digest"]
    blob = bytearray(layout.blobs[digest])
    blob[-20] ^= 0xFF
    layout.blobs[digest] = bytes(blob)
    return layout.tar()


HOSTILE: dict[str, tuple[str, bytes, str]] = {
    "traversal": (
        "evil.tar.gz",
        compress(make_tar([Entry("../../etc/cron.d/evil", data=b"* * * * * root id\n")]), "gzip"),
        r"entry '../../etc/cron.d/evil' climbs out of the root filesystem",
    ),
    "absolute": (
        "abs.tar",
        make_tar([Entry("/etc/passwd", data=b"x")]),
        "entry '/etc/passwd' is an absolute path",
    ),
    "escaping symlink": (
        "link.tar.xz",
        compress(make_tar([symlink("a/b", "../../../root")]), "xz"),
        r"entry 'a/b' is a symbolic link to '../../../root', which climbs above",
    ),
    "through a symlink": (
        "through.tar",
        make_tar([symlink("etc", "/etc"), Entry("etc/shadow", data=b"x")]),
        r"entry 'etc/shadow' lies under 'etc', a symbolic link",
    ),
    "device": (
        "dev.tar",
        make_tar([Entry("dev/sda", tarfile.BLKTYPE, device=(8, 0))]),
        "entry 'dev/sda' is block device 8:0",
    ),
    "layer traversal": (
        "layer.oci.tar",
        _layout_with(Entry("../evil", data=b"x")),
        r"layer 1 of 1 \(sha256:[0-9a-f]{12}\): entry '../evil' climbs out",
    ),
    "lying digest": ("lies.oci.tar", _lying_layout(), "does not match its digest"),
    "not a layout": (
        "plain.tar",
        make_tar([Entry("etc/hostname", data=b"x")]),
        "it has no oci-layout file",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_container_image_fails_its_task_naming_the_entry_and_leaves_nothing(
    admin: TestClient, sqlite_deployment: Deployment, written: dict[str, bytes], case: str
) -> None:
    name, data, match = HOSTILE[case]
    task = upload(admin, sqlite_deployment, name, data, "oci" if case == "not a layout" else None)
    assert task["status"] == "failed", task
    message = task["message"]
    assert message.startswith(f"Container image {name} was refused: ")
    assert message.endswith("Nothing of it was kept.")
    assert re.search(match, message), message
    nothing_left(sqlite_deployment, written)
    assert admin.get(_url(sqlite_deployment)).json() == []


def test_a_decompression_bomb_and_too_many_entries_fail_within_the_limits(
    admin: TestClient, sqlite_deployment: Deployment, written: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from cloudenv.agent import images as agent_images

    limits = ArchiveLimits(ratio_floor=1024 * 1024, max_ratio=10, max_entries=50)
    monkeypatch.setattr(agent_images, "LIMITS", limits)
    bomb = compress(make_tar([Entry("zeros", data=bytes(16 * 1024 * 1024))]), "gzip")
    task = upload(admin, sqlite_deployment, "bomb.tar.gz", bomb)
    assert task["status"] == "failed" and "decompression bomb" in task["message"], task
    many = make_tar([Entry(f"f{i}") for i in range(60)])
    task = upload(admin, sqlite_deployment, "many.tar", many)
    assert task["status"] == "failed" and "more than 50 entries" in task["message"], task
    nothing_left(sqlite_deployment, written)


def test_an_image_larger_than_the_pool_is_refused(
    admin: TestClient, sqlite_deployment: Deployment, busybox: Path, written: dict[str, bytes]
) -> None:
    sqlite_deployment.storage.capacity_bytes = 1_000_000  # the busybox tree takes ~2 MB
    task = upload(admin, sqlite_deployment, "busybox.tar", tar_of_directory(busybox))
    assert task["status"] == "failed", task
    pool = sqlite_deployment.setup.default_pool_id
    assert f"needs more than 1000000 bytes (pool {pool} has 1000000 bytes free)" in task["message"]
    nothing_left(sqlite_deployment, written)


def test_a_virtual_machine_can_not_boot_a_container_image(
    admin: TestClient, sqlite_deployment: Deployment, busybox: Path, written: dict[str, bytes]
) -> None:
    upload(admin, sqlite_deployment, "busybox.tar", tar_of_directory(busybox))
    response = admin.post(
        "/api/v2/instances", json=deploy_body(sqlite_deployment, image="busybox.tar")
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "image"
    assert "is a container image (type 1); a virtual machine can't" in response.json()["message"]


def test_a_container_image_is_deleted_from_its_pool(
    admin: TestClient, sqlite_deployment: Deployment, busybox: Path, written: dict[str, bytes]
) -> None:
    dep = sqlite_deployment
    upload(admin, dep, "busybox.tar", tar_of_directory(busybox))
    assert any("image-busybox.tar" in files for files in dep.storage.files.values())
    response = admin.delete(f"{_url(dep)}/busybox.tar")
    assert response.status_code == 202, response.text
    dep.daemon.agent.run_pending()
    assert admin.get(_url(dep)).json() == []
    assert all("image-busybox.tar" not in files for files in dep.storage.files.values())


def test_container_formats_are_told_from_the_name() -> None:
    from cloudenv.services.storage.images import guess_format

    assert [guess_format(n) for n in ("a.tar.gz", "a.tgz", "a.tar.zst", "a.tar.xz", "a.tar")] == [
        "rootfs"
    ] * 5
    assert [guess_format(n) for n in ("a.oci.tar", "a.oci")] == ["oci", "oci"]
