"""The one authorization point. Every route, the events stream and (later) consoles, the
CLI, the MCP server and the AI agent ask here before they read or act.

The rule today: a member of the root organization may act on everything; any other user
only inside their own organization, and never on the tenancy of organizations
themselves. The IAM issue plugs policies into ``authorize`` without changing callers.

Seeing and acting are two questions. What a caller *sees* is its ``Principal.scope``, a
plain value that every selector in ``store.queries`` applies through the one primitive
``store.queries.scope.restrict``; services never filter by organization themselves. An
object the caller may not see is reported as missing (404), never as forbidden, so IDs of
other tenants leak nothing. What a caller may *do* with a visible object is ``authorize``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cloudenv.errors import Forbidden
from cloudenv.store.queries.scope import UNSCOPED, Scope
from cloudenv.store.queries.scope import sees as scope_sees


class Action(StrEnum):
    """What a caller may ask for; the names double as audit actions and IAM actions."""

    ORGANIZATION_LIST = "organization.list"
    ORGANIZATION_READ = "organization.read"
    ORGANIZATION_CREATE = "organization.create"
    ORGANIZATION_UPDATE = "organization.update"
    ORGANIZATION_DELETE = "organization.delete"
    DATACENTER_CREATE = "datacenter.create"
    DATACENTER_UPDATE = "datacenter.update"
    DATACENTER_DELETE = "datacenter.delete"
    CLUSTER_UPDATE = "cluster.update"
    NODE_READ = "node.read"
    NODE_REFRESH_FACTS = "node.refresh_facts"
    TASK_READ = "task.read"
    #: Audited for every cancel, granted or refused; who may cancel is the cancelled
    #: task's kind's permission.
    TASK_CANCEL = "task.cancel"
    IMAGE_CREATE = "image.create"
    IMAGE_DELETE = "image.delete"
    INSTANCE_DEPLOY = "instance.deploy"
    INSTANCE_POWER = "instance.power"
    INSTANCE_UPDATE = "instance.update"
    INSTANCE_DESTROY = "instance.destroy"
    INSTANCE_CONSOLE = "instance.console"
    INSTANCE_DEVICE_ATTACH = "instance.device_attach"
    INSTANCE_DEVICE_DETACH = "instance.device_detach"
    INSTANCE_DEVICE_UPDATE = "instance.device_update"
    INSTANCE_SNAPSHOT = "instance.snapshot"


# Acting on organizations as a whole belongs to the deployment's owner alone.
ROOT_ONLY: frozenset[Action] = frozenset({Action.ORGANIZATION_CREATE, Action.ORGANIZATION_DELETE})


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user, or the node itself (``system``)."""

    user_id: str | None
    username: str
    organization_id: str | None
    is_root_org: bool
    is_root_user: bool = False
    source_address: str | None = None

    @property
    def scope(self) -> Scope:
        """What this caller sees, for the selectors: every organization for the root
        organization (and the node itself), else its own."""
        if self.is_root_org:
            return UNSCOPED
        return frozenset({self.organization_id}) if self.organization_id else frozenset()

    def sees(self, organization_id: str | None) -> bool:
        return scope_sees(self.scope, organization_id)


SYSTEM = Principal(
    user_id=None, username="system", organization_id=None, is_root_org=True, is_root_user=True
)


def authorize(principal: Principal, action: Action, organization_id: str | None) -> None:
    """Raise Forbidden unless ``principal`` may do ``action`` inside ``organization_id``.

    Callers load the target through a scoped selector first, so an invisible target has
    already become NotFound; this answers "may they do it" for a visible one.
    """
    if principal.is_root_org:
        return
    if action in ROOT_ONLY:
        raise Forbidden(
            f"Only users of the root organization may {action.value.replace('.', ' ')}; "
            "ask the deployment's administrator."
        )
    if organization_id is None or organization_id != principal.organization_id:
        raise Forbidden(f"{principal.username} may not act outside their own organization.")
