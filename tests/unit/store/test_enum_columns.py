"""State and type columns hold enums: rows read back as members, a value outside the
vocabulary is refused before it reaches the database, and what is stored is the plain
value the schema always held (no migration)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from cloudenv.enums import DesiredState, DeviceType, InstanceState, InstanceType, VolumeStatus
from cloudenv.store.engine import transaction
from cloudenv.store.queries import compute as qc
from cloudenv.store.queries import storage as qs
from cloudenv.store.queries.scope import UNSCOPED
from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy

pytestmark = pytest.mark.unit


def test_rows_read_back_as_enum_members_stored_as_plain_values(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    instance_id = deploy(admin, dep)
    with transaction(dep.factory) as db:
        instance = qc.get_instance(db, instance_id, UNSCOPED)
        assert instance is not None
        assert instance.state is InstanceState.RUNNING
        assert instance.desired_state is DesiredState.RUNNING
        assert instance.type is InstanceType.QEMU
        (device,) = qc.devices(db, instance_id, UNSCOPED)
        assert device.type is DeviceType.STORAGE_VOLUME
        (volume,) = qs.volumes(db, UNSCOPED, instance_id=instance_id)
        assert volume.status is VolumeStatus.AVAILABLE
        stored = db.execute(
            text("SELECT state, desired_state, type FROM instances WHERE id = :id"),
            {"id": instance_id},
        ).one()
    assert tuple(stored) == ("running", "running", 2)


def test_a_value_outside_the_vocabulary_is_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    instance_id = deploy(admin, dep)
    refused = pytest.raises(StatementError, match="'sleeping' is not a valid InstanceState")
    with refused, transaction(dep.factory) as db:
        instance = qc.get_instance(db, instance_id, UNSCOPED)
        assert instance is not None
        instance.state = "sleeping"  # type: ignore[assignment]
        db.flush()
    with transaction(dep.factory) as db:
        instance = qc.get_instance(db, instance_id, UNSCOPED)
        assert instance is not None and instance.state is InstanceState.RUNNING
