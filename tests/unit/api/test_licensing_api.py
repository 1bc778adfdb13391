"""License keys over HTTP: a node's key and status (valid, expiring, expired, missing), each
refusal of a key with its reason (malformed, no issuer trusted, untrusted issuer, forged,
another node's, expired) leaving the key before it in place, the cluster's status following
its nodes, who may set and see a key, and the issuers the deployment trusts."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudenv import clock
from cloudenv.ids import Prefix, new_id
from cloudenv.services.iam import builtin
from cloudenv.services.licensing import keys
from cloudenv.store.engine import transaction
from cloudenv.store.tables import Cluster, Datacenter, Event, Node, NodeLicense
from tests.conftest import FAKE_HARDWARE, FAKE_HOST, Deployment, audit_rows
from tests.support.principals import add_user, signed_in

pytestmark = pytest.mark.unit

ISSUER = keys.generate_issuer()
OTHER_NODE = "node-AAAAAAAAAAAAAAAAAAAAA"


def trust(client: TestClient, private: keys.Ed25519PrivateKey = ISSUER, name: str = "") -> str:
    body = {"public_key": keys.public_key_text(private.public_key()), "name": name}
    response = client.post("/api/v1/license_issuers", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def issue(
    node: str, days: float = 365, private: keys.Ed25519PrivateKey = ISSUER, issued_days_ago: int = 1
) -> str:
    now = clock.now()
    return keys.issue(
        private,
        node=node,
        expiry=now + timedelta(days=days),
        features=["support"],
        issued=now - timedelta(days=issued_days_ago),
    )


def put(client: TestClient, node: str, key: str) -> dict[str, object]:
    response = client.put(f"/api/v1/nodes/{node}/license", json={"key": key})
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def refused(client: TestClient, node: str, key: str) -> str:
    response = client.put(f"/api/v1/nodes/{node}/license", json={"key": key})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "key"
    return str(response.json()["message"])


def licensing(client: TestClient, dep: Deployment) -> dict[str, dict[str, object]]:
    response = client.get(f"/api/v1/clusters/{dep.setup.cluster_id}/licensing")
    assert response.status_code == 200, response.text
    answer: dict[str, dict[str, object]] = response.json()
    return answer


def add_node(dep: Deployment, name: str, cluster_id: str | None = None) -> str:
    """Another node of the set-up's cluster (no API adds nodes yet)."""
    with transaction(dep.factory) as db:
        node = Node(
            id=new_id(Prefix.NODE),
            organization_id=dep.setup.organization_id,
            cluster_id=cluster_id or dep.setup.cluster_id,
            name=name,
            last_seen=clock.now(),
            hardware=FAKE_HARDWARE,
            host=FAKE_HOST,
            creation=clock.now(),
        )
        db.add(node)
        return node.id


def store_key(dep: Deployment, node_id: str, key: str) -> None:
    """A key as it sits in the store after time passed (no call could set it now)."""
    with transaction(dep.factory) as db:
        db.merge(
            NodeLicense(
                node_id=node_id,
                organization_id=dep.setup.organization_id,
                key=key,
                updated=clock.now(),
            )
        )


