"""``cloudenv audit list`` and ``cloudenv quota``, against the real app: filters sent as
the API's query parameters, CSV as the API sends it, the total shown, limits kept unless
given."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.cli import client as cli_client
from cloudenv.cli.client import ApiClient
from cloudenv.cli.main import app
from tests.conftest import Deployment

pytestmark = pytest.mark.unit
runner = CliRunner()


@pytest.fixture
def cli(admin: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI signed in as pceadmin (admin's token), served by the deployment's app."""
    with TestClient(admin.app, base_url="https://testserver/api") as api:
        api.headers["Authorization"] = admin.headers["Authorization"]

        def from_login(cls: type[ApiClient]) -> ApiClient:
            client = object.__new__(ApiClient)
            client.http = api
            return client

        monkeypatch.setattr(cli_client.ApiClient, "from_login", classmethod(from_login))
        yield


def _datacenter(admin: TestClient, org_id: str, name: str) -> str:
    created = admin.post("/api/v1/datacenters", json={"name": name, "organization_id": org_id})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def test_audit_list_filters_and_pages(
    cli: None, admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org_id = sqlite_deployment.setup.organization_id
    first = _datacenter(admin, org_id, "dc-one")
    second = _datacenter(admin, org_id, "dc-two")
    result = runner.invoke(app, ["audit", "list", "--action", "datacenter.*", "--json"])
    assert result.exit_code == 0, result.output
    assert [e["target_id"] for e in json.loads(result.output)] == [second, first]
    result = runner.invoke(app, ["audit", "list", "--target", first, "--json"])
    assert [e["action"] for e in json.loads(result.output)] == ["datacenter.create"]
    paged = runner.invoke(
        app, ["audit", "list", "--action", "datacenter.create", "--entries", "1", "--page", "2"]
    )
    assert paged.exit_code == 0, paged.output
    assert "Entries 2-2 of 2," in paged.output
    refused = runner.invoke(app, ["audit", "list", "--since", "yesterday"])
    assert refused.exit_code == 1 and "RFC 3339" in refused.output


def test_audit_list_prints_the_apis_csv(
    cli: None, admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org_id = sqlite_deployment.setup.organization_id
    _datacenter(admin, org_id, "dc-one")
    result = runner.invoke(
        app, ["audit", "list", "--organization", org_id, "--action", "datacenter.*", "--csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["action"], r["username"]) for r in rows] == [("datacenter.create", "pceadmin")]


def test_quota_show_and_set_keep_what_is_not_given(
    cli: None, admin: TestClient, sqlite_deployment: Deployment
) -> None:
    org_id = sqlite_deployment.setup.organization_id
    path = f"/api/v1/organizations/{org_id}/quotas"
    result = runner.invoke(app, ["quota", "set", org_id, "--vcpus", "8", "--instances", "4"])
    assert result.exit_code == 0, result.output
    assert "0 of 8" in result.output
    result = runner.invoke(app, ["quota", "set", org_id, "--vcpus", "unlimited", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == admin.get(path).json()
    assert admin.get(path).json()["vcpus"] is None and admin.get(path).json()["instances"] == 4
    refused = runner.invoke(app, ["quota", "set", org_id, "--memory-mb", "-5"])
    assert refused.exit_code == 1 and "memory_mb" in refused.output
    refused = runner.invoke(app, ["quota", "set", org_id, "--storage-gb", "lots"])
    assert refused.exit_code == 1 and "--storage-gb" in refused.output
    assert admin.get(path).json()["memory_mb"] is None
    shown = runner.invoke(app, ["quota", "show"])  # the caller's own organization
    assert shown.exit_code == 0, shown.output
    assert "instances" in shown.output and "0 of 4" in shown.output
