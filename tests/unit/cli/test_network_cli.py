"""``cloudenv vswitch|portgroup|nic …`` against a node's API in-process: create a vSwitch
with an uplink, see it and the NIC it took, a port group's VLANs, and deletes' typed
confirmation."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudenv.cli.main import app
from tests.conftest import Deployment
from tests.unit.api.test_network_api import SWITCHES, refresh_nics
from tests.unit.cli.test_users_cli import cli

pytestmark = pytest.mark.unit
runner = CliRunner()
__all__ = ["cli"]


def test_vswitch_portgroup_nic(cli: TestClient, sqlite_deployment: Deployment) -> None:
    dep = sqlite_deployment
    node = dep.setup.node_id
    refresh_nics(dep)
    bad = runner.invoke(app, ["vswitch", "create", node, "switch1"])
    assert bad.exit_code != 0 and "svswitchN" in bad.output
    made = runner.invoke(app, ["vswitch", "create", node, "svswitch10", "--uplink", "eth1"])
    assert made.exit_code == 0, made.output
    vsw = made.output.split("(", 1)[1].split(")", 1)[0]
    # --json: a table's cells wrap at the terminal's width, which the test doesn't set.
    listed = json.loads(runner.invoke(app, ["vswitch", "list", "--node", node, "--json"]).output)
    assert [(s["name"], s["config"]["uplinks"]) for s in listed] == [("svswitch10", ["eth1"])]
    assert runner.invoke(app, ["vswitch", "list"]).exit_code == 0
    nics = runner.invoke(app, ["nic", "list", node])
    assert nics.exit_code == 0, nics.output
    found = json.loads(runner.invoke(app, ["nic", "list", node, "--json"]).output)
    assert {n["name"]: n["vswitch"] for n in found["networks"]}["eth1"] == "svswitch10"

    group = runner.invoke(
        app,
        ["portgroup", "create", vsw, "Prod", "--type", "trunk", "--trunk", "20", "--trunk", "10"],
    )
    assert group.exit_code == 0, group.output
    groups = json.loads(runner.invoke(app, ["portgroup", "list", "--json"]).output)
    assert [(g["name"], g["config"]["data"]["trunk_vlans"]) for g in groups] == [("Prod", [10, 20])]
    assert runner.invoke(app, ["portgroup", "list"]).exit_code == 0
    edited = runner.invoke(
        app, ["portgroup", "update", vsw, "Prod", "--type", "access", "--vlan", "30"]
    )
    assert edited.exit_code == 0 and "access 30" in edited.output

    refused = runner.invoke(app, ["portgroup", "delete", vsw, "Prod"], input="destroy\n")
    assert refused.exit_code != 0
    assert (
        runner.invoke(app, ["portgroup", "delete", vsw, "Prod"], input="DESTROY\n").exit_code == 0
    )
    assert runner.invoke(app, ["vswitch", "delete", vsw], input="DESTROY\n").exit_code == 0
    assert cli.get(f"{SWITCHES.removeprefix('/api')}/{vsw}").status_code == 404
