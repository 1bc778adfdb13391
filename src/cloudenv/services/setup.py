"""First-time set-up of a deployment, the installer's steps in service form: the root
organization, its default datacenter and cluster, this host as the cluster's only node,
and the administrator ``pceadmin``. Run once per database, by ``cloudenv init``.

The installer also asks for the node's license key. A key names the node it is for, so a
key issued before the node exists names the ID the node will have: set up with such a key,
the node takes that ID (``node_id_for``). A key for any node (``*``) fits whatever ID.
Keys are checked against the issuers trusted at the same time (none by default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloudenv import clock
from cloudenv.errors import InvalidInput, SetupError
from cloudenv.ids import Prefix, new_id
from cloudenv.services import audit, events
from cloudenv.services.access import SYSTEM
from cloudenv.services.auth import hash_password
from cloudenv.services.iam.passwords import check_password
from cloudenv.services.licensing import issuers, keys
from cloudenv.services.licensing import nodes as licenses
from cloudenv.services.storage.pools import create_default_pool
from cloudenv.services.validation import ORGANIZATION_NAME
from cloudenv.store.tables import Cluster, Datacenter, Node, Organization, User

ADMIN_USERNAME = "pceadmin"
DEFAULT_DATACENTER = "default"
DEFAULT_CLUSTER = "default"


@dataclass(frozen=True)
class SetupRequest:
    organization_name: str
    timezone: str
    admin_password: str
    node_id: str
    node_name: str
    management_ip: str
    hardware: dict[str, Any]
    host: dict[str, Any]
    default_pool_path: str  # a directory QEMU's user can reach (see Settings)
    #: Issuers to trust from the start: (name, public key); the name may be "".
    trusted_issuers: tuple[tuple[str, str], ...] = ()
    license_key: str | None = None


@dataclass(frozen=True)
class SetupResult:
    organization_id: str
    datacenter_id: str
    cluster_id: str
    node_id: str
    admin_user_id: str
    default_pool_id: str


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{name!r} is not a time zone of the tz database; use a name such as 'Etc/UTC' "
            "or 'Europe/Berlin'.",
            field="timezone",
        ) from None
    return name


def node_id_for(license_key: str | None) -> str:
    """The new node's ID: the one its license key was issued for, else a fresh one (a key
    for any node, or one that can't be read: ``validate`` then says why)."""
    if license_key:
        try:
            named = keys.read_claims(license_key).node
        except keys.KeyFormatError:
            named = keys.ANY_NODE
        if named != keys.ANY_NODE:
            return named
    return new_id(Prefix.NODE)


def validate(request: SetupRequest) -> None:
    """Every check, before anything is written."""
    ORGANIZATION_NAME.check(request.organization_name, field="organization")
    check_timezone(request.timezone)
    check_password(request.admin_password, ADMIN_USERNAME, field="admin_password")
    trusted = [issuers.parse(key, field="trust_issuer") for _, key in request.trusted_issuers]
    if request.license_key is not None:
        verdict = keys.check(
            request.license_key, node_id=request.node_id, issuers=trusted, now=clock.now()
        )
        if not verdict.valid:
            raise InvalidInput(verdict.message, field="license_key")


def initialize(db: Session, request: SetupRequest) -> SetupResult:
    validate(request)
    if db.scalar(select(Organization.id).limit(1)) is not None:
        raise SetupError("This database already holds a cloudenv deployment; nothing changed.")
    now = clock.now()
    org = Organization(
        id=new_id(Prefix.ORGANIZATION),
        name=request.organization_name,
        description="The root organization: owner of the deployment.",
        is_root=True,
        creation=now,
    )
    dc = Datacenter(
        id=new_id(Prefix.DATACENTER),
        organization_id=org.id,
        name=DEFAULT_DATACENTER,
        description="Created at installation.",
        latitude=None,
        longitude=None,
        creation=now,
    )
    cluster = Cluster(
        id=new_id(Prefix.CLUSTER),
        organization_id=org.id,
        datacenter_id=dc.id,
        name=DEFAULT_CLUSTER,
        description="Created at installation.",
        leader_id=request.node_id,
        creation=now,
    )
    node = Node(
        id=request.node_id,
        organization_id=org.id,
        cluster_id=cluster.id,
        name=request.node_name,
        description="",
        ip_address=request.management_ip,
        hardware=request.hardware,
        host={**request.host, "timezone": request.timezone},
        creation=now,
    )
    admin = User(
        id=new_id(Prefix.USER),
        organization_id=org.id,
        username=ADMIN_USERNAME,
        password_hash=hash_password(request.admin_password),
        is_root=True,
        linux_user="root",
        description="The deployment's administrator.",
        creation=now,
    )
    # Parents first: foreign keys are checked on each insert.
    for row in (org, dc, cluster, node, admin):
        db.add(row)
        db.flush()
    pool = create_default_pool(db, node, request.default_pool_path)
    for name, public_key in request.trusted_issuers:
        issuers.add_issuer(db, SYSTEM, org.id, name=name, public_key=public_key)
    if request.license_key is not None:
        licenses.store_key(db, SYSTEM, node, request.license_key)
    events.publish(
        db, events.EventKind.DEPLOYMENT_INITIALIZED, organization_id=org.id, target_id=node.id
    )
    audit.record(db, SYSTEM, "deployment.initialize", target_id=node.id, organization_id=org.id)
    return SetupResult(org.id, dc.id, cluster.id, node.id, admin.id, pool.id)
