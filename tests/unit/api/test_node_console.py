"""The node's Console tab over HTTP and WebSocket: who gets a shell ticket (node.console,
a Linux user, root only for the root organization, the node visible), the ticket's single
use at the WebSocket, the audit trail, the shared terminal framing (keystrokes and resize
messages) and the per-user shell limit. No shell runs here: the WebSocket tests replace
the process with a stand-in; tests/integration/test_node_console.py runs real ones."""

from __future__ import annotations

import contextlib
import json
import pwd
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cloudenv import clock
from cloudenv.consoles import router as console_routes
from cloudenv.consoles.bridges import TerminalSize
from cloudenv.consoles.shell import MAX_SHELLS_PER_USER, Account, ShellSlots, find_account
from cloudenv.errors import Forbidden, TooManyRequests
from cloudenv.ids import Prefix, new_id
from cloudenv.services import auth
from cloudenv.services.auth import token_hash
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Cluster, ConsoleToken, Datacenter, Node, User, UserPolicy
from tests.conftest import TENANT_PASSWORD, Deployment, audit_rows, login
from tests.unit.api.test_consoles import refusal
from tests.unit.api.test_instances_api import deploy, upload

pytestmark = pytest.mark.unit

ADMINISTRATOR = "pol-builtin-administrator"
OPERATOR = "pol-builtin-operator"
#: A Linux user no test machine has.
ABSENT_LINUX_USER = "ce-no-such-user"


