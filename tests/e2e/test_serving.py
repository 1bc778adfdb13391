"""The served node delivers the UI's build as the browser needs it: the app's page at
``/`` and at any deep link, under the UI's CSP, its assets cached for good, the API
still answering JSON beside it; and the page loads in chromium without one error (a
CSP violation, a script that fails or a missing file would be one)."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from cloudenv.api.errors import API_CSP, UI_CSP
from cloudenv.ui import ui_dir
from tests.e2e.conftest import ShotFn, goto
from tests.support.served_node import Server

#: What index.html loads from the build (Vite writes absolute /assets/ URLs).
_ASSET = re.compile(r"""(?:src|href)="(/assets/[^"]+)\"""")


def test_every_ui_path_is_the_app_page_under_the_ui_csp(served_node: Server) -> None:
    built = (ui_dir() / "index.html").read_text()
    with served_node.client() as client:
        for path in ("/", "/instances/xyz", "/instances/xyz/console"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:200])
            assert response.text == built
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["content-security-policy"] == UI_CSP
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["strict-transport-security"].startswith("max-age=")


def test_the_api_still_answers_json(served_node: Server) -> None:
    with served_node.client() as client:
        response = client.get("/api/v1/nope")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 401
    assert response.headers["content-security-policy"] == API_CSP


def test_assets_are_cached_for_good(served_node: Server) -> None:
    with served_node.client() as client:
        assets = _ASSET.findall(client.get("/").text)
        assert assets, "index.html loads nothing from /assets/"
        for path in assets:
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["content-security-policy"] == UI_CSP


def test_a_deep_link_loads_without_errors(page: Page, shot: ShotFn) -> None:
    response = goto(page, "/instances/xyz")
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    assert page.title()
    shot(page, "deep-link")
