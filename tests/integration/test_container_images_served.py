"""Container images through a served node (TLS, real libvirt directory pool): a busybox
rootfs tarball and a busybox OCI layout (gzip layer + a whiteout layer) are uploaded over
HTTP, listed as type 1, and what lands in the pool is a normalised tarball that unpacks
into a root where busybox runs; a hostile tarball fails its task and leaves nothing in
the pool, the staging area or the listing; the CLI uploads a layout directory."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from cloudenv.drivers.images.unpack import unpack_rootfs
from tests.support.compute import succeed, wait_task
from tests.support.container_images import (
    MARKER,
    Entry,
    build_busybox_rootfs,
    busybox_layout,
    compress,
    make_tar,
    rootfs_tarball,
)
from tests.support.served_node import ADMIN_PASSWORD, Server, hermetic_env, output_of, run_cli

pytestmark = pytest.mark.integration

NAMES = ("ct-busybox.tar.gz", "ct-busybox.oci.tar", "ct-layout-dir")


def _post(client: httpx.Client, node_id: str, pool: str, name: str, data: bytes) -> httpx.Response:
    return client.post(
        f"/api/v1/nodes/{node_id}/images/images",
        params={"storage_pool_id": pool, "name": name},
        content=data,
        timeout=60.0,
    )


def _run_inside(root: Path, command: str) -> str:
    done = subprocess.run(
        ["chroot", str(root), "/bin/sh", "-c", command], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_container_images_on_a_served_node(real_node: Server, tmp_path: Path) -> None:
    busybox = build_busybox_rootfs(tmp_path / "busybox")
    layout = busybox_layout(busybox)
    node_id = str(real_node.health["id"])
    images = f"/api/v1/nodes/{node_id}/images/images"
    staging = real_node.node.path / "staging"
    with real_node.admin() as client:
        pool = str(client.get(f"/api/v1/nodes/{node_id}/storage/pools").json()[0]["id"])
        pool_dir = Path(client.get(f"/api/v1/storage_pools/{pool}").json()["config"]["path"])
        try:
            tarball = rootfs_tarball(busybox, tmp_path / "busybox.tar.gz").read_bytes()
            succeed(client, _post(client, node_id, pool, NAMES[0], tarball))
            succeed(client, _post(client, node_id, pool, NAMES[1], layout.tar()))
            listed = {i["name"]: i for i in client.get(images).json()}
            for name in NAMES[:2]:
                assert (listed[name]["type"], listed[name]["format"]) == (1, "rootfs")
                assert listed[name]["status"] == "available"
                stored = pool_dir / f"image-{name}"
                assert stat.S_IMODE(stored.stat().st_mode) == 0o600
                root = tmp_path / f"root-{name}"
                unpack_rootfs(stored, root)
                assert _run_inside(root, "/etc/rc.sh") == f"{MARKER}\n"
            oci_root = tmp_path / f"root-{NAMES[1]}"
            assert (oci_root / "opt/new").read_text() == "from the upper layer\n"
            assert not (oci_root / "etc/remove-me").exists()
            assert not (oci_root / "opt/old").exists()

            # A hostile archive: the task fails naming the entry; nothing stays anywhere.
            before = sorted(os.listdir(pool_dir))
            evil = compress(make_tar([Entry("../../../../etc/cron.d/ct-evil", data=b"x")]), "gzip")
            response = _post(client, node_id, pool, "ct-evil.tar.gz", evil)
            assert response.status_code == 202, response.text
            task = wait_task(client, response.json()["task_id"])
            assert task["status"] == "failed", task
            assert "entry '../../../../etc/cron.d/ct-evil' climbs out" in task["message"]
            assert sorted(os.listdir(pool_dir)) == before
            assert "ct-evil.tar.gz" not in {i["name"] for i in client.get(images).json()}
            assert not [p for p in staging.iterdir() if p.name.startswith("staged.")]
            assert not Path("/etc/cron.d/ct-evil").exists()

            # The CLI sends a layout directory as a tar.
            env = hermetic_env(tmp_path / "cli-home")
            login = run_cli(
                ["login", "--url", real_node.url, "--yes", "--password-stdin"],
                env,
                ADMIN_PASSWORD + "\n",
            )
            assert login.returncode == 0, output_of(login)
            directory = layout.write_dir(tmp_path / "layout")
            upload = run_cli(["image", "upload", str(directory), "--name", NAMES[2]], env)
            assert upload.returncode == 0, output_of(upload)
            listed_json = json.loads(run_cli(["image", "list", "--json"], env).stdout)
            mine = next(i for i in listed_json if i["name"] == NAMES[2])
            assert (mine["type"], mine["format"]) == (1, "rootfs")
        finally:
            present = {i["name"] for i in client.get(images).json()}
            for name in NAMES:
                if name in present:
                    wait_task(client, client.delete(f"{images}/{name}").json()["task_id"])
    for name in NAMES:
        assert not (pool_dir / f"image-{name}").exists()