def add_root_org_user(
    dep: Deployment, username: str, policies: tuple[str, ...], linux_user: str | None
) -> str:
    """A user of the root organization (the node's) with ``policies``; returns its ID."""
    with transaction(dep.factory) as db:
        user = User(
            id=new_id(Prefix.USER),
            organization_id=dep.setup.organization_id,
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


@pytest.fixture
def user_client(sqlite_deployment: Deployment) -> Iterator[Any]:
    """Signs in users made by the test; each gets a client of its own."""
    clients: list[TestClient] = []

    def sign_in(username: str) -> TestClient:
        client = TestClient(sqlite_deployment.daemon.app, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        return login(client, username, TENANT_PASSWORD)

    yield sign_in
    for client in clients:
        client.__exit__(None, None, None)


def console_url(dep: Deployment) -> str:
    return f"/api/v1/nodes/{dep.setup.node_id}/console"


def ticket(client: TestClient, dep: Deployment) -> dict[str, Any]:
    response = client.post(console_url(dep), json={})
    assert response.status_code == 200, response.text
    return dict(response.json())


def node_audit(dep: Deployment) -> list[tuple[str, str, str, int, str]]:
    return [
        (a.username, a.action, a.outcome, a.status_code, a.message)
        for a in audit_rows(dep)
        if a.target_id == dep.setup.node_id and a.action == "node.console"
    ]


def test_ticket_shape_storage_and_audit(admin: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    body = ticket(admin, dep)
    token = body["session_token"]
    assert body == {
        "session_token": token,
        "linux_user": "root",
        "websocket": f"/api/v1/consoles/shell?token={token}",
        "expires_in": 30,
    }
    with transaction(dep.factory) as db:
        (stored,) = db.scalars(select(ConsoleToken))
        assert stored.token_hash == token_hash(token) != token
        assert (stored.kind, stored.node_id, stored.instance_id) == (
            "shell",
            dep.setup.node_id,
            None,
        )
        assert not stored.used
    assert node_audit(dep) == [
        (
            "pceadmin",
            "node.console",
            "success",
            200,
            "Ticket for a shell as Linux user root on node node-a.",
        )
    ]
    access = admin.get(console_url(dep)).json()
    assert access == {"permitted": True, "linux_user": "root", "message": ""}


def test_refused_without_node_console(sqlite_deployment: Deployment, user_client: Any) -> None:
    """The Operator policy leaves node.console out: no ticket, no Console tab, audited."""
    dep = sqlite_deployment
    add_root_org_user(dep, "oscar", (OPERATOR,), linux_user="oscar")
    oscar = user_client("oscar")
    refused = oscar.post(console_url(dep), json={})
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        "oscar's policies don't allow node.console; ask an administrator of the "
        "organization for a policy that does."
    )
    assert oscar.get(console_url(dep)).json() == {
        "permitted": False,
        "linux_user": None,
        "message": refused.json()["message"],
    }
    assert node_audit(dep) == [("oscar", "node.console", "failure", 403, refused.json()["message"])]
    with transaction(dep.factory) as db:
        assert list(db.scalars(select(ConsoleToken))) == []


def test_refused_without_a_linux_user(sqlite_deployment: Deployment, user_client: Any) -> None:
    dep = sqlite_deployment
    add_root_org_user(dep, "nina", (ADMINISTRATOR,), linux_user=None)
    nina = user_client("nina")
    refused = nina.post(console_url(dep), json={})
    assert refused.status_code == 403
    message = refused.json()["message"]
    assert message == (
        "nina has no Linux user to open a shell on node node-a as; an administrator must set "
        "one first."
    )
    # The tab shows (the policy allows it) and says what is missing instead of connecting.
    assert nina.get(console_url(dep)).json() == {
        "permitted": True,
        "linux_user": None,
        "message": message,
    }
    with transaction(dep.factory) as db:
        assert list(db.scalars(select(ConsoleToken))) == []


def test_another_organizations_node_is_404(
    sqlite_deployment: Deployment, tenant: tuple[TestClient, str]
) -> None:
    client, _ = tenant
    node = sqlite_deployment.setup.node_id
    for response in (
        client.post(console_url(sqlite_deployment), json={}),
        client.get(console_url(sqlite_deployment)),
    ):
        assert response.status_code == 404
        assert response.json()["message"] == f"Node {node} does not exist."


def add_tenant_node(dep: Deployment, organization_id: str) -> str:
    """A node of the tenant's own (rows only: no daemon serves it)."""
    now = clock.now()
    with transaction(dep.factory) as db:
        dc = Datacenter(
            id=new_id(Prefix.DATACENTER), organization_id=organization_id, name="dc-b", creation=now
        )
        db.add(dc)
        db.flush()
        cluster = Cluster(
            id=new_id(Prefix.CLUSTER),
            organization_id=organization_id,
            datacenter_id=dc.id,
            name="cls-b",
            creation=now,
        )
        db.add(cluster)
        db.flush()
        node = Node(
            id=new_id(Prefix.NODE),
            organization_id=organization_id,
            cluster_id=cluster.id,
            name="node-b",
            creation=now,
        )
        db.add(node)
        return node.id


def test_a_tenant_never_gets_root(sqlite_deployment: Deployment) -> None:
    """Even an administrator of their own organization, on their own node."""
    dep = sqlite_deployment
    org_id, user_id = dep.add_tenant(username="tina")
    node_id = add_tenant_node(dep, org_id)
    with transaction(dep.factory) as db:
        db.execute(update(User).where(User.id == user_id).values(linux_user="root"))
    with TestClient(dep.daemon.app, base_url="https://testserver") as client:
        tina = login(client, "tina", TENANT_PASSWORD)
        refused = tina.post(f"/api/v1/nodes/{node_id}/console", json={})
        assert refused.status_code == 403
        assert refused.json()["message"] == (
            "tina's Linux user is root, which only the root organization's users may use; an "
            "administrator must set another."
        )
        with transaction(dep.factory) as db:
            db.execute(update(User).where(User.id == user_id).values(linux_user="tina"))
        granted = tina.post(f"/api/v1/nodes/{node_id}/console", json={})
        assert granted.status_code == 200 and granted.json()["linux_user"] == "tina"
        # The ticket opens a shell only on its own node; this daemon serves another.
        code, reason = refusal(tina, granted.json()["websocket"])
    assert code == 4409 and reason == (
        f"This shell opens on node node-b ({node_id}), not here; use that node's web interface."
    )


def test_a_second_name_for_uid_0_is_root_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The node checks the uid, not only the name the ticket was checked with: a Linux
    user ``toor`` with uid 0 is root, for tenants as much as ``root`` itself."""
    toor = pwd.struct_passwd(("toor", "x", 0, 0, "", "/root", "/bin/bash"))
    monkeypatch.setattr(pwd, "getpwnam", lambda name: toor if name == "toor" else None)
    with pytest.raises(Forbidden, match=r"Linux user toor is uid 0 \(root\) on node node-a"):
        find_account("toor", may_be_root=False, node="node-a")
    assert find_account("toor", may_be_root=True, node="node-a").uid == 0


def test_the_ticket_works_once_and_the_node_refusal_is_audited(
    sqlite_deployment: Deployment, user_client: Any
) -> None:
    dep = sqlite_deployment
    add_root_org_user(dep, "ulla", (ADMINISTRATOR,), linux_user=ABSENT_LINUX_USER)
    ulla = user_client("ulla")
    path = ticket(ulla, dep)["websocket"]
    code, reason = refusal(ulla, path)
    assert code == 4409
    assert reason == (
        f"Linux user {ABSENT_LINUX_USER} does not exist on node node-a; an administrator "
        "must create it or set another."
    )
    assert refusal(ulla, path) == (
        4401,
        "This console link was already used; open the console again.",
    )
    (_, refused) = node_audit(dep)
    assert refused[:4] == ("ulla", "node.console", "failure", 409)
    assert refused[4].startswith(f"Shell as Linux user {ABSENT_LINUX_USER} refused.")


def test_expired_wrong_kind_and_changed_user_are_refused(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    body = ticket(admin, dep)
    with transaction(dep.factory) as db:
        db.execute(update(ConsoleToken).values(expires=clock.now() - timedelta(seconds=1)))
    assert refusal(admin, body["websocket"]) == (
        4401,
        "This console link has expired; open the console again.",
    )
    token = ticket(admin, dep)["session_token"]
    code, reason = refusal(admin, f"/api/v1/consoles/serial?token={token}")
    assert code == 4401 and "opens the shell console, not the serial console" in reason

    upload(admin, dep, "guest.iso")
    instance = deploy(admin, dep, image="guest.iso")
    serial = admin.post(f"/api/v1/instances/{instance}/console", json={"kind": "serial"}).json()
    code, reason = refusal(admin, f"/api/v1/consoles/shell?token={serial['session_token']}")
    assert code == 4401 and "opens the serial console, not the shell console" in reason

    # The Linux user is read again at the WebSocket: removed since the ticket, no shell.
    path = ticket(admin, dep)["websocket"]
    with transaction(dep.factory) as db:
        db.execute(update(User).where(User.username == "pceadmin").values(linux_user=None))
    code, reason = refusal(admin, path)
    assert code == 4403 and "has no Linux user" in reason


@dataclass
class StandInShell:
    """What the router runs in place of a real shell: records what the browser sent and
    answers with what the test queues."""

    output: list[bytes] = field(default_factory=list)
    written: list[bytes] = field(default_factory=list)
    sizes: list[TerminalSize] = field(default_factory=list)
    ended: bool = False

    async def read(self) -> bytes:
        while not self.output:
            await anyio.sleep(0.01)
        return self.output.pop(0)

    async def write(self, data: bytes) -> None:
        self.written.append(data)
        if data.endswith(b"\r"):
            self.output.append(b"echoed " + b"".join(self.written))

    def resize(self, size: TerminalSize) -> None:
        self.sizes.append(size)

    def end(self) -> int:
        self.ended = True
        return 0


def test_shell_bridge_framing_and_audit_of_open_and_close(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = sqlite_deployment
    shell = StandInShell(output=[b"root@node-a:~# "])
    started: list[Account] = []

    def start(account: Account) -> StandInShell:
        started.append(account)
        return shell

    monkeypatch.setattr(console_routes.Shell, "start", staticmethod(start))
    with admin.websocket_connect(ticket(admin, dep)["websocket"], subprotocols=["binary"]) as ws:
        assert ws.receive_bytes() == b"root@node-a:~# "
        ws.send_text(json.dumps({"resize": {"cols": 132, "rows": 43}}))
        ws.send_text('{"resize": {"cols": 0, "rows": 43}}')  # nonsense: dropped
        ws.send_bytes(b"echo ")
        ws.send_text("hi\r")  # text frames that are not resize messages are keystrokes
        assert ws.receive_bytes() == b"echoed echo hi\r"
    assert [a.name for a in started] == ["root"]
    assert shell.sizes == [TerminalSize(rows=43, cols=132)]
    assert shell.written == [b"echo ", b"hi\r"]
    assert shell.ended
    assert [row[4] for row in node_audit(dep)] == [
        "Ticket for a shell as Linux user root on node node-a.",
        "Shell opened as Linux user root on node node-a.",
        "Shell as Linux user root on node node-a closed (exit status 0).",
    ]


def test_a_user_gets_at_most_four_shells_on_a_node(
    admin: TestClient, sqlite_deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = sqlite_deployment
    monkeypatch.setattr(
        console_routes.Shell, "start", staticmethod(lambda _: StandInShell(output=[b"$ "]))
    )
    with contextlib.ExitStack() as open_shells:
        for _ in range(MAX_SHELLS_PER_USER):
            ws = open_shells.enter_context(admin.websocket_connect(ticket(admin, dep)["websocket"]))
            assert ws.receive_bytes() == b"$ "
        assert refusal(admin, ticket(admin, dep)["websocket"]) == (
            4429,
            "pceadmin already has 4 shells open on this node; close one (exit) before opening "
            "another.",
        )
    # Closed shells give their slots back.
    with admin.websocket_connect(ticket(admin, dep)["websocket"]) as ws:
        assert ws.receive_bytes() == b"$ "
    refused = [row for row in node_audit(dep) if row[2] == "failure"]
    assert [row[3] for row in refused] == [429]


def test_shells_per_user_are_limited(tmp_path: Path) -> None:
    slots = ShellSlots(tmp_path / "shells", limit=2)
    with slots.take("usr-a", "alice"), slots.take("usr-a", "alice"):
        third = pytest.raises(TooManyRequests, match="alice already has 2 shells open")
        with third, slots.take("usr-a", "alice"):
            pass
        with slots.take("usr-b", "bob"):  # another user's count is their own
            pass
    with slots.take("usr-a", "alice"):  # closing one gives its slot back
        pass
