"""The organization, datacenter, cluster and node pages in a real browser against a served
node: each page opens by its URL and shows what the API says; a datacenter's location is
set by clicking the world map (the seed: "click directly on the desired point on the map")
and the API then has that point; wrong input in each Edit form shows the server's own
message next to the field and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import click_map, whole_page_shot
from tests.support.compute import GuestImages, deploy_body, succeed
from tests.support.served_node import Server


@dataclass(frozen=True)
class Spine:
    """The node's own organization, datacenter, cluster and node (as `cloudenv init` made them)."""

    organization: dict[str, Any]
    datacenter: dict[str, Any]
    cluster: dict[str, Any]
    node: dict[str, Any]


@pytest.fixture
def api(served_node: Server) -> Iterator[httpx.Client]:
    with served_node.admin() as client:
        yield client


@pytest.fixture
def spine(api: httpx.Client) -> Spine:
    tree = api.get("/api/v1/organizations").json()
    org = next(o for o in tree if o["nodes"])
    node = org["nodes"][0]
    cluster = next(c for c in org["clusters"] if c["id"] == node["cluster_id"])
    datacenter = next(d for d in org["datacenters"] if d["id"] == cluster["datacenter_id"])
    return Spine(org["organization"], datacenter, cluster, node)


@pytest.fixture
def spare_datacenter(api: httpx.Client, spine: Spine) -> Iterator[dict[str, Any]]:
    """A datacenter of the test's own (no clusters), so edits don't touch the node's."""
    created = api.post(
        "/api/v1/datacenters",
        json={"name": "pages-dc", "organization_id": spine.organization["id"], "description": ""},
    )
    assert created.status_code == 200, created.text
    dc_id = created.json()["id"]
    yield api.get(f"/api/v1/datacenters/{dc_id}").json()["datacenter"]
    api.delete(f"/api/v1/datacenters/{dc_id}")


def table(scope: Locator, name: str) -> Locator:
    """A PatternFly table by its accessible name (it renders as role grid)."""
    return scope.get_by_role("grid", name=name)


def open_edit(page: Page) -> Locator:
    """The page header's Actions → Edit; returns the dialog."""
    page.get_by_role("main").get_by_role("button", name="Actions").click()
    page.get_by_role("menuitem", name="Edit").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_each_page_shows_its_resource(
    signed_in_page: Page, spine: Spine, api: httpx.Client, shot: ShotFn
) -> None:
    page = signed_in_page
    # A task of the node's own, so its Tasks tab has one to show.
    refresh = api.post(f"/api/v1/nodes/{spine.node['id']}/facts/refresh")
    assert refresh.status_code == 202

    main = page.get_by_role("main")  # the page beside the tree (which has the same names)
    org = spine.organization
    goto(page, f"/organizations/{org['id']}")
    expect(main.get_by_role("heading", name=org["name"], level=1)).to_be_visible()
    expect(main.get_by_text(org["id"], exact=True)).to_be_visible()
    datacenters = table(main, "Datacenters")
    expect(datacenters.get_by_role("link", name=spine.datacenter["name"])).to_be_visible()
    whole_page_shot(page, shot, "organization")

    # From the organization's page to its datacenter by the link, as a user would.
    datacenters.get_by_role("link", name=spine.datacenter["name"]).click()
    expect(page).to_have_url(re.compile(f"/datacenters/{spine.datacenter['id']}"))
    expect(main.get_by_role("heading", name=spine.datacenter["name"], level=1)).to_be_visible()
    expect(main.get_by_role("img", name=re.compile("World map"))).to_be_visible()
    expect(table(main, "Clusters").get_by_role("link", name=spine.cluster["name"])).to_be_visible()
    whole_page_shot(page, shot, "datacenter")

    cluster = api.get(f"/api/v1/clusters/{spine.cluster['id']}").json()["cluster"]
    hardware = api.get(f"/api/v1/clusters/{spine.cluster['id']}/hardware").json()
    goto(page, f"/clusters/{spine.cluster['id']}")
    expect(main.get_by_role("heading", name=cluster["name"], level=1)).to_be_visible()
    expect(main.get_by_text(cluster["health_status"].capitalize()).first).to_be_visible()
    expect(main.get_by_text(f"{hardware['memory_gb']} GB", exact=True)).to_be_visible()
    node_row = (
        table(main, "Nodes")
        .get_by_role("row")
        .filter(has=page.get_by_role("link", name=spine.node["name"]))
    )
    expect(node_row.get_by_text("Alive" if spine.node["alive"] else "Down")).to_be_visible()
    whole_page_shot(page, shot, "cluster")

    node_row.get_by_role("link", name=spine.node["name"]).click()
    expect(page).to_have_url(re.compile(f"/nodes/{spine.node['id']}"))
    detail = api.get(f"/api/v1/nodes/{spine.node['id']}").json()
    expect(main.get_by_role("heading", name=spine.node["name"], level=1)).to_be_visible()
    expect(main.get_by_text(detail["os"]["kernel"], exact=True)).to_be_visible()
    capabilities = api.get(f"/api/v1/nodes/{spine.node['id']}/capabilities").json()
    for arch in capabilities.values():
        # The accelerator the node uses, and why (TCG on this test machine says so).
        expect(main.get_by_text(arch["accelerator"].upper(), exact=True).first).to_be_visible()
        if arch["accelerator_reason"]:
            expect(main.get_by_text(arch["accelerator_reason"]).first).to_be_visible()
    whole_page_shot(page, shot, "node")

    page.get_by_role("tab", name="Tasks").click()
    expect(page).to_have_url(re.compile(f"/nodes/{spine.node['id']}/tasks$"))
    refreshed = table(main, "Tasks").get_by_role("row").filter(has_text="node.refresh_facts")
    expect(refreshed.first).to_be_visible()
    whole_page_shot(page, shot, "node-tasks")

    # A tab is a deep link: a reload lands on it again.
    page.reload()
    expect(page.get_by_role("tab", name="Tasks", selected=True)).to_be_visible()
    page.get_by_role("tab", name="Instances").click()
    whole_page_shot(page, shot, "node-instances")


