"""ORM tables, one module per area. Importing this package registers them all."""

from cloudenv.store.tables.audit import AuditRecord
from cloudenv.store.tables.compute import ConsoleToken, Instance, InstanceDevice, Snapshot
from cloudenv.store.tables.events import Event
from cloudenv.store.tables.health import SystemJob
from cloudenv.store.tables.iam import (
    ApiToken,
    Lockout,
    Policy,
    RecoveryCode,
    Session_,
    User,
    UserPolicy,
)
from cloudenv.store.tables.licensing import LicenseIssuer, NodeLicense
from cloudenv.store.tables.metrics import MetricLatest, MetricRow
from cloudenv.store.tables.network import NodeNic, PortGroup, VSwitch
from cloudenv.store.tables.storage import Image, JobLease, PoolNode, StoragePool, Volume
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
    "JobLease",
    "LicenseIssuer",
    "Lockout",
    "MetricLatest",
    "MetricRow",
    "Node",
    "NodeLicense",
    "NodeNic",
    "Organization",
    "Policy",
    "PoolNode",
    "PortGroup",
    "RecoveryCode",
    "Session_",
    "Snapshot",
    "StoragePool",
    "SystemJob",
    "Task",
    "User",
    "UserPolicy",
    "VSwitch",
    "Volume",
]
