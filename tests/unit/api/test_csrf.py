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


#: What an HTML form (or sendBeacon, or an <a ping>) sends, which a browser too old to add
#: Origin, or one behind a proxy that strips it, still sends with no header at all.
FORM_TYPES = (
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=----x",
    "text/plain;charset=UTF-8",
    "TEXT/PLAIN",
    "text/ping",
)


@pytest.mark.parametrize("content_type", FORM_TYPES)
def test_a_cookie_only_change_with_a_form_body_is_refused(
    cookie_client: TestClient, sqlite_deployment: Deployment, content_type: str
) -> None:
    """No Origin, no Sec-Fetch-Site, but a body only a browser sends unasked: a body-less
    route reads no body, so it would take the form's post as a call."""
    form = {"Content-Type": content_type}
    before = count_rows(sqlite_deployment, Organization)
    created = cookie_client.post(
        "/api/v1/organizations", content=b'{"name": "form-org", "description": ""}', headers=form
    )
    assert (created.status_code, created.json()) == (403, {"code": 403, "message": CSRF_REFUSED})
    assert count_rows(sqlite_deployment, Organization) == before
    # Refused before the route looks the task up (no 404 to tell what exists).
    cancelled = cookie_client.post("/api/v1/tasks/task-nope/cancel", content=b"", headers=form)
    assert cancelled.status_code == 403 and cancelled.json()["message"] == CSRF_REFUSED
    logout = cookie_client.post("/api/v1/auth/logout", content=b"", headers=form)
    assert logout.status_code == 403
    assert cookie_client.get("/api/v1/auth/me").status_code == 200  # still signed in
    # The header lets the same request through (the web UI sends it on every call).
    allowed = cookie_client.post(
        "/api/v1/tasks/task-nope/cancel",
        content=b"",
        headers={**form, "X-Requested-With": "cloudenv"},
    )
    assert allowed.status_code == 404


def test_a_program_sending_the_cookie_alone_may_post_without_a_body_or_type(
    cookie_client: TestClient,
) -> None:
    """A body-less POST from a Go client may name no Content-Type; a form always names
    one, and a cross-origin fetch() carries Origin, so this is a program's."""
    response = cookie_client.post("/api/v1/tasks/task-nope/cancel")
    assert "content-type" not in response.request.headers
    assert response.status_code == 404
    json_logout = cookie_client.post(
        "/api/v1/auth/logout", json={}, headers={"Content-Type": "application/json"}
    )
    assert json_logout.status_code == 200
    assert cookie_client.get("/api/v1/auth/me").status_code == 401