def test_node_instances_follow_a_deploy_and_a_destroy_live(
    signed_in_page: Page, api: httpx.Client, guest_images: GuestImages, shot: ShotFn
) -> None:
    """The node page's Instances tab and count are fed by the event feed: an instance
    deployed and destroyed through the API appears, runs and leaves with no reload."""
    page, node_id = signed_in_page, guest_images.node_id
    main = page.get_by_role("main")
    goto(page, f"/nodes/{node_id}/instances")
    expect(page.get_by_role("tab", name="Instances", selected=True)).to_be_visible()
    row = table(main, "Instances").get_by_role("row").filter(has_text="e2e-node-live")
    expect(row).to_have_count(0)
    body = deploy_body(node_id, guest_images.pool_id, "e2e-node-live")
    api.timeout = httpx.Timeout(60.0)
    task = succeed(api, api.post("/api/v2/instances", json=body), timeout=180.0)
    instance_id = str(task["target_id"])
    try:
        expect(row.get_by_text("Running")).to_be_visible()
        whole_page_shot(page, shot, "node-instances-live")
        page.get_by_role("tab", name="Summary").click()
        count = len(api.get("/api/v1/instances", params={"node_id": node_id}).json())
        term = main.locator("dt").filter(has_text=re.compile(r"^Instances$"))
        expect(term.locator("xpath=following-sibling::dd[1]")).to_have_text(str(count))
    finally:
        succeed(api, api.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"}))
        succeed(
            api,
            api.delete(
                f"/api/v1/instances/{instance_id}",
                params={"confirm": "DESTROY", "destroy_volumes": "true"},
            ),
        )
    page.get_by_role("tab", name="Instances").click()
    expect(row).to_have_count(0)


def test_datacenter_location_is_set_by_clicking_the_map(
    signed_in_page: Page, spare_datacenter: dict[str, Any], api: httpx.Client, shot: ShotFn
) -> None:
    page = signed_in_page
    dc_id = spare_datacenter["id"]
    goto(page, f"/datacenters/{dc_id}")
    dialog = open_edit(page)
    shot(page, "edit-datacenter")

    world = dialog.get_by_role("application", name="Location map")
    target = (-33.87, 151.21)  # Sydney
    per_pixel = click_map(page, world, *target)
    latitude = dialog.get_by_role("spinbutton", name="Latitude")
    longitude = dialog.get_by_role("spinbutton", name="Longitude")
    expect(latitude).not_to_have_value("")
    shown = (float(latitude.input_value()), float(longitude.input_value()))
    # The click lands within two pixels of the target.
    tolerance = 2 * per_pixel
    assert abs(shown[0] - target[0]) < tolerance and abs(shown[1] - target[1]) < tolerance
    shot(page, "edit-datacenter-picked")

    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    location = api.get(f"/api/v1/datacenters/{dc_id}").json()["datacenter"]["location"]
    assert location == {"latitude": shown[0], "longitude": shown[1]}
    # The page follows: its summary gives the new coordinates.
    located = page.get_by_role("main").get_by_text(re.compile(r"33\.\d{4}° S, 151\.\d{4}° E"))
    expect(located.first).to_be_visible()
    whole_page_shot(page, shot, "datacenter-located")

    # Clear location removes it (the API's location: null).
    dialog = open_edit(page)
    dialog.get_by_role("button", name="Clear location").click()
    expect(latitude).to_have_value("")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    assert api.get(f"/api/v1/datacenters/{dc_id}").json()["datacenter"]["location"] is None


def _editable(api: httpx.Client, org: str, cluster: str, dc: str) -> list[dict[str, Any]]:
    """What the Edit forms could change (a node's last_seen in the same replies moves on)."""
    records = [
        api.get(org).json()["organization"],
        api.get(cluster).json()["cluster"],
        api.get(dc).json()["datacenter"],
    ]
    return [{k: r.get(k) for k in ("name", "description", "location")} for r in records]


def _server_message(api: httpx.Client, path: str, body: dict[str, Any], field: str) -> str:
    """What the API itself answers to this wrong input (it changes nothing: it's refused)."""
    response = api.patch(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    return str(response.json()["message"])


def _refused_beside_field(page: Page, dialog: Locator, field: Locator, message: str) -> None:
    dialog.get_by_role("button", name="Confirm").click()
    # The server's words, as the field's description (the helper text under it; PatternFly
    # adds ": error status" for screen readers).
    expect(field).to_have_accessible_description(re.compile("^" + re.escape(message)))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_be_visible()


def test_wrong_input_shows_the_servers_message_and_changes_nothing(
    signed_in_page: Page,
    spine: Spine,
    spare_datacenter: dict[str, Any],
    api: httpx.Client,
    shot: ShotFn,
) -> None:
    page = signed_in_page
    org_path = f"/api/v1/organizations/{spine.organization['id']}"
    cluster_path = f"/api/v1/clusters/{spine.cluster['id']}"
    dc_path = f"/api/v1/datacenters/{spare_datacenter['id']}"
    before = _editable(api, org_path, cluster_path, dc_path)

    # Organization: a name with a space.
    goto(page, f"/organizations/{spine.organization['id']}")
    dialog = open_edit(page)
    name = dialog.get_by_role("textbox", name="Name")
    name.fill("bad name")
    message = _server_message(api, org_path, {"name": "bad name"}, "name")
    _refused_beside_field(page, dialog, name, message)
    shot(page, "organization-refused")
    dialog.get_by_role("button", name="Cancel").click()

    # Cluster: a description past 512 characters.
    goto(page, f"/clusters/{spine.cluster['id']}")
    dialog = open_edit(page)
    description = dialog.get_by_role("textbox", name="Description")
    description.fill("d" * 513)
    message = _server_message(api, cluster_path, {"description": "d" * 513}, "description")
    _refused_beside_field(page, dialog, description, message)
    shot(page, "cluster-refused")
    dialog.get_by_role("button", name="Cancel").click()

    # Datacenter: a latitude past the pole, typed (the map can't make one).
    goto(page, f"/datacenters/{spare_datacenter['id']}")
    dialog = open_edit(page)
    dialog.get_by_role("spinbutton", name="Latitude").fill("95")
    dialog.get_by_role("spinbutton", name="Longitude").fill("10")
    latitude = dialog.get_by_role("spinbutton", name="Latitude")
    message = _server_message(
        api, dc_path, {"location": {"latitude": 95, "longitude": 10}}, "location.latitude"
    )
    _refused_beside_field(page, dialog, latitude, message)
    shot(page, "datacenter-refused")
    # A name too short, with the location fixed: the message moves to the name.
    dialog.get_by_role("spinbutton", name="Latitude").fill("45")
    name = dialog.get_by_role("textbox", name="Name")
    name.fill("ab")
    message = _server_message(api, dc_path, {"name": "ab"}, "name")
    _refused_beside_field(page, dialog, name, message)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    assert _editable(api, org_path, cluster_path, dc_path) == before

    # And a good edit goes through: the cluster's description changed, then put back.
    goto(page, f"/clusters/{spine.cluster['id']}")
    dialog = open_edit(page)
    dialog.get_by_role("textbox", name="Description").fill("edited by the e2e test")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    try:
        assert api.get(cluster_path).json()["cluster"]["description"] == "edited by the e2e test"
    finally:
        api.patch(cluster_path, json={"description": before[1]["description"]})
