"""What each route needs the caller's policies to allow: the one table of routes and
their actions (``services.access.Action``).

The route gate (``deps.CurrentPrincipal``) refuses a caller none of whose policies could
allow the route's action, before the route reads anything; the service then checks the
action against the target itself. The OpenAPI document names each operation's action
(``x-cloudenv-action``), which is what the isolation and policy tests walk.

Every route that needs a signed-in caller is in this table: building the app fails on
one that is not (``api.routes.RouteTable``), so a new route can't forget its permission.
``SIGNED_IN`` marks routes any signed-in user may call, because they act on the caller
themselves (their own session, password, second factor, tokens) or because the service
decides per target who may (a task's cancel is its kind's permission).
"""

from __future__ import annotations

from typing import Final

from cloudenv.services.access import Action

#: Any signed-in caller; the service checks per target.
SIGNED_IN: Final = None

A = Action
ROUTE_ACTIONS: dict[str, Action | None] = {
    "auth.logout": SIGNED_IN,
    "auth.me": SIGNED_IN,
    "auth.mfa_enroll": SIGNED_IN,
    "auth.mfa_confirm": SIGNED_IN,
    "auth.mfa_disable": SIGNED_IN,
    "token.list": SIGNED_IN,
    "token.create": SIGNED_IN,
    "token.delete": SIGNED_IN,
    "user.invalidate_sessions": SIGNED_IN,
    "user.unlock": A.USER_UNLOCK,
    "lockout.list": A.LOCKOUT_READ,
    "organization.security_read": A.ORGANIZATION_READ,
    "organization.security_update": A.ORGANIZATION_UPDATE,
    "event.stream": A.ORGANIZATION_READ,
    "organization.list": A.ORGANIZATION_LIST,
    "organization.read": A.ORGANIZATION_READ,
    "organization.create": A.ORGANIZATION_CREATE,
    "organization.update": A.ORGANIZATION_UPDATE,
    "organization.delete": A.ORGANIZATION_DELETE,
    "organization.audit": A.AUDIT_READ,
    "quota.read": A.QUOTA_READ,
    "quota.update": A.QUOTA_UPDATE,
    "datacenter.list": A.DATACENTER_READ,
    "datacenter.read": A.DATACENTER_READ,
    "datacenter.create": A.DATACENTER_CREATE,
    "datacenter.update": A.DATACENTER_UPDATE,
    "datacenter.delete": A.DATACENTER_DELETE,
    "cluster.list": A.CLUSTER_READ,
    "cluster.read": A.CLUSTER_READ,
    "cluster.hardware": A.CLUSTER_READ,
    "cluster.update": A.CLUSTER_UPDATE,
    "node.read": A.NODE_READ,
    "node.capabilities": A.NODE_READ,
    "node.hardware": A.NODE_READ,
    "node.pci": A.NODE_READ,
    "node.tasks": A.TASK_READ,
    # The daemon's log holds what error messages keep from users: its own action.
    "node.logs": A.NODE_LOGS_READ,
    "node.jobs": A.NODE_READ,
    "node.pools": A.POOL_READ,
    "pool.list": A.POOL_READ,
    "pool.create": A.POOL_CREATE,
    "pool.get": A.POOL_READ,
    "pool.update": A.POOL_UPDATE,
    "pool.delete": A.POOL_DELETE,
    "nic.list": A.NIC_READ,
    "vswitch.list": A.VSWITCH_READ,
    "vswitch.create": A.VSWITCH_CREATE,
    "vswitch.get": A.VSWITCH_READ,
    "vswitch.update": A.VSWITCH_UPDATE,
    "vswitch.delete": A.VSWITCH_DELETE,
    "port_group.list": A.PORT_GROUP_READ,
    "port_group.create": A.PORT_GROUP_CREATE,
    "port_group.update": A.PORT_GROUP_UPDATE,
    "port_group.delete": A.PORT_GROUP_DELETE,
    "node.refresh_facts": A.NODE_REFRESH_FACTS,
    "node.console": A.NODE_CONSOLE,
    # Whether the Console tab shows: anyone who sees the node may ask.
    "node.console_access": A.NODE_READ,
    "task.list": A.TASK_READ,
    "task.read": A.TASK_READ,
    "task.cancel": SIGNED_IN,
    "volume.list": A.VOLUME_READ,
    "volume.get": A.VOLUME_READ,
    "volume.create": A.VOLUME_CREATE,
    "volume.resize": A.VOLUME_RESIZE,
    "volume.delete": A.VOLUME_DELETE,
    "image.list": A.IMAGE_READ,
    "image.create": A.IMAGE_CREATE,
    "image.delete": A.IMAGE_DELETE,
    "instance.list": A.INSTANCE_READ,
    "instance.read": A.INSTANCE_READ,
    "instance.metrics": A.INSTANCE_READ,
    "instance.metrics_history": A.METRICS_READ,
    "node.metrics": A.METRICS_READ,
    "node.metrics_current": A.METRICS_READ,
    "cluster.metrics": A.METRICS_READ,
    "prometheus.metrics": A.METRICS_READ,
    "instance.deploy": A.INSTANCE_DEPLOY,
    "instance.power": A.INSTANCE_POWER,
    "instance.update": A.INSTANCE_UPDATE,
    "instance.destroy": A.INSTANCE_DESTROY,
    "instance.console": A.INSTANCE_CONSOLE,
    "instance.device_list": A.INSTANCE_READ,
    "instance.device_attach": A.INSTANCE_DEVICE_ATTACH,
    "instance.device_detach": A.INSTANCE_DEVICE_DETACH,
    "instance.device_update": A.INSTANCE_DEVICE_UPDATE,
    "instance.snapshot_list": A.INSTANCE_READ,
    "instance.snapshot_create": A.INSTANCE_SNAPSHOT,
    "instance.snapshot_revert": A.INSTANCE_SNAPSHOT,
    "instance.snapshot_delete": A.INSTANCE_SNAPSHOT,
    # The action vocabulary is no secret: the policy editor and refusals point to it.
    "policy.actions": SIGNED_IN,
    "policy.list": A.POLICY_LIST,
    "policy.read": A.POLICY_READ,
    "policy.create": A.POLICY_CREATE,
    "policy.update": A.POLICY_UPDATE,
    "policy.delete": A.POLICY_DELETE,
    # One's own password: anyone signed in, for themselves only.
    "auth.password": SIGNED_IN,
    "user.list": A.USER_LIST,
    "user.read": A.USER_READ,
    "user.create": A.USER_CREATE,
    "user.update": A.USER_UPDATE,
    "user.delete": A.USER_DELETE,
    "user.import": A.USER_IMPORT,
    "user.export": A.USER_EXPORT,
    "user.set_policies": A.USER_SET_POLICIES,
    "node.license": A.LICENSE_READ,
    "node.license_set": A.LICENSE_SET,
    "cluster.licensing": A.LICENSE_READ,
    "license.issuer_list": A.LICENSE_READ,
    "license.issuer_create": A.LICENSE_TRUST,
    "license.issuer_delete": A.LICENSE_TRUST,
}


#: What a user whose organization requires a second factor may call before enrolling one.
MFA_ENROLMENT_ROUTES = frozenset({"auth.me", "auth.logout", "auth.mfa_enroll", "auth.mfa_confirm"})


def route_action(route_name: str) -> Action | None:
    """The action ``route_name`` needs (None: any signed-in caller); KeyError for a route
    the table does not name (the route table refuses to build with one)."""
    return ROUTE_ACTIONS[route_name]
