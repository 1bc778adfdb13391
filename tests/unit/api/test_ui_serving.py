"""The web UI's build served at ``/``: its files with the right caching, index.html for
every other path outside /api (deep links), nothing outside the build, the UI's CSP, a
clear answer while the UI is not built, and /api untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloudenv.api.errors import API_CSP, UI_CSP
from cloudenv.config import sqlite_url
from cloudenv.ui import UI_DIR_ENV
from tests.conftest import make_deployment

pytestmark = pytest.mark.unit

INDEX = "<!doctype html><title>cloudenv test build</title><div id=root></div>"
SCRIPT = "console.log('app');"
SECRET = "not-for-the-web"


def _build(directory: Path) -> Path:
    """A stand-in for Vite's output: index.html, a hashed asset, a plain file."""
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_text(INDEX)
    (directory / "assets" / "index-3f2a9c.js").write_text(SCRIPT)
    (directory / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return directory


def _client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, directory: Path
) -> Iterator[TestClient]:
    # Through the environment override, as `cloudenv serve` reads it: the app the daemon
    # builds serves it, not a test-only wiring.
    monkeypatch.setenv(UI_DIR_ENV, str(directory))
    data = tmp_path / "node"
    data.mkdir()
    dep = make_deployment(data, sqlite_url(data))
    try:
        with TestClient(dep.daemon.app, base_url="https://testserver") as client:
            yield client
    finally:
        dep.daemon.engine.dispose()


@pytest.fixture
def ui(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    (tmp_path / "secret.txt").write_text(SECRET)  # next to the build, never served
    yield from _client(tmp_path, monkeypatch, _build(tmp_path / "static"))


@pytest.fixture
def unbuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from _client(tmp_path, monkeypatch, tmp_path / "no-build-here")


def _is_ui_response(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == UI_CSP
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path", ["/", "/instances/inst-xyz", "/instances/inst-xyz/console", "/signin?next=/nodes"]
)
def test_every_ui_path_is_the_app_page(ui: TestClient, path: str) -> None:
    response = ui.get(path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    _is_ui_response(response)


def test_head_answers_like_get_without_a_body(ui: TestClient) -> None:
    for path in ("/", "/datacenters/dc-1", "/assets/index-3f2a9c.js"):
        head, get = ui.head(path), ui.get(path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        assert head.headers["content-type"] == get.headers["content-type"]


def test_hashed_assets_are_cached_for_good_other_files_revalidated(ui: TestClient) -> None:
    script = ui.get("/assets/index-3f2a9c.js")
    assert script.status_code == 200 and script.text == SCRIPT
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    _is_ui_response(script)
    icon = ui.get("/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    assert icon.headers["cache-control"] == "no-cache"


def test_an_unchanged_page_is_answered_304(ui: TestClient) -> None:
    etag = ui.get("/instances/inst-1").headers["etag"]
    again = ui.get("/instances/inst-2", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_a_missing_asset_is_404_not_the_page(ui: TestClient) -> None:
    """A page loaded before an upgrade asking for a replaced asset must not get HTML for
    its script."""
    response = ui.get("/assets/index-0000.js")
    assert response.status_code == 404
    assert INDEX not in response.text and "reload" in response.text


@pytest.mark.parametrize(
    "path",
    [  # encoded: the client would resolve a plain '..' itself
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/.hidden",
        "/%00index.html",
    ],
)
def test_nothing_outside_the_build_is_served(ui: TestClient, path: str) -> None:
    response = ui.get(path)
    assert SECRET not in response.text
    assert response.status_code == 404


def test_a_link_out_of_the_build_is_not_followed(ui: TestClient, tmp_path: Path) -> None:
    (tmp_path / "static" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    response = ui.get("/leak.txt")
    assert SECRET not in response.text


def test_the_api_is_untouched(ui: TestClient) -> None:
    anonymous = ui.get("/api/v1/nope")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 401
    assert ui.get("/api").json()["code"] == 404
    document = ui.get("/api/v1/openapi.json")
    assert document.status_code == 200 and document.json()["openapi"]
    for response in (anonymous, document):
        assert response.headers["content-security-policy"] == API_CSP
    assert ui.get("/api/v1/healthcheck").json()["healthy"] is True


def test_only_get_and_head_reach_the_ui(ui: TestClient) -> None:
    response = ui.post("/instances/inst-1", json={})
    assert response.status_code == 405
    assert response.json() == {"code": 405, "message": "POST is not allowed on /instances/inst-1."}


def test_an_unbuilt_ui_says_how_to_build_it(unbuilt: TestClient) -> None:
    for path in ("/", "/instances/inst-xyz"):
        response = unbuilt.get(path)
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("text/plain")
        assert "not built" in response.text and "make ui" in response.text
        _is_ui_response(response)
    assert unbuilt.get("/api/v1/healthcheck").status_code == 200
