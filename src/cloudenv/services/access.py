"""The one authorization point. Every route, the events stream, consoles, the CLI, the
MCP server and the AI agent ask here before they read or act.

Seeing and acting are two questions.

- What a caller *sees* is its ``Principal.scope``, a plain value that every selector in
  ``store.queries`` applies through the one primitive ``store.queries.scope.restrict``:
  the root organization's users see every organization, everyone else only their own.
  An object outside the scope is reported as missing (404), never as forbidden, so IDs
  of other tenants leak nothing.
- What a caller may *do* is its IAM policies (``services.iam.policy``), asked here with
  ``authorize`` for a target (its organization and its path in the tree) and, before a
  route runs at all, with ``authorize_route`` (``api/permissions.py`` names each route's
  action). The root user skips evaluation; the node itself (``SYSTEM``) too.

The action names are one vocabulary (:class:`Action`): routes, task kinds, policies and
audit rows all use it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

from cloudenv.errors import Forbidden
from cloudenv.services.iam.policy import CompiledPolicy, ResourcePath
from cloudenv.store.queries.scope import UNSCOPED, Scope
from cloudenv.store.queries.scope import sees as scope_sees


class Action(StrEnum):
    """What a caller may ask for; the names are also audit actions and IAM actions."""

    ORGANIZATION_LIST = "organization.list"
    #: The minimum to use the web UI: see one's organization and its tree.
    ORGANIZATION_READ = "organization.read"
    ORGANIZATION_CREATE = "organization.create"
    ORGANIZATION_UPDATE = "organization.update"
    ORGANIZATION_DELETE = "organization.delete"
    DATACENTER_READ = "datacenter.read"
    DATACENTER_CREATE = "datacenter.create"
    DATACENTER_UPDATE = "datacenter.update"
    DATACENTER_DELETE = "datacenter.delete"
    CLUSTER_READ = "cluster.read"
    CLUSTER_UPDATE = "cluster.update"
    NODE_READ = "node.read"
    NODE_REFRESH_FACTS = "node.refresh_facts"
    #: A shell on the node itself (its Console tab), as the user's Linux user.
    NODE_CONSOLE = "node.console"
    #: The node's daemon log (``GET /v1/nodes/{id}/logs``): not a plain read of the node,
    #: it holds what error messages keep from users (host paths, exceptions' text).
    NODE_LOGS_READ = "node_log.read"
    TASK_READ = "task.read"
    #: Audited for every cancel, granted or refused; who may cancel is the cancelled
    #: task's kind's permission.
    TASK_CANCEL = "task.cancel"
    POOL_READ = "pool.read"
    POOL_CREATE = "pool.create"
    #: Choose the nodes a pool is enabled on (the only change a pool takes).
    POOL_UPDATE = "pool.update"
    POOL_DELETE = "pool.delete"
    VOLUME_READ = "volume.read"
    VOLUME_CREATE = "volume.create"
    VOLUME_RESIZE = "volume.resize"
    VOLUME_DELETE = "volume.delete"
    #: The node's network interfaces (its Network tab's NICs).
    NIC_READ = "nic.read"
    VSWITCH_READ = "vswitch.read"
    VSWITCH_CREATE = "vswitch.create"
    VSWITCH_UPDATE = "vswitch.update"
    VSWITCH_DELETE = "vswitch.delete"
    PORT_GROUP_READ = "port_group.read"
    PORT_GROUP_CREATE = "port_group.create"
    PORT_GROUP_UPDATE = "port_group.update"
    PORT_GROUP_DELETE = "port_group.delete"
    IMAGE_READ = "image.read"
    IMAGE_CREATE = "image.create"
    IMAGE_DELETE = "image.delete"
    INSTANCE_READ = "instance.read"
    INSTANCE_DEPLOY = "instance.deploy"
    INSTANCE_POWER = "instance.power"
    INSTANCE_UPDATE = "instance.update"
    INSTANCE_DESTROY = "instance.destroy"
    INSTANCE_CONSOLE = "instance.console"
    INSTANCE_DEVICE_ATTACH = "instance.device_attach"
    INSTANCE_DEVICE_DETACH = "instance.device_detach"
    INSTANCE_DEVICE_UPDATE = "instance.device_update"
    INSTANCE_SNAPSHOT = "instance.snapshot"
    USER_LIST = "user.list"
    USER_READ = "user.read"
    USER_CREATE = "user.create"
    USER_UPDATE = "user.update"
    USER_DELETE = "user.delete"
    USER_IMPORT = "user.import"
    USER_EXPORT = "user.export"
    USER_INVALIDATE_SESSIONS = "user.invalidate_sessions"
    USER_UNLOCK = "user.unlock"
    #: Give a user policies (``PUT /v1/users/{id}/policies``).
    USER_SET_POLICIES = "user.set_policies"
    #: Another user's API tokens; one's own need no permission.
    TOKEN_LIST = "token.list"  # noqa: S105 (action names, not secrets)
    TOKEN_CREATE = "token.create"  # noqa: S105
    TOKEN_DELETE = "token.delete"  # noqa: S105
    POLICY_LIST = "policy.list"
    POLICY_READ = "policy.read"
    POLICY_CREATE = "policy.create"
    POLICY_UPDATE = "policy.update"
    POLICY_DELETE = "policy.delete"
    AUDIT_READ = "audit.read"
    LOCKOUT_READ = "lockout.read"
    QUOTA_READ = "quota.read"
    QUOTA_UPDATE = "quota.update"
    #: Usage of nodes, instances and clusters (current and over time), and scraping
    #: ``/metrics``.
    METRICS_READ = "metrics.read"
    #: A node's license key and status, a cluster's licensing, the trusted issuers.
    LICENSE_READ = "license.read"
    #: Set a node's license key (the seed's Set License Key).
    LICENSE_SET = "license.set"
    #: Trust an issuer's public key, or no longer: the deployment's owner alone.
    LICENSE_TRUST = "license.trust"

    @property
    def area(self) -> str:
        return self.value.partition(".")[0]

    @property
    def reads(self) -> bool:
        """Whether it only reads (the Auditor's and Console user's share)."""
        return self.value.endswith((".read", ".list"))


#: Identity and access management: the administrators' own (no Operator has it).
IAM_AREAS = frozenset({"user", "policy", "token", "lockout", "quota"})

# Acting on organizations as a whole belongs to the deployment's owner alone.
ROOT_ONLY: frozenset[Action] = frozenset(
    {Action.ORGANIZATION_CREATE, Action.ORGANIZATION_DELETE, Action.LICENSE_TRUST}
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user, or the node itself (``system``).

    ``policy`` is the user's policies compiled (``services.iam.principals`` builds it);
    None means evaluation is skipped: the root user and the node itself.
    """

    user_id: str | None
    username: str
    organization_id: str | None
    is_root_org: bool
    is_root_user: bool = False
    source_address: str | None = None
    policy: CompiledPolicy | None = field(default=None, compare=False, repr=False)
    linux_user: str | None = None
    #: Signed in with a temporary password: until it is changed, the session may only
    #: read itself, sign out and change the password (``api/deps.py`` holds the rest).
    must_change_password: bool = False
    #: The organization requires a second factor this user has not enrolled yet: until
    #: they do, the route gate lets them only enroll it (and see themselves, sign out).
    must_enroll_mfa: bool = False

    @property
    def scope(self) -> Scope:
        """What this caller sees, for the selectors: every organization for the root
        organization (and the node itself), else its own."""
        if self.is_root_org:
            return UNSCOPED
        return frozenset({self.organization_id}) if self.organization_id else frozenset()

    def sees(self, organization_id: str | None) -> bool:
        return scope_sees(self.scope, organization_id)

    @property
    def unrestricted(self) -> bool:
        """Policies are not evaluated: the root user and the node itself."""
        return self.is_root_user

    def may(self, action: Action, path: ResourcePath) -> bool:
        """Whether the policies allow ``action`` on the target at ``path`` (no tenancy
        check: use :func:`authorize` for that)."""
        if self.unrestricted:
            return True
        if self.policy is None:
            return False
        return self.policy.rules_now(action.value).allows(path)

    def may_somewhere(self, action: Action) -> bool:
        """Whether the policies could allow ``action`` on some target."""
        if self.unrestricted:
            return True
        if self.policy is None:
            return False
        return self.policy.rules_now(action.value).allows_something

    def check_for(self, action: Action) -> Callable[[ResourcePath], bool] | None:
        """A predicate over targets' full paths (organization first) for reading many:
        None when every target is allowed, so lists and the tree skip the per-object
        check (the root user, an Administrator); else one compiled set lookup and regex
        per object. Tenancy is not checked: lists are read through the caller's scope."""
        if self.unrestricted:
            return None
        if self.policy is None:
            return _nothing
        rules = self.policy.rules_now(action.value)
        return None if rules.allows_everything else rules.allows

    @property
    def answers_key(self) -> Hashable:
        """What this caller's policy answers depend on now (``CompiledPolicy.answers_key``):
        callers with equal keys and scopes may share replies filtered by policy. None when
        unknown (don't share)."""
        if self.unrestricted:
            return "unrestricted"
        return self.policy.answers_key() if self.policy is not None else None

    def may_everywhere(self, action: Action) -> bool:
        """Whether the policies allow ``action`` on every target (an allow of ``*`` and no
        deny): lists and the tree then skip their per-object checks."""
        if self.unrestricted:
            return True
        if self.policy is None:
            return False
        return self.policy.rules_now(action.value).allows_everything


