"""The instance page in a real browser against a real node with the test guest: Edit
shows the server's message under the field at fault; a snapshot is created, reverted to
and deleted on the Backups tab; the header's Power → Start → Confirm brings Running
without a reload (and Destroy disabled); a CD-ROM attached to the running guest says a
restart is needed; Stop; the CD-ROM detached; Destroy with the typed DESTROY lands on the
node's page. After each step the API says it happened."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ShotFn, goto
from tests.support.compute import (
    GuestImages,
    deploy_body,
    instance,
    serial_log,
    succeed,
    wait_marker,
)

#: Seconds a guest may take to boot or shut down under TCG on shared cores.
GUEST_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def stopped_guest(guest_images: GuestImages, admin: httpx.Client) -> dict[str, Any]:
    """The test guest deployed through the API, then stopped: the page starts it."""
    node_id, pool_id = guest_images.node_id, guest_images.pool_id
    body = deploy_body(node_id, pool_id, "e2e-instance")
    instance_id = str(succeed(admin, admin.post("/api/v2/instances", json=body))["target_id"])
    succeed(admin, admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"}))
    return instance(admin, instance_id)


def _api_state(admin: httpx.Client, instance_id: str) -> str:
    return str(instance(admin, instance_id)["state"])


def _wait_api(admin: httpx.Client, check: Any, what: str, timeout: float = GUEST_TIMEOUT) -> None:
    """The API reaches what ``check()`` tests; tasks finish after the page shows the reply."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"the API never showed {what}")


