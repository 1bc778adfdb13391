"""Image uploads in flight: each one reserves its declared size before a byte is read, a
user has at most two at once, and what is staged is readable by the daemon only.

Uploads run concurrently through the ASGI app with bodies that pause after their first
chunk, so a later request meets earlier ones still in flight, as on a busy node."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cloudenv.api import uploads
from tests.conftest import Deployment

pytestmark = pytest.mark.unit

MiB = 1024**2


class Body:
    """A request body that sends one chunk, then waits; ``finish`` sends the rest (all of
    it, or stops short so the upload fails)."""

    def __init__(self, size: int) -> None:
        self.size, self.whole = size, True
        self.gate = asyncio.Event()

    async def chunks(self) -> AsyncIterator[bytes]:
        yield b"x" * 1024
        await self.gate.wait()
        if self.whole:
            for start in range(1024, self.size, MiB):
                yield b"x" * min(MiB, self.size - start)

    def finish(self, *, whole: bool = True) -> None:
        self.whole = whole
        self.gate.set()


class Uploader:
    def __init__(self, dep: Deployment, admin: TestClient) -> None:
        self.dep = dep
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=dep.daemon.app),
            base_url="https://testserver",
            headers={"Authorization": admin.headers["Authorization"]},
        )
        self.staging = dep.daemon.settings.data_dir / "staging"
        self.count = 0

    async def post(self, size: int, body: Body | None = None) -> httpx.Response:
        self.count += 1
        return await self.client.post(
            f"/api/v1/nodes/{self.dep.setup.node_id}/images/images",
            params={
                "storage_pool_id": self.dep.setup.default_pool_id,
                "name": f"upload-{self.count}.iso",
            },
            content=body.chunks() if body else b"x" * size,
            headers={"Content-Length": str(size)},
        )

    async def paused(self, size: int) -> tuple[Body, asyncio.Task[httpx.Response]]:
        """An upload admitted and now waiting after its first chunk."""
        body = Body(size)
        before = self.in_flight()
        task = asyncio.create_task(self.post(size, body))
        for _ in range(500):
            if len(self.in_flight()) > len(before):
                return body, task
            if task.done():
                pytest.fail(f"the upload was not admitted: {task.result().text}")
            await asyncio.sleep(0.01)
        pytest.fail("the upload never reached the staging directory")

    def in_flight(self) -> list[Path]:
        return sorted(self.staging.glob("upload.*.partial")) if self.staging.exists() else []

    def staged(self) -> list[Path]:
        return sorted(self.staging.glob("staged.*")) if self.staging.exists() else []


def test_a_user_has_at_most_two_uploads_in_flight(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    async def scenario() -> None:
        up = Uploader(sqlite_deployment, admin)
        first, first_done = await up.paused(MiB)
        second, second_done = await up.paused(MiB)
        third = await up.post(MiB)
        assert third.status_code == 429, third.text
        assert third.json()["message"] == (
            "You already have 2 uploads in progress on this node, the most one user may "
            "have at once; wait until one has finished, then send this one again."
        )
        first.finish()
        second.finish()
        assert (await first_done).status_code == 202
        assert (await second_done).status_code == 202
        assert up.in_flight() == [] and len(up.staged()) == 2
        assert (await up.post(4096)).status_code == 202  # room again

    asyncio.run(scenario())
    document = admin.get("/api/v1/openapi.json").json()
    upload = document["paths"]["/api/v1/nodes/{node_id}/images/images"]["post"]
    assert "429" in upload["responses"]


def test_an_upload_counts_the_bytes_others_have_declared(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = sqlite_deployment.daemon.settings.data_dir / "staging"
    staging.mkdir()
    free = shutil.disk_usage(staging).free
    monkeypatch.setattr(uploads, "RESERVE_BYTES", free - 100 * MiB)  # ~100 MiB to spare

    async def scenario() -> None:
        up = Uploader(sqlite_deployment, admin)
        first, first_done = await up.paused(60 * MiB)
        refused = await up.post(60 * MiB)
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == "size"
        assert "(1 other uploads in progress)" in refused.json()["message"]
        first.finish(whole=False)  # the first one fails: its reservation goes with it
        assert "arrived; nothing was kept" in (await first_done).json()["message"]
        assert up.in_flight() == [] and up.staged() == []
        again, again_done = await up.paused(60 * MiB)  # admitted now
        again.finish(whole=False)
        await again_done

    asyncio.run(scenario())


def test_an_upload_whose_writer_died_holds_no_space(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    staging = sqlite_deployment.daemon.settings.data_dir / "staging"
    staging.mkdir()
    dead = staging / f"upload.user-gone.{2**60}.abcdefgh.partial"  # nobody holds its lock
    dead.write_bytes(b"x")
    response = asyncio.run(Uploader(sqlite_deployment, admin).post(4096))
    assert response.status_code == 202, response.text
    assert not dead.exists()


def test_staged_uploads_are_readable_by_the_daemon_only(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    up = Uploader(sqlite_deployment, admin)
    assert asyncio.run(up.post(4096)).status_code == 202
    assert stat.S_IMODE(up.staging.stat().st_mode) == 0o700
    (staged,) = up.staged()
    assert stat.S_IMODE(staged.stat().st_mode) == 0o600
    assert staged.stat().st_uid == os.getuid()
