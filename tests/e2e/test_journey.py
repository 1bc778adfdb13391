"""A new user's first session, as the seed's guide walks it, in one browser page against a
real served node with real libvirt, every control found by its role and the seed's word.

Log in (Username, Password, Log in) and land on the node's page; walk the resource tree
down (organization > datacenter > cluster > node), opening each page; right-click the
datacenter → Edit → click the world map → Confirm, and the API has the point; upload the
test guest's ISO to the node (right-click → Upload image); right-click the node → Deploy,
the wizard's General information, Volumes (boot from the ISO), Networking, Review →
Finish; the instance appears under its node and reaches Running; its Console tab shows the
guest's marker in the serial terminal and a drawn VNC screen; right-click it → Power →
Stop → Confirm, Stopped; right-click → Destroy, type DESTROY, Confirm, and it leaves the
tree; Log out.

The page is never reloaded: a marker set on ``window`` right after signing in is still
there at the end (a reload or a full navigation would drop it), so everything the page
showed came through the UI's own requests and the event feed. While the instance is
stopped, the two instance forms no other test gives wrong input to (Create snapshot,
Attach Device) get some: the server's message beside the field, nothing created.

Every page and dialog on the way is saved as a screenshot under
tests/e2e/output/test_journey/. The page fixture fails the test on any browser error.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import (
    CANVAS_DRAWN,
    click_map,
    context_menu,
    fill_general,
    node_menu,
    remove_instance,
    serial_text,
    tree_row,
    until_api,
    upload_image,
    whole_page_shot,
)
from tests.guest.build import MARKER, build_guest
from tests.support.compute import wait_task
from tests.support.served_node import ADMIN_PASSWORD, Server

INSTANCE = "journey-guest"
#: The ISO's name on the node: its own, so the journey uploads it whatever other tests
#: left on the shared node.
ISO = "journey.iso"
#: Milliseconds for a deploy, a boot to the marker or a clean shutdown under TCG on
#: shared cores.
GUEST_TIMEOUT = 180_000
#: Where the user points on the map: Reykjavik.
PLACE = (64.15, -21.94)
#: Set on window after signing in; gone after any reload.
STAY = "window.__journeyStayed"


@pytest.fixture
def spine(admin: httpx.Client, served_node: Server) -> Iterator[dict[str, dict[str, Any]]]:
    """The served node with its organization, datacenter and cluster. Afterwards the node is
    as the journey found it: the datacenter's location back, no journey instance, no ISO."""
    node_id = served_node.health["id"]
    found: dict[str, dict[str, Any]] = {}
    for entry in admin.get("/api/v1/organizations").json():
        node = next((n for n in entry["nodes"] if n["id"] == node_id), None)
        if node is not None:
            cluster = next(c for c in entry["clusters"] if c["id"] == node["cluster_id"])
            datacenter = next(
                d for d in entry["datacenters"] if d["id"] == cluster["datacenter_id"]
            )
            found = {
                "organization": entry["organization"],
                "datacenter": datacenter,
                "cluster": cluster,
                "node": node,
            }
    assert found, f"the tree has no node {node_id}"
    dc_path = f"/api/v1/datacenters/{found['datacenter']['id']}"
    location = admin.get(dc_path).json()["datacenter"]["location"]
    yield found
    for row in admin.get("/api/v1/instances", params={"node_id": node_id}).json():
        if row["name"] == INSTANCE:
            remove_instance(admin, row["id"])
    gone = admin.delete(
        f"/api/v1/nodes/{node_id}/images/images/{ISO}", params={"confirm": "DESTROY"}
    )
    if gone.status_code == 202:
        wait_task(admin, gone.json()["task_id"])
    admin.patch(dc_path, json={"location": location})


@pytest.fixture
def iso(tmp_path: Path) -> Path:
    """The test guest's ISO under the name the journey gives it."""
    path = tmp_path / ISO
    shutil.copyfile(build_guest().iso, path)
    return path


def _instance_ids(admin: httpx.Client, node_id: str) -> set[str]:
    return {i["id"] for i in admin.get("/api/v1/instances", params={"node_id": node_id}).json()}


def _volume_ids(admin: httpx.Client, node_id: str) -> set[str]:
    return {v["id"] for v in admin.get("/api/v1/volumes", params={"node_id": node_id}).json()}


def _server_refusal(response: httpx.Response, field: str) -> str:
    """The API's own words for a wrong input (refused, so nothing was made)."""
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field, response.text
    return str(response.json()["message"])


def _expect_beside(field: Locator, message: str) -> None:
    """The server's message is the field's description (the error helper text under it;
    PatternFly adds ": error status" for screen readers) and the field is marked invalid."""
    expect(field).to_have_accessible_description(re.compile("^" + re.escape(message)))
    expect(field).to_have_attribute("aria-invalid", "true")