def _power(page: Page, action: str) -> None:
    page.get_by_role("button", name="Power", exact=True).click()
    page.get_by_role("menuitem", name=action, exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()


def _status(page: Page) -> Locator:
    """The state label in the page header (beside the instance's name)."""
    return page.locator("main").locator(".pf-v6-c-label").first


def _devices(admin: httpx.Client, instance_id: str) -> list[dict[str, Any]]:
    response = admin.get(f"/api/v1/instances/{instance_id}/devices")
    assert response.status_code == 200, response.text
    devices: list[dict[str, Any]] = response.json()
    return devices


def _snapshots(admin: httpx.Client, instance_id: str) -> list[dict[str, Any]]:
    response = admin.get(f"/api/v1/instances/{instance_id}/snapshots")
    assert response.status_code == 200, response.text
    snapshots: list[dict[str, Any]] = response.json()
    return snapshots


def test_instance_page_journey(
    signed_in_page: Page, admin: httpx.Client, stopped_guest: dict[str, Any], shot: ShotFn
) -> None:
    page, instance_id = signed_in_page, stopped_guest["id"]
    goto(page, f"/instances/{instance_id}")
    expect(page.get_by_role("heading", name="e2e-instance")).to_be_visible()
    expect(_status(page)).to_have_text("Stopped")
    expect(page.get_by_text("Virtual machine (QEMU)")).to_be_visible()
    expect(page.get_by_text("Deployment duration")).to_be_visible()
    # Stopped: the state forbids Stop, and says why.
    page.get_by_role("button", name="Power", exact=True).click()
    expect(page.get_by_role("menuitem", name="Start", exact=True)).not_to_have_attribute(
        "aria-disabled", "true"
    )
    expect(page.get_by_role("menuitem", name="Restart")).to_have_attribute("aria-disabled", "true")
    expect(page.get_by_role("menuitem", name="Restart")).to_contain_text("it is not running")
    shot(page, "summary-stopped-power-menu")
    page.keyboard.press("Escape")

    # Edit with a name the server refuses: its message under Name, nothing changed.
    page.get_by_role("button", name="Edit", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Name").fill("ab")
    dialog.get_by_role("spinbutton", name="Memory (MB)").fill("1")
    dialog.get_by_role("button", name="Confirm").click()
    name_group = dialog.locator(".pf-v6-c-form__group").filter(has_text="Name").first
    expect(name_group).to_contain_text("is not valid")
    shot(page, "edit-wrong-name")
    assert instance(admin, instance_id)["name"] == "e2e-instance"
    # Name right, memory wrong: the server's rule under Memory.
    dialog.get_by_role("textbox", name="Name").fill("e2e-instance")
    dialog.get_by_role("button", name="Confirm").click()
    memory_group = dialog.locator(".pf-v6-c-form__group").filter(has_text="Memory (MB)")
    expect(memory_group).to_contain_text("memory must be between")
    shot(page, "edit-wrong-memory")
    assert instance(admin, instance_id)["memory"] == stopped_guest["memory"]
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # Backups, stopped: create, revert to, delete a snapshot.
    page.get_by_role("tab", name="Backups").click()
    page.get_by_role("button", name="Create", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Name").fill("before-start")
    dialog.get_by_role("textbox", name="Description").fill("taken by the e2e test")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text="before-start")
    expect(row).to_contain_text("ready", timeout=GUEST_TIMEOUT * 1000)
    assert [s["name"] for s in _snapshots(admin, instance_id)] == ["before-start"]
    shot(page, "backups-snapshot")
    row.get_by_role("button", name="Revert").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    _wait_api(admin, lambda: instance(admin, instance_id)["current_task_id"] is None, "revert done")
    assert _api_state(admin, instance_id) == "stopped"
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(row).to_have_count(0, timeout=GUEST_TIMEOUT * 1000)
    assert _snapshots(admin, instance_id) == []

    # Power → Start → Confirm: Running arrives by the event feed, no reload.
    log = serial_log(instance_id)
    after = log.stat().st_size if log.exists() else 0
    page.get_by_role("tab", name="Summary").click()
    _power(page, "Start")
    expect(_status(page)).to_have_text("Running", timeout=GUEST_TIMEOUT * 1000)
    assert _api_state(admin, instance_id) == "running"
    # Running: Destroy is refused by the same rule the server applies.
    expect(page.get_by_role("button", name="Destroy")).to_have_attribute("aria-disabled", "true")
    shot(page, "summary-running")

    # Resources, running: a CD-ROM (IDE on this machine type: no hot-plug) is attached to
    # the definition, and the tab says the guest sees it after a restart, as the API answers.
    page.get_by_role("tab", name="Resources").click()
    expect(page.get_by_role("row").filter(has_text="Storage Volume")).to_have_count(1)
    page.get_by_role("button", name="Attach Device").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Device Name").fill("cd-1")
    dialog.get_by_role("combobox", name="Device Type").select_option(label="CD-ROM")
    dialog.get_by_role("combobox", name="Image").select_option(label="guest.iso")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Restart the instance to apply this change")).to_be_visible()
    cd_row = page.get_by_role("row").filter(has_text="cd-1")
    expect(cd_row).to_contain_text("guest.iso")
    expect(cd_row).to_contain_text("attached", timeout=GUEST_TIMEOUT * 1000)
    cdroms = [d for d in _devices(admin, instance_id) if d["type"] == 7]
    assert [d["name"] for d in cdroms] == ["cd-1"]
    shot(page, "resources-cdrom-running")
    _wait_api(admin, lambda: instance(admin, instance_id)["current_task_id"] is None, "attach done")
    wait_marker(instance_id, GUEST_TIMEOUT, after=after)  # acpid is up: Stop will be heard

    _power(page, "Stop")
    expect(_status(page)).to_have_text("Stopped", timeout=GUEST_TIMEOUT * 1000)
    assert _api_state(admin, instance_id) == "stopped"

    # Stopped: detach the CD-ROM with the typed confirmation.
    cd_row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("DESTROY")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(cd_row).to_have_count(0, timeout=GUEST_TIMEOUT * 1000)
    _wait_api(
        admin,
        lambda: not any(d["name"] == "cd-1" for d in _devices(admin, instance_id)),
        "the CD-ROM detached",
    )
    _wait_api(admin, lambda: instance(admin, instance_id)["current_task_id"] is None, "detach done")

    # Destroy with the typed word, volumes too: the page goes to the node.
    volumes = f"/api/v1/volumes?node_id={stopped_guest['node_id']}"
    own = {v["id"] for v in admin.get(volumes).json() if v["attached_to"] == instance_id}
    assert own, "the guest was deployed with a volume"
    page.get_by_role("button", name="Destroy").click()
    dialog = page.get_by_role("dialog")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("DESTROY")
    dialog.get_by_role("checkbox", name="Also destroy attached volumes").check()
    shot(page, "destroy-dialog")
    confirm.click()
    expect(dialog).to_be_hidden()
    page.wait_for_url(f"**/nodes/{stopped_guest['node_id']}")
    _wait_api(
        admin,
        lambda: admin.get(f"/api/v1/instances/{instance_id}").status_code == 404,
        "the instance gone",
    )
    # The node is shared (tests/conftest.py: real_node): other tests' volumes may be there.
    assert own.isdisjoint(v["id"] for v in admin.get(volumes).json())
    shot(page, "node-after-destroy")
