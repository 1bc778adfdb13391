"""The CSRF defence: a browser's change signed in by the session cookie must carry a
non-empty X-Requested-With (which a page of another site can't add); bearer-token
clients, programs sending the cookie alone, reads and sign-in itself are unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudenv.api.edge import CSRF_REFUSED
from cloudenv.store.tables import Organization
from tests.conftest import ADMIN_PASSWORD, Deployment, count_rows

pytestmark = pytest.mark.unit

#: What a browser adds to a fetch() that changes something (a page of another site, too).
BROWSER = {"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def cookie_client(sqlite_deployment: Deployment) -> Iterator[TestClient]:
    """Signed in the way the web UI is: by the session cookie only, no bearer token."""
    with TestClient(sqlite_deployment.daemon.app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/auth/login",
            json={"username": "pceadmin", "password": ADMIN_PASSWORD},
            headers=BROWSER,  # sign-in itself needs no header: there is no session yet
        )
        assert response.status_code == 200, response.text
        assert "Authorization" not in client.headers
        yield client


def _create(client: TestClient, name: str, headers: dict[str, str]) -> tuple[int, Any]:
    response = client.post(
        "/api/v1/organizations", json={"name": name, "description": ""}, headers=headers
    )
    return response.status_code, response.json()


def test_a_browser_change_by_cookie_without_the_header_is_refused(
    cookie_client: TestClient, sqlite_deployment: Deployment
) -> None:
    before = count_rows(sqlite_deployment, Organization)
    for headers in (
        BROWSER,
        {"Origin": "https://evil.example"},  # a form posted from another site
        {"Sec-Fetch-Site": "same-site"},  # another port of the node, say
        {**BROWSER, "X-Requested-With": "  "},  # empty is not a value
    ):
        status, body = _create(cookie_client, "forged-org", headers)
        assert (status, body) == (403, {"code": 403, "message": CSRF_REFUSED}), headers
    assert count_rows(sqlite_deployment, Organization) == before
    assert "X-Requested-With" in CSRF_REFUSED and "Bearer" in CSRF_REFUSED


def test_the_header_lets_the_browser_change_things(cookie_client: TestClient) -> None:
    status, body = _create(cookie_client, "ui-org", {**BROWSER, "X-Requested-With": "cloudenv"})
    assert status in (200, 201) and body["id"].startswith("org-")
    # Every mutating method is covered, DELETE included.
    deleted = cookie_client.delete(f"/api/v1/organizations/{body['id']}", headers=BROWSER)
    assert deleted.status_code == 403 and deleted.json()["message"] == CSRF_REFUSED
    deleted = cookie_client.delete(
        f"/api/v1/organizations/{body['id']}", headers={**BROWSER, "X-Requested-With": "x"}
    )
    assert deleted.status_code == 200


def test_reads_by_cookie_need_no_header(cookie_client: TestClient) -> None:
    assert cookie_client.get("/api/v1/organizations", headers=BROWSER).status_code == 200


def test_bearer_token_clients_are_unaffected(admin: TestClient) -> None:
    # admin signs in with a bearer token (its cookie jar holds the cookie too).
    status, _ = _create(admin, "token-org", BROWSER)
    assert status in (200, 201)


def test_a_program_sending_the_cookie_alone_is_unaffected(cookie_client: TestClient) -> None:
    """The product's MCP server over stdio authenticates by the Cookie header alone and,
    not being a browser, sends no Origin or Sec-Fetch-Site (API-COMPAT.md)."""
    status, _ = _create(cookie_client, "stdio-org", {})
    assert status in (200, 201)


def test_logout_by_cookie_needs_the_header_too(cookie_client: TestClient) -> None:
    refused = cookie_client.post("/api/v1/auth/logout", headers=BROWSER)
    assert refused.status_code == 403
    assert cookie_client.get("/api/v1/auth/me").status_code == 200  # still signed in
    done = cookie_client.post(
        "/api/v1/auth/logout", headers={**BROWSER, "X-Requested-With": "cloudenv"}
    )
    assert done.status_code == 200
    assert cookie_client.get("/api/v1/auth/me").status_code == 401


def test_an_invalid_cookie_is_told_to_sign_in_again(anon: TestClient) -> None:
    """Credentials first: the answer that helps (sign in), not the CSRF refusal."""
    stale = {**BROWSER, "Cookie": "cloudenv_session=not-a-session"}
    status, body = _create(anon, "nobody-org", stale)
    assert status == 401 and "is not valid; sign in again" in body["message"]
