"""Users with chosen policies, for the authorization tests: made straight in the store
(the users API is not what these tests are about), signed in over the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from cloudenv import clock
from cloudenv.enums import DesiredState, InstanceState, InstanceType
from cloudenv.ids import Prefix, new_id
from cloudenv.services import auth
from cloudenv.store.engine import transaction
from cloudenv.store.tables import (
    Cluster,
    Datacenter,
    Instance,
    Node,
    Policy,
    User,
    UserPolicy,
)
from tests.conftest import FAKE_HARDWARE, FAKE_HOST, TENANT_PASSWORD, Deployment, login


def add_user(
    dep: Deployment,
    username: str,
    policies: Sequence[str],
    organization_id: str | None = None,
    linux_user: str | None = None,
) -> str:
    """A user of ``organization_id`` (the root organization by default) holding
    ``policies`` (IDs, built-in or stored) in order, with TENANT_PASSWORD; its ID."""
    with transaction(dep.factory) as db:
        user = User(
            id=new_id(Prefix.USER),
            organization_id=organization_id or dep.setup.organization_id,
            username=username,
            password_hash=auth.hash_password(TENANT_PASSWORD),
            linux_user=linux_user,
            creation=clock.now(),
        )
        db.add(user)
        db.flush()
        for position, policy_id in enumerate(policies):
            db.add(UserPolicy(user_id=user.id, policy_id=policy_id, position=position))
        return user.id


def add_policy(
    dep: Deployment,
    statements: list[dict[str, Any]],
    organization_id: str | None = None,
    name: str | None = None,
) -> str:
    """A stored policy of ``organization_id`` (root by default); its ID."""
    with transaction(dep.factory) as db:
        policy = Policy(
            id=new_id(Prefix.POLICY),
            organization_id=organization_id or dep.setup.organization_id,
            name=name or new_id(Prefix.POLICY)[-12:],
            description="",
            statements=statements,
            revision=1,
            creation=clock.now(),
        )
        db.add(policy)
        return policy.id


@contextmanager
def signed_in(dep: Deployment, username: str) -> Iterator[TestClient]:
    with TestClient(dep.daemon.app, base_url="https://testserver") as client:
        yield login(client, username, TENANT_PASSWORD)


@dataclass(frozen=True)
class Branch:
    """A datacenter with one cluster of one node, in the root organization."""

    datacenter: str
    cluster: str
    node: str


def add_branch(dep: Deployment, name: str) -> Branch:
    """A second part of the tree beside the one set-up made, written straight in the
    store (no API adds clusters or nodes); its node counts as alive."""
    org = dep.setup.organization_id
    now = clock.now()
    with transaction(dep.factory) as db:
        dc = Datacenter(
            id=new_id(Prefix.DATACENTER), organization_id=org, name=f"{name}-dc", creation=now
        )
        cluster = Cluster(
            id=new_id(Prefix.CLUSTER),
            organization_id=org,
            datacenter_id=dc.id,
            name=f"{name}-cls",
            creation=now,
        )
        node = Node(
            id=new_id(Prefix.NODE),
            organization_id=org,
            cluster_id=cluster.id,
            name=f"{name}-node",
            last_seen=now,
            hardware=FAKE_HARDWARE,
            host=FAKE_HOST,
            creation=now,
        )
        db.add(dc)
        db.flush()
        db.add(cluster)
        db.flush()
        db.add(node)
        return Branch(dc.id, cluster.id, node.id)


def add_instance(dep: Deployment, node_id: str, name: str) -> str:
    """A stopped instance row on ``node_id`` (of the root organization); its ID."""
    with transaction(dep.factory) as db:
        instance = Instance(
            id=new_id(Prefix.INSTANCE),
            organization_id=dep.setup.organization_id,
            node_id=node_id,
            name=name,
            description="",
            type=InstanceType.QEMU,
            architecture="x86_64",
            uuid=str(uuid.uuid4()),
            cpu_sockets=1,
            cpu_cores=1,
            cpu_threads=1,
            memory_mb=512,
            autostart=False,
            config={"machine_type": "pc", "firmware": "bios"},
            desired_state=DesiredState.STOPPED,
            state=InstanceState.STOPPED,
            state_message="",
            creation=clock.now(),
        )
        db.add(instance)
        return instance.id
