"""ORM tables, one module per area. Importing this package registers them all."""

from cloudenv.store.tables.audit import AuditRecord
from cloudenv.store.tables.compute import ConsoleToken, Instance, InstanceDevice, Snapshot
from cloudenv.store.tables.events import Event
from cloudenv.store.tables.iam import (
    ApiToken,
    Lockout,
    Policy,
    RecoveryCode,
    Session_,
    User,
    UserPolicy,
)
from cloudenv.store.tables.storage import Image, PoolNode, StoragePool, Volume
from cloudenv.store.tables.tasks import Task
from cloudenv.store.tables.tenancy import Cluster, Datacenter, Node, Organization

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Cluster",
    "ConsoleToken",
    "Datacenter",
    "Event",
    "Image",
    "Instance",
    "InstanceDevice",
    "Lockout",
    "Node",
    "Organization",
    "Policy",
    "PoolNode",
    "RecoveryCode",
    "Session_",
    "Snapshot",
    "StoragePool",
    "Task",
    "User",
    "UserPolicy",
    "Volume",
]