def _power(page: Page, name: str, action: str, shot: ShotFn) -> Locator:
    """Right-click the instance → Power → ``action``; the confirmation dialog."""
    menu = context_menu(page, tree_row(page, name, "instance"), name)
    menu.get_by_role("menuitem", name="Power").click()
    power = page.get_by_role("menu", name="Power")
    expect(power).to_be_visible()
    shot(page, "17-instance-menu-power")
    power.get_by_role("menuitem", name=action, exact=True).click()
    dialog = page.get_by_role("dialog", name=f"{action} {name}?")
    expect(dialog).to_be_visible()
    return dialog


def test_a_new_users_journey(
    page: Page,
    admin: httpx.Client,
    spine: dict[str, dict[str, Any]],
    iso: Path,
    shot: ShotFn,
) -> None:
    org, dc, cluster, node = (spine[k] for k in ("organization", "datacenter", "cluster", "node"))
    main = page.get_by_role("main")

    # Log in: the seed's default user, then the node this browser is connected to.
    goto(page, "/")
    page.wait_for_url("**/signin**")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_role("textbox", name="Username").fill("pceadmin")
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/nodes/{node['id']}", timeout=30_000)
    expect(main.get_by_role("heading", name=node["name"], level=1)).to_be_visible()
    page.evaluate(f"() => {{ {STAY} = true; }}")
    expect(page.get_by_label("Signed-in user")).to_contain_text("pceadmin")
    whole_page_shot(page, shot, "02-landing-node")

    # Walk the tree down, each row opening its page.
    for kind, resource, path in (
        ("organization", org, "organizations"),
        ("datacenter", dc, "datacenters"),
        ("cluster", cluster, "clusters"),
        ("node", node, "nodes"),
    ):
        row = tree_row(page, resource["name"], kind)
        row.click()
        expect(page).to_have_url(re.compile(rf"/{path}/{resource['id']}$"))
        expect(row).to_have_attribute("aria-selected", "true")
        expect(main.get_by_role("heading", name=resource["name"], level=1)).to_be_visible()
        whole_page_shot(page, shot, f"03-{kind}")

    # Right-click the datacenter → Edit → click the map → Confirm.
    dc_menu = context_menu(page, tree_row(page, dc["name"], "datacenter"), dc["name"])
    shot(page, "04-datacenter-menu")
    dc_menu.get_by_role("menuitem", name="Edit").click()
    dialog = page.get_by_role("dialog", name=f"Edit datacenter {dc['name']}")
    expect(dialog).to_be_visible()
    shot(page, "05-edit-datacenter")
    world = dialog.get_by_role("application", name="Location map")
    per_pixel = click_map(page, world, *PLACE)
    latitude = dialog.get_by_role("spinbutton", name="Latitude")
    longitude = dialog.get_by_role("spinbutton", name="Longitude")
    expect(latitude).not_to_have_value("")
    picked = (float(latitude.input_value()), float(longitude.input_value()))
    assert abs(picked[0] - PLACE[0]) < 2 * per_pixel, picked
    assert abs(picked[1] - PLACE[1]) < 2 * per_pixel, picked
    expect(dialog.get_by_role("button", name="Clear location")).to_be_enabled()
    shot(page, "06-edit-datacenter-picked")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    saved = admin.get(f"/api/v1/datacenters/{dc['id']}").json()["datacenter"]["location"]
    assert saved == {"latitude": picked[0], "longitude": picked[1]}
    # Its page says where it is now, brought by the event feed.
    tree_row(page, dc["name"], "datacenter").click()
    located = f"{picked[0]:.4f}° N, {-picked[1]:.4f}° W"  # Reykjavik: north and west
    expect(main.get_by_text(located).first).to_be_visible()
    whole_page_shot(page, shot, "06-datacenter-located")

    # The ISO the guest boots from, uploaded to the node.
    tree_row(page, node["name"], "node").click()
    upload_image(page, node["name"], iso, shot=lambda p, name: shot(p, f"07-{name}"))

    # Right-click the node → Deploy: General information, Volumes, Networking, Review.
    before = _instance_ids(admin, node["id"])
    volumes = _volume_ids(admin, node["id"])
    menu = node_menu(page, node["name"])
    shot(page, "08-node-menu")
    menu.get_by_role("menuitem", name="Deploy").click()
    wizard = page.get_by_role("dialog", name="Deploy Instance")
    expect(wizard).to_be_visible()
    next_button = wizard.get_by_role("button", name="Next", exact=True)
    fill_general(wizard, INSTANCE, memory="256", description="My first instance")
    shot(page, "09-deploy-general")
    next_button.click()
    wizard.get_by_role("spinbutton", name="Volume 1: Size (GB)").fill("1")
    wizard.get_by_role("combobox", name="Boot image").select_option(ISO)
    shot(page, "10-deploy-volumes")
    next_button.click()
    expect(wizard.get_by_text("Each network interface joins a port group")).to_be_visible()
    shot(page, "11-deploy-networking")
    next_button.click()
    finish = wizard.get_by_role("button", name="Finish")
    expect(wizard.get_by_text(ISO)).to_be_visible()
    expect(wizard.get_by_text(INSTANCE)).to_be_visible()
    shot(page, "12-deploy-review")
    finish.click()

    progress = page.get_by_role("dialog", name=f"Deploying {INSTANCE}")
    expect(progress).to_be_visible()
    shot(page, "13-deploying")
    page.wait_for_url(re.compile(r"/instances/inst-"))
    instance_id = page.url.rsplit("/instances/", 1)[1].split("/")[0]
    assert _instance_ids(admin, node["id"]) - before == {instance_id}
    expect(progress.get_by_text(f"Instance {INSTANCE} is deployed")).to_be_visible(
        timeout=GUEST_TIMEOUT
    )
    progress.get_by_role("contentinfo").get_by_role("button", name="Close").click()
    expect(progress).to_be_hidden()

    # Under its node, Running, brought by the event feed.
    row = tree_row(page, INSTANCE, "instance")
    expect(row).to_be_visible()
    expect(row).to_have_accessible_description("Running", timeout=GUEST_TIMEOUT)
    assert page.evaluate(STAY), "the page was reloaded"
    expect(main.get_by_role("heading", name=INSTANCE, level=1)).to_be_visible()
    whole_page_shot(page, shot, "14-instance-running")

    # The Console tab: the screen first (a VM's console opens on it), then the serial line.
    page.get_by_role("tab", name="Console").click()
    expect(page).to_have_url(re.compile(rf"/instances/{instance_id}/console$"))
    expect(page.get_by_role("button", name="Screen")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    canvas = page.get_by_role("region", name="VM screen").locator("canvas")
    expect(canvas).to_be_visible()
    page.wait_for_function(CANVAS_DRAWN, arg=canvas.element_handle(), timeout=GUEST_TIMEOUT)
    shot(page, "15-console-screen")
    page.get_by_role("button", name="Serial").click()
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    expect(serial_text(page)).to_contain_text(MARKER, timeout=GUEST_TIMEOUT)
    shot(page, "16-console-serial")

    # Power → Stop → Confirm: the guest shuts down cleanly (its marker means acpid is up).
    dialog = _power(page, INSTANCE, "Stop", shot)
    shot(page, "17-power-stop")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_accessible_description("Stopped", timeout=GUEST_TIMEOUT)
    expect(page.get_by_text("The console needs the instance running")).to_be_visible()
    shot(page, "18-stopped")
    until_api(
        lambda: (
            admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]["state"] == "stopped"
        ),
        "the instance stopped",
        GUEST_TIMEOUT,
    )

    # Wrong input in the instance's own forms: the server's words, nothing made.
    page.get_by_role("tab", name="Backups").click()
    page.get_by_role("button", name="Create", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Create a snapshot of {INSTANCE}")
    name = dialog.get_by_role("textbox", name="Name")
    name.fill("first try")
    dialog.get_by_role("button", name="Create").click()
    message = _server_refusal(
        admin.post(
            f"/api/v1/instances/{instance_id}/snapshots",
            json={"name": "first try", "description": ""},
        ),
        "name",
    )
    _expect_beside(name, message)
    shot(page, "19-snapshot-refused")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert admin.get(f"/api/v1/instances/{instance_id}/snapshots").json() == []

    page.get_by_role("tab", name="Resources").click()
    devices = admin.get(f"/api/v1/instances/{instance_id}/devices").json()
    page.get_by_role("button", name="Attach Device").click()
    dialog = page.get_by_role("dialog", name=f"Attach Device to {INSTANCE}")
    name = dialog.get_by_role("textbox", name="Device Name")
    name.fill("cd")
    dialog.get_by_role("combobox", name="Device Type").select_option(label="CD-ROM")
    dialog.get_by_role("combobox", name="Image").select_option(label=ISO)
    dialog.get_by_role("button", name="Confirm").click()
    message = _server_refusal(
        admin.post(
            f"/api/v1/instances/{instance_id}/devices",
            json={
                "name": "cd",
                "type": 7,
                "description": "",
                "live": True,
                "metadata": {"_type": 7, "data": {"image": ISO}},
            },
        ),
        "name",
    )
    _expect_beside(name, message)
    shot(page, "20-attach-refused")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert admin.get(f"/api/v1/instances/{instance_id}/devices").json() == devices

    # Right-click → Destroy: the typed word, the volumes too; it leaves the tree.
    menu = context_menu(page, row, INSTANCE)
    menu.get_by_role("menuitem", name="Destroy").click()
    dialog = page.get_by_role("dialog", name=f"Destroy {INSTANCE}?")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("DESTROY")
    dialog.get_by_role("checkbox", name="Also destroy attached volumes").check()
    shot(page, "21-destroy")
    confirm.click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0, timeout=GUEST_TIMEOUT)
    until_api(
        lambda: admin.get(f"/api/v1/instances/{instance_id}").status_code == 404,
        "the instance gone",
        GUEST_TIMEOUT,
    )
    assert _volume_ids(admin, node["id"]) == volumes, "the instance's volume was left"
    assert page.evaluate(STAY), "the page was reloaded"
    whole_page_shot(page, shot, "22-after-destroy")

    # Log out: back to the sign-in page, still without a reload.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/signin")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.evaluate(STAY), "logging out reloaded the page"
    shot(page, "23-signed-out")