def _nothing(_path: ResourcePath) -> bool:
    return False


SYSTEM = Principal(
    user_id=None, username="system", organization_id=None, is_root_org=True, is_root_user=True
)


def authorize(
    principal: Principal,
    action: Action,
    organization_id: str | None,
    path: Sequence[str] = (),
) -> None:
    """Raise Forbidden unless ``principal`` may do ``action`` to the target: inside
    ``organization_id``, at ``path`` (the target's IDs below its organization, down to
    itself, e.g. ``(dc, cluster, node, instance)``; empty for the organization itself).

    Callers load the target through a scoped selector first, so an invisible target has
    already become NotFound; this answers "may they do it" for a visible one.
    """
    if principal.unrestricted:
        return
    if not principal.is_root_org:
        if action in ROOT_ONLY:
            raise Forbidden(
                f"Only users of the root organization may {_words(action)}; "
                "ask the deployment's administrator."
            )
        if organization_id is None or organization_id != principal.organization_id:
            raise Forbidden(f"{principal.username} may not act outside their own organization.")
    if not principal.may(action, full_path(organization_id, path)):
        raise Forbidden(_refusal(principal, action))


def allowed(
    principal: Principal,
    action: Action,
    organization_id: str | None,
    path: Sequence[str] = (),
) -> bool:
    """:func:`authorize` as a yes or no, for choosing among targets (a deploy's node)."""
    try:
        authorize(principal, action, organization_id, path)
    except Forbidden:
        return False
    return True


