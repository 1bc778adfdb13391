"""The store on SQLite and PostgreSQL: migrations build exactly the tables the code
declares, and the services' writes round-trip on both."""

from __future__ import annotations

from datetime import UTC

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from cloudenv.services import tasks
from cloudenv.services.access import SYSTEM
from cloudenv.services.tenancy import datacenters, organizations
from cloudenv.services.tenancy.views import Location
from cloudenv.store.base import Base
from cloudenv.store.engine import make_engine, transaction
from cloudenv.store.migrate import current_revision, head_revision, upgrade
from cloudenv.store.tables import Organization
from tests.conftest import Deployment

pytestmark = pytest.mark.unit


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_sqlite_runs_in_wal_mode(sqlite_deployment: Deployment) -> None:
    with sqlite_deployment.daemon.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_tree_round_trips(deployment: Deployment) -> None:
    with transaction(deployment.factory) as db:
        org = organizations.create_organization(db, SYSTEM, name="round-trip")
        datacenters.create_datacenter(
            db, SYSTEM, organization_id=org.id, name="dc-1", location=Location(-33.86, 151.2)
        )
    with transaction(deployment.factory) as db:
        trees = organizations.list_trees(db, SYSTEM)
    tree = next(t for t in trees if t.organization.name == "round-trip")
    assert tree.datacenters[0].location == Location(-33.86, 151.2)
    assert tree.organization.creation.tzinfo is not None
    assert tree.organization.creation.utcoffset() == UTC.utcoffset(None)


def test_failed_service_call_changes_nothing(deployment: Deployment) -> None:
    from cloudenv.errors import Conflict

    with pytest.raises(Conflict), transaction(deployment.factory) as db:
        organizations.create_organization(db, SYSTEM, name="once")
        organizations.create_organization(db, SYSTEM, name="once")
    with transaction(deployment.factory) as db:
        assert db.scalar(select(Organization).where(Organization.name == "once")) is None


def test_task_claim_on_both_backends(deployment: Deployment) -> None:
    node_id = deployment.setup.node_id
    with transaction(deployment.factory) as db:
        created = tasks.queue_task(
            db,
            SYSTEM,
            tasks.TaskKind.NODE_REFRESH_FACTS,
            node_id=node_id,
            target_id=node_id,
            organization_id=None,
            path=(),
        )
    with transaction(deployment.factory) as db:
        claim = tasks.claim_next(db, node_id)
        assert claim is not None and claim.id == created.id
        tasks.report(db, claim.id, progress=40, line="half way")
        tasks.finish(db, claim.id)
    with transaction(deployment.factory) as db:
        task = tasks.get_task(db, SYSTEM, created.id)
        assert (task.status, task.progress, task.log[0]["message"]) == (
            "succeeded",
            100,
            "half way",
        )
