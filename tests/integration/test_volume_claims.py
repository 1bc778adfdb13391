"""Two transactions racing for one volume on PostgreSQL: each reads it free (what was
committed when it looked), then takes it. The take is a compare-and-swap, so the second
is refused instead of both instances getting the same disk."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloudenv.enums import DeviceType, VolumeStatus
from cloudenv.errors import CloudenvError, Conflict
from cloudenv.services.access import SYSTEM
from cloudenv.services.compute.devices import DeviceRequest, attach_device
from cloudenv.store.engine import transaction
from cloudenv.store.tables import InstanceDevice, Volume
from tests.conftest import Deployment, login
from tests.support.served_node import ADMIN_PASSWORD
from tests.unit.api.test_devices_snapshots_metrics import spare_volume
from tests.unit.api.test_instances_api import deploy

pytestmark = pytest.mark.integration


def _request(volume_id: str) -> DeviceRequest:
    data = {"volume_id": volume_id, "bus": "virtio", "dev": "/dev/vdb"}
    return DeviceRequest(name="data-1", type=DeviceType.STORAGE_VOLUME.value, data=data)


def test_two_interleaved_attaches_of_one_volume_one_wins(deployment: Deployment) -> None:
    if deployment.daemon.engine.dialect.name != "postgresql":
        pytest.skip("the race needs concurrent writers: PostgreSQL")
    with TestClient(deployment.daemon.app, base_url="https://testserver") as client:
        login(client, "pceadmin", ADMIN_PASSWORD)
        first, second = (
            deploy(client, deployment, name="web-1"),
            deploy(client, deployment, name="web-2"),
        )
        volume_id = spare_volume(client, deployment)

    session_a = deployment.factory()
    attach_device(session_a, SYSTEM, first, _request(volume_id))  # flushed, not committed
    outcome: list[BaseException | str] = []

    def second_attach() -> None:
        try:
            with transaction(deployment.factory) as session_b:
                attach_device(session_b, SYSTEM, second, _request(volume_id))
            outcome.append("attached")
        except CloudenvError as exc:
            outcome.append(exc)

    racer = threading.Thread(target=second_attach)
    racer.start()
    time.sleep(1.5)  # B has read the volume as free and now waits on A's row lock
    assert racer.is_alive()
    session_a.commit()
    session_a.close()
    racer.join(30)

    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    assert f"attached to instance {first}" in outcome[0].message
    with transaction(deployment.factory) as db:
        volume = db.get_one(Volume, volume_id)
        assert (volume.instance_id, volume.status) == (first, VolumeStatus.ATTACHING.value)
        holders = db.scalar(select(func.count()).where(InstanceDevice.resource_id == volume_id))
        assert holders == 1
