"""The built-in policies every organization has: Administrator, Operator, Auditor and
Console user. They live here, not in the database, so they follow the action vocabulary
as it grows (an Operator may do every new action that is neither IAM nor destroying),
and no one can edit or delete them. Their IDs are fixed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cloudenv.services.access import IAM_AREAS, Action
from cloudenv.services.iam.policy import Effect, Statement

#: Destroying things, which an Operator may not do.
DESTRUCTIVE = frozenset(
    {
        Action.ORGANIZATION_DELETE,
        Action.DATACENTER_DELETE,
        Action.IMAGE_DELETE,
        Action.INSTANCE_DESTROY,
        Action.POOL_DELETE,
        Action.VOLUME_DELETE,
        Action.VSWITCH_DELETE,
        Action.PORT_GROUP_DELETE,
    }
)


#: What records who did what on the deployment, which readers of its resources alone (the
#: Console user) don't see: the audit trail, lockouts, the nodes' daemon logs.
OPERATIONS_RECORDS = frozenset({"audit", "lockout", "node_log"})


@dataclass(frozen=True)
class BuiltinPolicy:
    id: str
    name: str
    description: str
    statements: tuple[Statement, ...]


def _allow(action: str) -> Statement:
    return Statement(action=action, effect=Effect.ALLOW, resource="*")


def _deny(action: str) -> Statement:
    return Statement(action=action, effect=Effect.DENY, resource="*")


def _reads(*, audit: bool, iam: bool) -> tuple[Statement, ...]:
    return tuple(
        _allow(a.value)
        for a in Action
        if a.reads
        and (audit or a.area not in OPERATIONS_RECORDS)
        and (iam or a.area not in IAM_AREAS)
    )


ADMINISTRATOR = BuiltinPolicy(
    id="pol-builtin-administrator",
    name="Administrator",
    description="Everything in the organization, including users, policies and the audit.",
    statements=(_allow("*"),),
)
OPERATOR = BuiltinPolicy(
    id="pol-builtin-operator",
    name="Operator",
    description=(
        "Runs the organization's infrastructure: everything except identity and access "
        "management, destroying, a shell on the nodes, and license keys."
    ),
    statements=(
        _allow("*"),
        *(_deny(f"{area}.*") for area in sorted(IAM_AREAS)),
        *(_deny(a.value) for a in sorted(DESTRUCTIVE)),
        _deny(Action.NODE_CONSOLE.value),
        _deny(Action.ORGANIZATION_CREATE.value),
        # License keys are entitlements the organization's administrators manage.
        _deny(Action.LICENSE_SET.value),
        _deny(Action.LICENSE_TRUST.value),
    ),
)
AUDITOR = BuiltinPolicy(
    id="pol-builtin-auditor",
    name="Auditor",
    description="Reads everything, the audit trail and lockouts included; changes nothing.",
    statements=_reads(audit=True, iam=True),
)
CONSOLE_USER = BuiltinPolicy(
    id="pol-builtin-console-user",
    name="Console user",
    description="Reads the organization's resources and opens instance consoles.",
    statements=(*_reads(audit=False, iam=False), _allow(Action.INSTANCE_CONSOLE.value)),
)

BUILTIN: tuple[BuiltinPolicy, ...] = (ADMINISTRATOR, OPERATOR, AUDITOR, CONSOLE_USER)


@cache
def by_id() -> dict[str, BuiltinPolicy]:
    return {p.id: p for p in BUILTIN}
