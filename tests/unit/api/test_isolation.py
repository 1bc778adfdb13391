"""Tenant isolation and policies, generated from the OpenAPI document
(``tests/support/walk.py`` reads ``app.openapi()``; each signed-in operation names its
action in ``x-cloudenv-action``).

- Every signed-in operation names an action of the vocabulary, and the table below has
  a row for every action: a new action or route without one fails here.
- Each built-in policy is allowed exactly what the table says: a user of organization A
  holding only that policy calls every operation of each action on A's objects and is
  refused (403) or not as the table's column says.
- A policy that allows everything but denies one action on A (the organization and all
  beneath it) is refused that action on every operation naming it, or shown none of A's
  objects by the lists: a route that forgets its service's check passes the route gate
  (the action is allowed somewhere) and fails here.
- Another organization's user sees none of A's objects in the events stream, read back
  or live (every other route is test_route_access.py's walk).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cloudenv.services.access import Action
from cloudenv.services.iam import builtin
from tests.conftest import Deployment
from tests.support.principals import add_policy, add_user, signed_in
from tests.support.walk import (
    PUBLIC,
    STREAMS,
    Objects,
    Operation,
    components,
    make_objects,
    operations,
)
from tests.unit.api.test_event_stream import StreamReader

pytestmark = pytest.mark.unit

POLICIES = {
    "Administrator": builtin.ADMINISTRATOR.id,
    "Operator": builtin.OPERATOR.id,
    "Auditor": builtin.AUDITOR.id,
    "Console user": builtin.CONSOLE_USER.id,
}

# What each built-in policy allows: one row per action of the vocabulary, one column
# per policy (Administrator, Operator, Auditor, Console user); "x" allowed, "." refused.
TABLE = """
action                        Adm Op  Aud Con
organization.list              x   x   x   x
organization.read              x   x   x   x
organization.create            x   .   .   .
organization.update            x   x   .   .
organization.delete            x   .   .   .
datacenter.read                x   x   x   x
datacenter.create              x   x   .   .
datacenter.update              x   x   .   .
datacenter.delete              x   .   .   .
cluster.read                   x   x   x   x
cluster.update                 x   x   .   .
node.read                      x   x   x   x
node.refresh_facts             x   x   .   .
node.console                   x   .   .   .
node_log.read                  x   x   x   .
task.read                      x   x   x   x
task.cancel                    x   x   .   .
pool.read                      x   x   x   x
pool.create                    x   x   .   .
pool.update                    x   x   .   .
pool.delete                    x   .   .   .
volume.read                    x   x   x   x
volume.create                  x   x   .   .
volume.resize                  x   x   .   .
volume.delete                  x   .   .   .
nic.read                       x   x   x   x
vswitch.read                   x   x   x   x
vswitch.create                 x   x   .   .
vswitch.update                 x   x   .   .
vswitch.delete                 x   .   .   .
port_group.read                x   x   x   x
port_group.create              x   x   .   .
port_group.update              x   x   .   .
port_group.delete              x   .   .   .
image.read                     x   x   x   x
image.create                   x   x   .   .
image.delete                   x   .   .   .
instance.read                  x   x   x   x
instance.deploy                x   x   .   .
instance.power                 x   x   .   .
instance.update                x   x   .   .
instance.destroy               x   .   .   .
instance.console               x   x   .   x
instance.device_attach         x   x   .   .
instance.device_detach         x   x   .   .
instance.device_update         x   x   .   .
instance.snapshot              x   x   .   .
user.list                      x   .   x   .
user.read                      x   .   x   .
user.create                    x   .   .   .
user.update                    x   .   .   .
user.delete                    x   .   .   .
user.import                    x   .   .   .
user.export                    x   .   .   .
user.invalidate_sessions       x   .   .   .
user.unlock                    x   .   .   .
user.set_policies              x   .   .   .
token.list                     x   .   x   .
token.create                   x   .   .   .
token.delete                   x   .   .   .
policy.list                    x   .   x   .
policy.read                    x   .   x   .
policy.create                  x   .   .   .
policy.update                  x   .   .   .
policy.delete                  x   .   .   .
audit.read                     x   x   x   .
lockout.read                   x   .   x   .
quota.read                     x   .   x   .
quota.update                   x   .   .   .
license.read                   x   x   x   x
license.set                    x   .   .   .
license.trust                  x   .   .   .
metrics.read                   x   x   x   x
"""


def _table() -> dict[str, dict[str, bool]]:
    header, *rows = [line.split() for line in TABLE.strip().splitlines()]
    assert len(header) == 1 + len(POLICIES)
    return {row[0]: dict(zip(POLICIES, (c == "x" for c in row[1:]), strict=True)) for row in rows}


ALLOWED = _table()

#: Actions whose operations have no target below an organization (creating one): only
#: the route gate can refuse them, and a deny on an organization's subtree can't.
NO_TARGET = {"organization.create"}


@pytest.fixture
def objects(admin: TestClient, sqlite_deployment: Deployment) -> Objects:
    return make_objects(admin, sqlite_deployment)


@pytest.fixture
def gated(sqlite_deployment: Deployment) -> list[Operation]:
    """The operations that name an action, in the document's order."""
    return [o for o in operations(sqlite_deployment.daemon.app) if o.action is not None]


