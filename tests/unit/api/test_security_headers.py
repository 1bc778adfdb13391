"""Every response carries the security headers (successes, refusals, streams), and no
documentation UI is served: it loaded Swagger UI from a CDN without sign-in, and a node
must work air-gapped. The OpenAPI document itself stays public."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Deployment

pytestmark = pytest.mark.unit


def _has_security_headers(headers: object) -> None:
    assert headers["strict-transport-security"].startswith("max-age=")  # type: ignore[index]
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]  # type: ignore[index]
    assert headers["referrer-policy"] == "no-referrer"  # type: ignore[index]


def test_every_kind_of_response_has_the_security_headers(admin: TestClient) -> None:
    responses = [
        admin.get("/api/v1/healthcheck"),  # public 200
        admin.get("/api/v1/organizations"),  # signed-in 200
        admin.get("/api/v1/nodes/node-missing"),  # 404 from a service
        admin.post("/api/v1/organizations", json={"name": 5}),  # 400 from validation
        admin.put("/api/v1/organizations"),  # 405
        admin.post("/api/v1/organizations", content=b"{" + b" " * (2 << 20) + b"}"),  # 413
        admin.get("/api/v1/openapi.json"),
    ]
    admin.headers.pop("Authorization")
    admin.cookies.clear()
    responses.append(admin.get("/api/v1/organizations"))  # 401 from the gate
    for response in responses:
        _has_security_headers(response.headers)
    assert [r.status_code for r in responses] == [200, 200, 404, 400, 405, 413, 200, 401]


def test_event_streams_have_the_security_headers(admin: TestClient) -> None:
    with admin.stream("GET", "/api/v1/events?timeout=0.3") as response:
        assert response.status_code == 200
        _has_security_headers(response.headers)
        assert "".join(response.iter_text()).startswith(": connected")


def test_unexpected_errors_have_the_security_headers(sqlite_deployment: Deployment) -> None:
    app = sqlite_deployment.daemon.app

    def crash() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/crash", crash)  # outside /api: no credentials needed
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/crash")
    assert response.status_code == 500 and response.json()["code"] == 500
    _has_security_headers(response.headers)


def test_no_documentation_ui_is_served(anon: TestClient, admin: TestClient) -> None:
    assert anon.get("/api/v1/openapi.json").status_code == 200
    assert admin.get("/api/docs").status_code == 404
    assert admin.get("/api/redoc").status_code == 404
    assert "cdn" not in admin.get("/api/v1/openapi.json").text.lower()