class _Owned(Protocol):
    @property
    def organization_id(self) -> str | None: ...


Owned = TypeVar("Owned", bound=_Owned)


def readable(
    principal: Principal,
    action: Action,
    items: Iterable[Owned],
    path_of: Callable[[Owned], Sequence[str]],
) -> list[Owned]:
    """The items (read through the caller's scope) whose ``action`` the policies allow,
    each at ``path_of(item)`` below its organization; every item, unchecked, when the
    policies allow the action everywhere (``Principal.check_for``)."""
    listed = list(items)
    check = principal.check_for(action)
    if check is None:
        return listed
    return [i for i in listed if check(full_path(i.organization_id, path_of(i)))]


def full_path(organization_id: str | None, path: Sequence[str]) -> ResourcePath:
    """The path policies match: the organization, then the IDs below it."""
    return ((organization_id,) if organization_id else ()) + tuple(path)


def authorize_route(principal: Principal, action: Action) -> None:
    """The route gate: Forbidden when no policy of the caller could allow ``action``
    anywhere, before the route reads anything. The target is checked by the service."""
    if not principal.may_somewhere(action):
        raise Forbidden(_refusal(principal, action))


def _refusal(principal: Principal, action: Action) -> str:
    return (
        f"{principal.username}'s policies don't allow {action.value}; "
        "ask an administrator of the organization for a policy that does."
    )


def _words(action: Action) -> str:
    return action.value.replace(".", " ")
