"""A refused field is named one way, whoever refuses it: the services write
`metadata.new_volumes[0].size`, and the request parser's errors say the same (a list item by
index in brackets, no union tag the client never wrote), so the web UI puts both under the
field they name."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cloudenv.api.errors import field_path
from tests.conftest import Deployment
from tests.unit.api.test_instances_api import deploy_body

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body", "metadata", "qemu", "new_volumes", 0, "size"), "metadata.new_volumes[0].size"),
        (("body", "networks", 2), "networks[2]"),
        (("body", "cpu", "cores"), "cpu.cores"),
        (("query", "confirm"), "confirm"),
        # Only the first part says where the value came from; a field may be named "path".
        (("body", "data", "path"), "data.path"),
        (("body",), None),
    ],
)
def test_field_path(loc: tuple[int | str, ...], field: str | None) -> None:
    assert field_path(loc) == field


def test_a_malformed_list_item_is_named_by_index(
    admin: TestClient, sqlite_deployment: Deployment
) -> None:
    dep = sqlite_deployment
    volume = {"storage_pool_id": dep.setup.default_pool_id, "size": "big"}
    body = deploy_body(dep, metadata={"new_volumes": [volume]})
    refused = admin.post("/api/v2/instances", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["field"] == "metadata.new_volumes[0].size"
    assert "'metadata.new_volumes[0].size' must be" in refused.json()["message"]
