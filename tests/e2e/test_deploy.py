"""The seed's "Instance Deploy" in a real browser, and the image upload it needs.

A user uploads the test guest's ISO to the node through Upload image (a progress bar,
Cancel), sees the node refuse a bad upload with its own words, then right-clicks the node
in the resource tree → Deploy, fills the wizard's steps (General information, Volumes,
Networking, Review) and presses Finish. A value the API refuses (more memory than the
node has) brings the wizard back to its step with the server's message beside the field,
and creates nothing; once fixed, the instance appears under its node and reaches Running
without a reload. Each step is saved as a screenshot.

Needs the resource tree's right-click menu (components/tree) and the node page showing
components/images' ImagesCard.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import fill_general, node_menu, open_upload
from tests.guest.build import build_guest
from tests.support.compute import GuestImages, wait_task
from tests.support.served_node import Server

#: A file big enough that its upload is still going when the test presses Cancel (sent
#: from a sparse file; the node's staging file is removed when the upload is cancelled).
BIG_UPLOAD = 4 * 1024**3
#: A deploy under TCG on shared cores: volumes, define, boot.
DEPLOY_TIMEOUT = 180_000
INSTANCE = "e2e-guest"


UPLOADED = "upload-e2e.iso"


@pytest.fixture(scope="module")
def guest_iso(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test guest's ISO under a name of this module's own (the shared node already holds
    ``guest.iso``: see the guest_images fixture)."""
    copy = tmp_path_factory.mktemp("upload") / UPLOADED
    shutil.copyfile(build_guest().iso, copy)
    return copy


#: What these tests upload, by name.
_UPLOADED = (UPLOADED, "scratch.raw", "hostile.qcow2", "big.raw")


def _remove_images(client: httpx.Client, node_id: str) -> None:
    for name in _UPLOADED:
        reply = client.delete(
            f"/api/v1/nodes/{node_id}/images/images/{name}", params={"confirm": "DESTROY"}
        )
        if reply.status_code == 202:
            wait_task(client, reply.json()["task_id"])


@pytest.fixture(scope="module", autouse=True)
def _leave_no_images(served_node: Server) -> Iterator[None]:
    """The node is shared by every e2e test: these tests start without the images they
    upload and remove them afterwards (guest.iso, which the wizard boots, belongs to the
    guest_images fixture and stays)."""
    with served_node.admin() as client:
        _remove_images(client, served_node.health["id"])
    yield
    with served_node.admin() as client:
        _remove_images(client, served_node.health["id"])


def _images(admin: httpx.Client, node_id: str) -> dict[str, dict[str, Any]]:
    rows = admin.get(f"/api/v1/nodes/{node_id}/images/images").json()
    return {row["name"]: row for row in rows}


def _instances(admin: httpx.Client, node_id: str) -> set[str]:
    reply = admin.get("/api/v1/instances", params={"node_id": node_id})
    assert reply.status_code == 200, reply.text
    return {row["id"] for row in reply.json()}