def test_a_node_without_a_key_is_missing_and_so_is_its_cluster(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node = sqlite_deployment.setup.node_id
    shown = admin.get(f"/api/v1/nodes/{node}/license").json()
    assert shown["key"] is None and shown["expiry"] is None and shown["valid"] is False
    assert shown["status"] == "missing" and "No license key" in shown["reason"]
    status = licensing(admin, sqlite_deployment)
    assert status["cluster"] == {"status": "missing", "next_expiry": None}
    assert status["nodes"] == {node: {"ok": False, "expiry": None, "status": "missing"}}


def test_a_valid_key_is_set_shown_audited_and_announced_without_the_key(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep, node = sqlite_deployment, sqlite_deployment.setup.node_id
    trust(admin, name="Vendor A")
    key = issue(node)
    claims = keys.read_claims(key)
    answer = put(admin, node, key)
    expiry = clock.rfc3339(claims.expiry)
    assert answer == {
        "key": key,
        "expiry": expiry,
        "valid": True,
        "status": "valid",
        "reason": None,
        "features": ["support"],
    }
    assert admin.get(f"/api/v1/nodes/{node}/license").json() == answer
    assert licensing(admin, dep) == {
        "cluster": {"status": "valid", "next_expiry": expiry},
        "nodes": {node: {"ok": True, "expiry": expiry, "status": "valid"}},
    }
    (row,) = [r for r in audit_rows(dep) if r.action == "license.set"]
    assert row.outcome == "success" and row.target_id == node and row.username == "pceadmin"
    assert claims.id in row.message and expiry in row.message
    with transaction(dep.factory) as db:
        events = list(db.scalars(select(Event).where(Event.kind == "node.license_updated")))
    assert [(e.target_id, e.data["status"]) for e in events] == [(node, "valid")]
    # The key entitles whoever holds it: neither the trail nor the feed repeats it.
    signature = key.rsplit(".", 1)[1]
    assert not [r for r in audit_rows(dep) if signature in r.message]
    assert signature not in json.dumps([e.data for e in events])


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("garbage", ["not a cloudenv license key"]),
        ("untrusted", ["does not trust", "cloudenv license trust"]),
        ("forged", ["altered or forged"]),
        ("another node's", [OTHER_NODE, "is for node"]),
        ("expired", ["expired on", "renewed key"]),
    ],
)
def test_a_refused_key_says_why_and_the_key_before_stays(
    admin: TestClient, sqlite_deployment: Deployment, case: str, words: list[str]
) -> None:
    dep, node = sqlite_deployment, sqlite_deployment.setup.node_id
    trust(admin)
    before = put(admin, node, issue(node))
    stranger = keys.generate_issuer()
    bad = {
        "garbage": "hello, this is my license",
        "untrusted": issue(node, private=stranger),
        "forged": _resigned(issue(node), stranger),
        "another node's": issue(OTHER_NODE),
        "expired": issue(node, days=-1, issued_days_ago=400),
    }[case]
    message = refused(admin, node, bad)
    assert all(w in message for w in words), message
    assert admin.get(f"/api/v1/nodes/{node}/license").json() == before
    failure = [r for r in audit_rows(dep) if r.outcome == "failure"][-1]
    assert failure.action == "node.license_set" and failure.status_code == 400
    assert bad not in failure.message


def _resigned(key: str, forger: keys.Ed25519PrivateKey) -> str:
    """A trusted issuer's key with the forger's signature put on it."""
    signed = key.rsplit(".", 1)[0]
    signature = base64.urlsafe_b64encode(forger.sign(signed.encode())).rstrip(b"=").decode()
    return f"{signed}.{signature}"


