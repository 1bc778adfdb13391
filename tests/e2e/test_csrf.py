"""The CSRF rule as a real browser meets it: chromium, signed in by the session cookie, has
a change refused without X-Requested-With and accepted with it. The server tells
browsers from programs by headers chromium adds by itself (Origin, Sec-Fetch-Site); this
proves it does, so the rule can't be silently skipped."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from cloudenv.api.deps import SESSION_COOKIE
from cloudenv.api.edge import CSRF_REFUSED
from tests.e2e.conftest import goto
from tests.support.served_node import ADMIN_PASSWORD

_CALL = """async ([path, method, headers, body]) => {
    const response = await fetch(path, {
        method, headers: {"Content-Type": "application/json", ...headers},
        body: body === null ? undefined : JSON.stringify(body),
    });
    return {status: response.status, body: await response.json()};
}"""


def _call(
    page: Page, path: str, method: str, headers: dict[str, str], body: Any = None
) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(_CALL, [path, method, headers, body])
    return result


def test_a_cookie_signed_in_change_needs_the_header(page: Page) -> None:
    goto(page, "/")  # any page of the node: the calls below are same-origin
    login = {"username": "pceadmin", "password": ADMIN_PASSWORD}
    signed_in = _call(page, "/api/v1/auth/login", "POST", {}, login)  # open: no header
    assert signed_in["status"] == 200, signed_in
    # As the browser keeps it: no script can read it, only HTTPS carries it, and no other
    # site's page makes the browser send it.
    (cookie,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    assert page.evaluate("document.cookie") == ""
    # The cookie alone signs the browser in from now on (fetch sends no token).
    assert _call(page, "/api/v1/auth/me", "GET", {})["body"]["username"] == "pceadmin"

    organization = {"name": "csrf-browser-org", "description": ""}
    refused = _call(page, "/api/v1/organizations", "POST", {}, organization)
    assert refused == {"status": 403, "body": {"code": 403, "message": CSRF_REFUSED}}
    created = _call(
        page, "/api/v1/organizations", "POST", {"X-Requested-With": "cloudenv"}, organization
    )
    assert created["status"] in (200, 201), created
    removed = _call(
        page,
        f"/api/v1/organizations/{created['body']['id']}",
        "DELETE",
        {"X-Requested-With": "cloudenv"},
    )
    assert removed["status"] == 200, removed