def test_every_signed_in_operation_names_an_action_of_the_table(
    sqlite_deployment: Deployment,
) -> None:
    walked = operations(sqlite_deployment.daemon.app)
    unnamed = [str(o) for o in walked if not o.signed_in and str(o) not in PUBLIC]
    assert not unnamed, f"operations without x-cloudenv-action (not public): {unnamed}"
    vocabulary = {a.value for a in Action}
    unknown = {str(o): o.action for o in walked if o.action and o.action not in vocabulary}
    assert not unknown, f"operations naming an action the vocabulary lacks: {unknown}"
    missing = vocabulary - set(ALLOWED)
    assert not missing, f"actions without a row in TABLE: {sorted(missing)}"
    assert set(ALLOWED) <= vocabulary, f"rows for no action: {set(ALLOWED) - vocabulary}"


@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_the_table_says_what_the_built_in_policies_say(action: str) -> None:
    """The table is the built-ins' definition (services/iam/builtin.py) read back; the
    HTTP walk below holds every route to it."""
    from datetime import datetime

    from cloudenv.services.iam.policy import CompiledPolicy

    when = datetime(2026, 1, 5, 10, 30)
    for name, policy_id in POLICIES.items():
        policy = CompiledPolicy(builtin.by_id()[policy_id].statements)
        assert policy.allows_something(action, when) is ALLOWED[action][name], (action, name)


def _body(response: httpx.Response) -> str:
    return response.text[:200]


@pytest.mark.parametrize("policy", list(POLICIES))
def test_each_built_in_policy_is_allowed_exactly_its_actions(
    policy: str,
    sqlite_deployment: Deployment,
    objects: Objects,
    gated: list[Operation],
) -> None:
    dep = sqlite_deployment
    schemas = components(dep.daemon.app)
    # With a Linux user: the node console refuses a user without one whatever the policy.
    add_user(dep, "holder", [POLICIES[policy]], linux_user="holder")
    wrong = {}
    with signed_in(dep, "holder") as client:
        for operation in gated:
            assert operation.action is not None
            response = objects.call(client, operation, dep, schemas)
            allowed = ALLOWED[operation.action][policy]
            if (response.status_code == 403) == allowed:
                wrong[str(operation)] = (operation.action, response.status_code, _body(response))
    assert not wrong, f"{policy}: operations whose answer the table contradicts: {wrong}"


def _shows_nothing_of(response: httpx.Response, objects: Objects, asked: str) -> bool:
    """A read that answered with none of A's objects beyond those the request named."""
    if response.request.method != "GET" or response.status_code != 200:
        return False
    return not [i for i in objects.ids() if i in response.text and i not in asked]


def test_a_deny_on_the_organization_refuses_every_operation_of_its_action(
    sqlite_deployment: Deployment, objects: Objects, gated: list[Operation]
) -> None:
    """Per action, a user allowed everything but that action on organization A and all
    beneath it: the route gate lets the call through (the action is allowed somewhere),
    so only the service's own check at the target can refuse it."""
    dep = sqlite_deployment
    schemas = components(dep.daemon.app)
    org = objects.organization
    targeted = [o for o in gated if o.action not in NO_TARGET and str(o) not in STREAMS]
    actions = sorted({o.action for o in targeted if o.action})
    for i, action in enumerate(actions):
        statements: list[dict[str, Any]] = [
            {"action": "*", "effect": "allow", "resource": "*"},
            {"action": action, "effect": "deny", "resource": org},
            {"action": action, "effect": "deny", "resource": f"{org}/*"},
        ]
        add_user(dep, f"denied-{i}", [add_policy(dep, statements, name=f"deny-{i}")])
    wrong = {}
    for i, action in enumerate(actions):
        with signed_in(dep, f"denied-{i}") as client:
            for operation in [o for o in targeted if o.action == action]:
                response = objects.call(client, operation, dep, schemas)
                asked = str(response.request.url)
                if response.status_code != 403 and not _shows_nothing_of(response, objects, asked):
                    wrong[str(operation)] = (action, response.status_code, _body(response))
    assert not wrong, f"operations a deny of their action on the target did not stop: {wrong}"


def _events(client: TestClient) -> list[dict[str, Any]]:
    with client.stream("GET", "/api/v1/events", params={"since": 0, "timeout": 0.6}) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_the_events_stream_shows_another_organization_none_of_our_objects(
    admin: TestClient,
    tenant: tuple[TestClient, str],
    sqlite_deployment: Deployment,
    objects: Objects,
) -> None:
    client, org_b = tenant
    # Read back from the store: everything A did to make its objects.
    backlog = _events(client)
    assert all(e["organization_id"] == org_b for e in backlog)
    text = json.dumps(backlog)
    assert not [i for i in objects.ids() if i in text]
    assert objects.instance in json.dumps(_events(admin))
    # Live, from the shared feed, while A changes its instance and B its own things.
    token = client.headers["Authorization"].removeprefix("Bearer ")
    reader = StreamReader(sqlite_deployment, token, timeout=2.0)
    reader.start()
    time.sleep(0.5)
    admin.patch(f"/api/v1/instances/{objects.instance}", json={"data": {"description": "x"}})
    own = client.post("/api/v1/datacenters", json={"name": "b-dc", "organization_id": org_b})
    reader.join(10)
    live = reader.events()
    assert own.json()["id"] in {e["target_id"] for e in live}
    assert not [i for i in objects.ids() if i in json.dumps(live)]