def test_upload_image_with_progress_cancel_and_refusals(
    signed_in_page: Page,
    node: dict[str, Any],
    admin: httpx.Client,
    guest_iso: Path,
    tmp_path: Path,
    shot: ShotFn,
) -> None:
    page = signed_in_page
    goto(page, f"/nodes/{node['id']}")

    # Cancel in the middle of a large file (sparse: big to send, nothing on disk here): the
    # bar had moved, and no image is left behind.
    big = tmp_path / "big.raw"
    with big.open("wb") as handle:
        handle.truncate(BIG_UPLOAD)
    dialog = open_upload(page, node["name"])
    dialog.locator("input[type=file]").set_input_files(str(big))
    expect(dialog.get_by_role("textbox", name="Name", exact=True)).to_have_value("big.raw")
    dialog.get_by_role("button", name="Upload").click()
    bar = dialog.get_by_role("progressbar", name="Uploading")
    expect(bar).to_be_visible()
    page.wait_for_function(
        "el => Number(el.getAttribute('aria-valuenow')) > 0", arg=bar.element_handle()
    )
    shot(page, "1-upload-progress")
    dialog.get_by_role("button", name="Cancel").click()
    expect(bar).to_be_hidden()
    expect(dialog.get_by_role("button", name="Upload")).to_be_enabled()
    assert "big.raw" not in _images(admin, node["id"])

    # The guest's ISO, to the end: the node's task moves it into the pool.
    dialog.locator("input[type=file]").set_input_files(str(guest_iso))
    name = dialog.get_by_role("textbox", name="Name", exact=True)
    expect(name).to_have_value(UPLOADED)  # the name follows the file until the user edits it
    dialog.get_by_role("button", name="Upload").click()
    expect(dialog.get_by_text(f"Image {UPLOADED} is available")).to_be_visible(timeout=60_000)
    shot(page, "2-upload-done")
    dialog.get_by_role("contentinfo").get_by_role("button", name="Close").click()
    assert _images(admin, node["id"])[UPLOADED]["status"] == "available"

    # The same name again: refused before the body is read, the message beside Name.
    dialog = open_upload(page, node["name"])
    dialog.locator("input[type=file]").set_input_files(str(guest_iso))
    dialog.get_by_role("button", name="Upload").click()
    expect(
        dialog.get_by_text(re.compile(f"already has an image named '{re.escape(UPLOADED)}'"))
    ).to_be_visible()
    expect(dialog.get_by_role("textbox", name="Name", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    shot(page, "3-upload-refused-name")

    # A hostile image: a qcow2 that refers to a file of the node. The node's task refuses it
    # and the dialog says why; nothing is left in the list.
    hostile = tmp_path / "hostile.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(hostile)],
        check=True,
    )
    dialog.locator("input[type=file]").set_input_files(str(hostile))
    dialog.get_by_role("textbox", name="Name", exact=True).fill("hostile.qcow2")
    dialog.get_by_role("button", name="Upload").click()
    refusal = dialog.get_by_text("The node refused the image")
    expect(refusal).to_be_visible(timeout=60_000)
    expect(dialog.get_by_text(re.compile("backing file"))).to_be_visible()
    shot(page, "4-upload-refused-contents")
    dialog.get_by_role("contentinfo").get_by_role("button", name="Close").click()
    assert "hostile.qcow2" not in _images(admin, node["id"])


def test_deploy_through_the_wizard(
    signed_in_page: Page,
    node: dict[str, Any],
    admin: httpx.Client,
    guest_images: GuestImages,
    shot: ShotFn,
) -> None:
    page = signed_in_page
    before = _instances(admin, node["id"])
    goto(page, f"/nodes/{node['id']}")

    node_menu(page, node["name"]).get_by_role("menuitem", name="Deploy").click()
    wizard = page.get_by_role("dialog", name="Deploy Instance")
    expect(wizard).to_be_visible()
    shot(page, "1-general-empty")
    next_button = wizard.get_by_role("button", name="Next", exact=True)
    expect(next_button).to_be_disabled()  # no name yet

    # More memory than the node has: only the server knows; it says so beside Memory.
    fill_general(wizard, INSTANCE, memory="4000000", description="Deployed by the e2e test")
    shot(page, "2-general")
    next_button.click()
    expect(wizard.get_by_role("combobox", name="Volume 1: Storage pool")).to_be_visible()
    wizard.get_by_role("spinbutton", name="Volume 1: Size (GB)").fill("1")
    wizard.get_by_role("combobox", name="Boot image").select_option("guest.iso")
    shot(page, "3-volumes")
    next_button.click()
    # No interface unless added (tests/e2e/test_network.py adds one).
    expect(wizard.get_by_role("button", name="Add interface")).to_be_visible()
    shot(page, "4-networking")
    next_button.click()
    finish = wizard.get_by_role("button", name="Finish")
    expect(finish).to_be_visible()
    expect(wizard.get_by_text("guest.iso")).to_be_visible()
    shot(page, "5-review")
    finish.click()

    memory = wizard.get_by_role("spinbutton", name="Memory (MB)")
    expect(memory).to_be_visible()  # back on General information
    expect(memory).to_have_attribute("aria-invalid", "true")
    expect(
        wizard.get_by_text(re.compile(r"4000000 MB of memory is more than node"))
    ).to_be_visible()
    shot(page, "6-refused-memory")
    assert _instances(admin, node["id"]) == before, "a refused deploy created something"

    # Fixed: the message goes, and the deploy goes through.
    memory.fill("256")
    expect(wizard.get_by_text(re.compile("more than node"))).to_be_hidden()
    next_button.click()
    next_button.click()
    next_button.click()
    finish.click()

    progress = page.get_by_role("dialog", name=f"Deploying {INSTANCE}")
    expect(progress).to_be_visible()
    shot(page, "7-deploying")
    page.wait_for_url(re.compile(r"/instances/inst-"))
    instance_id = page.url.rsplit("/instances/", 1)[1].split("/")[0]
    created = _instances(admin, node["id"]) - before
    assert created == {instance_id}
    try:
        expect(progress.get_by_text(f"Instance {INSTANCE} is deployed")).to_be_visible(
            timeout=DEPLOY_TIMEOUT
        )
        progress.get_by_role("contentinfo").get_by_role("button", name="Close").click()

        # Under its node in the tree, Running, without a reload.
        row = page.get_by_role("tree", name="Resource tree").get_by_role(
            "treeitem", name=INSTANCE, exact=True
        )
        expect(row).to_be_visible()
        expect(row).to_contain_text("Running", timeout=DEPLOY_TIMEOUT)
        shot(page, "8-running")
        state = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
        assert state["state"] == "running"
        assert state["memory"] == 256
    finally:
        _destroy(admin, instance_id)


def _destroy(admin: httpx.Client, instance_id: str) -> None:
    """Leave the shared node as the test found it (other e2e tests deploy too)."""
    reply = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    if reply.status_code == 202:
        wait_task(admin, reply.json()["task_id"])
    reply = admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": "true"}
    )
    if reply.status_code == 202:
        wait_task(admin, reply.json()["task_id"])


def test_images_card_lists_and_deletes(
    signed_in_page: Page, node: dict[str, Any], admin: httpx.Client, tmp_path: Path, shot: ShotFn
) -> None:
    page = signed_in_page
    raw = tmp_path / "scratch.raw"
    raw.write_bytes(b"\0" * 1024 * 1024)
    pools = admin.get(f"/api/v1/nodes/{node['id']}/storage/pools").json()
    reply = admin.post(
        f"/api/v1/nodes/{node['id']}/images/images",
        params={"storage_pool_id": pools[0]["id"], "name": "scratch.raw"},
        content=raw.read_bytes(),
    )
    wait_task(admin, reply.json()["task_id"])

    goto(page, f"/nodes/{node['id']}")
    table = page.get_by_role("grid", name="Images")
    row = table.get_by_role("row").filter(has_text="scratch.raw")
    expect(row).to_contain_text("Available")
    table.scroll_into_view_if_needed()
    shot(page, "1-images")
    row.get_by_role("button", name="Delete scratch.raw").click()
    confirm = page.get_by_role("dialog", name="Delete image scratch.raw?")
    confirm.get_by_role("button", name="Delete").click()
    expect(row).to_be_hidden(timeout=60_000)  # the image.deleted event refreshed the list
    shot(page, "2-deleted")
    assert "scratch.raw" not in _images(admin, node["id"])