def test_without_a_trusted_issuer_no_key_can_be_set(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node = sqlite_deployment.setup.node_id
    message = refused(admin, node, issue(node))
    assert "trusts no license issuer" in message
    assert admin.get(f"/api/v1/nodes/{node}/license").json()["status"] == "missing"


def test_a_key_within_30_days_of_its_expiry_is_valid_but_expiring(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node = sqlite_deployment.setup.node_id
    trust(admin)
    answer = put(admin, node, issue(node, days=10))
    assert answer["valid"] is True and answer["status"] == "expiring"
    assert "within 30 days" in str(answer["reason"])
    status = licensing(admin, sqlite_deployment)
    assert status["cluster"] == {"status": "expiring", "next_expiry": answer["expiry"]}
    assert status["nodes"][node] == {"ok": True, "expiry": answer["expiry"], "status": "expiring"}
    assert put(admin, node, issue(node, days=31))["status"] == "valid"


def test_a_key_that_expired_after_it_was_set_shows_expired(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    node = sqlite_deployment.setup.node_id
    trust(admin)
    lapsed = issue(node, days=-2, issued_days_ago=400)
    store_key(sqlite_deployment, node, lapsed)
    shown = admin.get(f"/api/v1/nodes/{node}/license").json()
    assert shown["key"] == lapsed and shown["valid"] is False and shown["status"] == "expired"
    assert shown["expiry"] == clock.rfc3339(keys.read_claims(lapsed).expiry)
    assert "expired on" in shown["reason"]
    status = licensing(admin, sqlite_deployment)
    assert status["cluster"] == {"status": "expired", "next_expiry": None}
    assert status["nodes"][node]["ok"] is False


def test_the_cluster_status_is_its_worst_nodes(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep, first = sqlite_deployment, sqlite_deployment.setup.node_id
    second = add_node(dep, "node-b")
    elsewhere = add_node(dep, "node-c", cluster_id=_other_cluster(dep))
    trust(admin)
    far = put(admin, first, issue(first, days=300))
    assert licensing(admin, dep)["cluster"]["status"] == "missing"  # second has none
    assert set(licensing(admin, dep)["nodes"]) == {first, second}  # not the other cluster's
    near = put(admin, second, issue(second, days=20))
    assert licensing(admin, dep)["cluster"] == {"status": "expiring", "next_expiry": near["expiry"]}
    put(admin, second, issue(second, days=100))
    status = licensing(admin, dep)
    assert status["cluster"]["status"] == "valid"
    assert (
        status["cluster"]["next_expiry"]
        == admin.get(f"/api/v1/nodes/{second}/license").json()["expiry"]
    )
    store_key(dep, second, issue(second, days=-1, issued_days_ago=400))
    status = licensing(admin, dep)
    assert status["cluster"] == {"status": "expired", "next_expiry": far["expiry"]}
    assert status["nodes"][second]["ok"] is False and status["nodes"][first]["ok"] is True
    put(admin, elsewhere, issue(elsewhere))  # another cluster's node changes nothing here
    assert licensing(admin, dep)["cluster"]["status"] == "expired"


def _other_cluster(dep: Deployment) -> str:
    with transaction(dep.factory) as db:
        cluster = Cluster(
            id=new_id(Prefix.CLUSTER),
            organization_id=dep.setup.organization_id,
            datacenter_id=dep.setup.datacenter_id,
            name="other",
            creation=clock.now(),
        )
        db.add(cluster)
        return cluster.id


def test_a_key_for_any_node_is_valid_on_every_node(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep, first = sqlite_deployment, sqlite_deployment.setup.node_id
    second = add_node(dep, "node-b")
    trust(admin)
    key = issue("*")
    put(admin, first, key)
    put(admin, second, key)
    assert licensing(admin, dep)["cluster"]["status"] == "valid"


def test_an_issuer_no_longer_trusted_turns_its_keys_missing_until_trusted_again(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep, node = sqlite_deployment, sqlite_deployment.setup.node_id
    issuer_id = trust(admin, name="Vendor A")
    key = issue(node)
    put(admin, node, key)
    assert admin.delete(f"/api/v1/license_issuers/{issuer_id}").status_code == 200
    shown = admin.get(f"/api/v1/nodes/{node}/license").json()
    assert shown["key"] == key and shown["status"] == "missing" and shown["valid"] is False
    assert "trusts no license issuer" in shown["reason"]
    assert licensing(admin, dep)["cluster"]["status"] == "missing"
    trust(admin)
    assert admin.get(f"/api/v1/nodes/{node}/license").json()["status"] == "valid"
    actions = [(r.action, r.outcome) for r in audit_rows(dep) if r.action.startswith("license.")]
    trusted = ("license.trust", "success")
    assert actions == [trusted, ("license.set", "success"), trusted, trusted]


def test_only_administrators_set_keys_and_others_see_them_shortened(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep, node = sqlite_deployment, sqlite_deployment.setup.node_id
    trust(admin)
    key = issue(node)
    put(admin, node, key)
    add_user(dep, "op", [builtin.OPERATOR.id])
    add_user(dep, "viewer", [builtin.CONSOLE_USER.id])
    add_user(dep, "boss", [builtin.ADMINISTRATOR.id])
    for username in ("op", "viewer"):
        with signed_in(dep, username) as client:
            refusal = client.put(f"/api/v1/nodes/{node}/license", json={"key": issue(node)})
            assert refusal.status_code == 403, (username, refusal.text)
            shown = client.get(f"/api/v1/nodes/{node}/license").json()
            assert shown["status"] == "valid" and shown["key"] != key
            assert shown["key"] == keys.shortened(key)
            assert licensing(client, dep)["cluster"]["status"] == "valid"
    with signed_in(dep, "boss") as client:
        assert client.get(f"/api/v1/nodes/{node}/license").json()["key"] == key
        assert put(client, node, issue(node))["status"] == "valid"
    assert admin.get(f"/api/v1/nodes/{node}/license").json()["key"] != key  # boss's now


def _tenant_node(dep: Deployment, org_id: str) -> str:
    now = clock.now()
    with transaction(dep.factory) as db:
        dc = Datacenter(
            id=new_id(Prefix.DATACENTER), organization_id=org_id, name="b-dc", creation=now
        )
        cluster = Cluster(
            id=new_id(Prefix.CLUSTER),
            organization_id=org_id,
            datacenter_id=dc.id,
            name="b-cls",
            creation=now,
        )
        node = Node(
            id=new_id(Prefix.NODE),
            organization_id=org_id,
            cluster_id=cluster.id,
            name="b-node",
            creation=now,
        )
        for row in (dc, cluster, node):
            db.add(row)
            db.flush()
        return node.id


def test_trust_is_the_root_organizations_and_holds_for_every_tenants_nodes(
    admin: TestClient, sqlite_deployment: Deployment, tenant: tuple[TestClient, str]
) -> None:
    dep = sqlite_deployment
    client, org_b = tenant  # the administrator of organization B
    own_node = _tenant_node(dep, org_b)
    issuer_id = trust(admin)
    assert client.get("/api/v1/license_issuers").json() == []
    body = {"public_key": keys.public_key_text(keys.generate_issuer().public_key())}
    attempt = client.post("/api/v1/license_issuers", json=body)
    assert attempt.status_code == 403 and "root organization" in attempt.json()["message"]
    assert client.delete(f"/api/v1/license_issuers/{issuer_id}").status_code == 404
    assert put(client, own_node, issue(own_node))["status"] == "valid"
    root_node = dep.setup.node_id
    assert client.get(f"/api/v1/nodes/{root_node}/license").status_code == 404
    assert client.put(f"/api/v1/nodes/{root_node}/license", json={"key": "x"}).status_code == 404
    assert client.get(f"/api/v1/clusters/{dep.setup.cluster_id}/licensing").status_code == 404
    listed = admin.get("/api/v1/license_issuers").json()
    assert [i["id"] for i in listed] == [issuer_id]


def test_an_issuer_is_trusted_once_and_only_as_a_public_key(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    issuer_id = trust(admin, name="Vendor A")
    twice = admin.post(
        "/api/v1/license_issuers",
        json={"public_key": keys.public_key_text(ISSUER.public_key()), "name": "again"},
    )
    assert twice.status_code == 409 and issuer_id in twice.json()["message"]
    for bad in ("", "cloudenv-issuer-1.tooshort", keys.private_key_pem(ISSUER).decode()):
        answer = admin.post("/api/v1/license_issuers", json={"public_key": bad})
        assert answer.status_code == 400 and answer.json()["field"] == "public_key", bad
    (listed,) = admin.get("/api/v1/license_issuers").json()
    assert listed["name"] == "Vendor A"
    assert listed["fingerprint"] == keys.fingerprint(ISSUER.public_key())
    assert listed["public_key"] == keys.public_key_text(ISSUER.public_key())
