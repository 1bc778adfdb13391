"""Storage in a real browser against a real node, as the seed's "Storage Management" chapter
walks it:

- The cluster's Storage tab: Create Pool (a directory pool; a relative path first, refused
  with the server's message under Target Path, nothing created), its card with the grey
  dash; the pencil enables it on the node, and propagation (real: libvirt defines, builds
  and starts it) turns the dash into the green check. The node's Storage tab lists it with
  a usage bar; its Volumes tab, filtered by the Storage Pool dropdown, creates a volume in
  it (the qcow2 file appears in the pool's directory), resizes it by a delta in GiB (the
  file's virtual size grows), and destroys it with the typed DESTROY (the file is gone).
  Then the X on the pool's card destroys the pool with DESTROY, and propagation removes it.
- The instance's Resources tab: the resize icon of a running guest's volume opens Resize
  Volume with Live Resize checked; resized live, the guest's disk grows. Stopped, the box
  is off and disabled, and the resize is cold.

After each step the API (and the disk) say it happened.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import whole_page_shot
from tests.support.compute import GuestImages, deploy_body, instance, succeed
from tests.support.served_node import Server

#: Seconds for propagation to define, build and start a pool (or remove it) on the node,
#: and for a volume task to run, on 2 shared cores.
PROPAGATION_TIMEOUT = 90.0
GIB = 1024**3
#: Where the test's pool directories live: beside the test nodes, a tree QEMU can reach.
POOLS_ROOT = Path("/var/lib/cloudenv-test/e2e-pools")


@pytest.fixture
def pool_dir() -> Iterator[Path]:
    """An empty directory for a pool, readable by QEMU (0755 up the tree); removed after."""
    POOLS_ROOT.mkdir(parents=True, exist_ok=True)
    POOLS_ROOT.chmod(0o755)
    path = POOLS_ROOT / f"pool-{secrets.token_hex(4)}"
    path.mkdir(mode=0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _wait(check: Callable[[], bool], what: str, timeout: float = PROPAGATION_TIMEOUT) -> None:
    """The API (or the disk) reaches what ``check()`` tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"never saw {what}")


def _pools(admin: httpx.Client, cluster_id: str) -> dict[str, dict[str, Any]]:
    response = admin.get(f"/api/v1/clusters/{cluster_id}/storage_pools")
    assert response.status_code == 200, response.text
    return {p["name"]: p for p in response.json()}


def _volumes(admin: httpx.Client, **query: str) -> dict[str, dict[str, Any]]:
    response = admin.get("/api/v1/volumes", params=query)
    assert response.status_code == 200, response.text
    return {v["name"]: v for v in response.json()}


def _virtual_size(path: Path) -> int:
    """The disk size an image file gives its guest, as qemu-img reads it (bytes)."""
    info = subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(json.loads(info.stdout)["virtual-size"])


def _card(page: Page, name: str) -> Locator:
    return page.get_by_role("article", name=f"Storage pool {name}")


def _confirm_destroy(page: Page) -> None:
    dialog = page.get_by_role("dialog")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("DESTROY")
    confirm.click()
    expect(dialog).to_be_hidden()


def test_directory_pool_and_volume_lifecycle(
    signed_in_page: Page,
    admin: httpx.Client,
    node: dict[str, Any],
    pool_dir: Path,
    shot: ShotFn,
) -> None:
    page = signed_in_page
    cluster_id, node_id = node["cluster_id"], node["id"]
    pool_name = f"e2e-{pool_dir.name[-8:]}"

    # The cluster's Storage tab: Create Pool, a directory pool.
    goto(page, f"/clusters/{cluster_id}/storage")
    page.get_by_role("button", name="Create Pool").click()
    dialog = page.get_by_role("dialog", name="Create Pool")
    expect(dialog.get_by_role("combobox", name="Type")).to_have_value("0")  # Directory
    dialog.get_by_role("textbox", name="Name").fill(pool_name)
    # A relative path: the server's message under Target Path, nothing created.
    path_field = dialog.get_by_role("textbox", name="Target Path")
    path_field.fill("relative/pools")
    dialog.get_by_role("button", name="Create").click()
    expect(path_field).to_have_attribute("aria-invalid", "true")
    expect(path_field).to_have_accessible_description(re.compile("absolute", re.IGNORECASE))
    shot(page, "create-pool-refused")
    assert pool_name not in _pools(admin, cluster_id)
    # The form changes with the type: NetFS asks for a server and an export.
    dialog.get_by_role("combobox", name="Type").select_option(label="NetFS")
    expect(dialog.get_by_role("textbox", name="Server")).to_be_visible()
    expect(dialog.get_by_role("textbox", name="Export")).to_be_visible()
    dialog.get_by_role("combobox", name="Protocol").select_option(label="CIFS/SMB")
    expect(dialog.get_by_label("Password")).to_have_attribute("type", "password")
    shot(page, "create-pool-netfs-form")
    dialog.get_by_role("combobox", name="Type").select_option(label="Directory")
    dialog.get_by_role("textbox", name="Target Path").fill(str(pool_dir))
    shot(page, "create-pool-filled")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()

    # Its card, enabled on no node: the grey dash. The API agrees.
    card = _card(page, pool_name)
    expect(card.get_by_role("img", name="Not enabled on any node")).to_be_visible()
    made = _pools(admin, cluster_id)[pool_name]
    assert made["type"] == 0 and made["status"] == "none" and made["nodes"] == []
    assert made["config"]["path"] == str(pool_dir)
    pool_id = made["id"]
    shot(page, "pool-created-grey-dash")

    # The pencil: the cluster's nodes, none checked; check the node and Save.
    card.get_by_role("button", name=f"Edit {pool_name}").click()
    dialog = page.get_by_role("dialog", name=f"Edit Storage Pool {pool_name}")
    box = dialog.get_by_role("checkbox", name=node["name"])
    expect(box).not_to_be_checked()
    box.check()
    shot(page, "edit-pool-nodes")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    # Propagation defines, builds and starts it on the node: the green check, live.
    expect(card.get_by_role("img", name="Available on every enabled node")).to_be_visible(
        timeout=PROPAGATION_TIMEOUT * 1000
    )
    enabled = _pools(admin, cluster_id)[pool_name]
    assert enabled["status"] == "ok"
    assert [(n["node_id"], n["state"]) for n in enabled["nodes"]] == [(node_id, "ready")]
    expect(card).to_contain_text(f"{node['name']}: Ready")
    whole_page_shot(page, shot, "pool-green-check")

    # The node's Storage tab: the pool with its usage bar.
    goto(page, f"/nodes/{node_id}/storage")
    pools_table = page.get_by_role("grid", name="Storage Pools")
    expect(pools_table.get_by_role("row").filter(has_text=pool_name)).to_contain_text("Available")
    expect(pools_table.get_by_role("progressbar", name=f"Usage of {pool_name}")).to_be_visible()
    shot(page, "node-storage-pools")

    # Volumes, filtered by the Storage Pool dropdown: none in the new pool yet.
    page.get_by_role("tab", name="Volumes").click()
    page.get_by_role("combobox", name="Storage Pool").select_option(label=pool_name)
    expect(page.get_by_text(f"This node holds no volume in {pool_name}.")).to_be_visible()
    page.get_by_role("button", name="Create Volume").click()
    dialog = page.get_by_role("dialog", name="Create Volume")
    dialog.get_by_role("textbox", name="Name").fill("e2e-data")
    expect(dialog.get_by_role("combobox", name="Storage Pool")).to_have_value(pool_id)
    dialog.get_by_role("spinbutton", name="Size (GB)").fill("1")
    expect(dialog.get_by_role("combobox", name="Driver")).to_have_value("qcow2")
    shot(page, "create-volume")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    volumes = page.get_by_role("grid", name="Volumes")
    row = volumes.get_by_role("row").filter(has_text="e2e-data")
    expect(row).to_contain_text("Available", timeout=PROPAGATION_TIMEOUT * 1000)
    expect(row).to_contain_text("1 GB")
    volume = _volumes(admin, node_id=node_id, storage_pool_id=pool_id)["e2e-data"]
    assert volume["size"] == 1 and volume["metadata"]["driver"] == "qcow2"
    files = list(pool_dir.iterdir())
    assert len(files) == 1, files  # the volume's file, in the pool's directory
    assert _virtual_size(files[0]) == 1 * GIB
    shot(page, "volume-created")

    # Resize: detached, so Live Resize is off and disabled; 2 GiB more.
    row.get_by_role("button", name="Resize e2e-data").click()
    dialog = page.get_by_role("dialog", name="Resize Volume")
    live = dialog.get_by_role("checkbox", name="Live Resize")
    expect(live).not_to_be_checked()
    expect(live).to_be_disabled()
    dialog.get_by_role("spinbutton", name="Size to add (GiB)").fill("2")
    expect(dialog).to_contain_text("grows from 1 GB to 3 GB")
    shot(page, "resize-volume-detached")
    dialog.get_by_role("button", name="Resize Volume").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("3 GB", timeout=PROPAGATION_TIMEOUT * 1000)
    _wait(lambda: _virtual_size(files[0]) == 3 * GIB, "the file grow to 3 GiB")
    assert _volumes(admin, node_id=node_id)["e2e-data"]["size"] == 3

    # The X: destroy the volume with DESTROY; its file goes with it.
    expect(row).to_contain_text("Available", timeout=PROPAGATION_TIMEOUT * 1000)
    row.get_by_role("button", name="Destroy e2e-data").click()
    shot(page, "destroy-volume")
    _confirm_destroy(page)
    expect(row).to_have_count(0, timeout=PROPAGATION_TIMEOUT * 1000)
    assert "e2e-data" not in _volumes(admin, node_id=node_id)
    _wait(lambda: not any(pool_dir.iterdir()), "the volume's file removed")

    # The X on the pool's card: destroy it with DESTROY; propagation removes it.
    goto(page, f"/clusters/{cluster_id}/storage")
    card.get_by_role("button", name=f"Destroy {pool_name}").click()
    _confirm_destroy(page)
    expect(card).to_have_count(0, timeout=PROPAGATION_TIMEOUT * 1000)
    assert pool_name not in _pools(admin, cluster_id)
    assert admin.get(f"/api/v1/storage_pools/{pool_id}").status_code == 404
    shot(page, "pool-destroyed")


@pytest.fixture
def running_guest(guest_images: GuestImages, admin: httpx.Client) -> Iterator[dict[str, Any]]:
    """The test guest deployed (and so running) with a 1 GB volume in the default pool;
    destroyed with its volumes afterwards."""
    body = deploy_body(guest_images.node_id, guest_images.pool_id, "e2e-storage-guest")
    instance_id = str(succeed(admin, admin.post("/api/v2/instances", json=body))["target_id"])
    yield instance(admin, instance_id)
    admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    _wait(
        lambda: (
            instance(admin, instance_id)["state"] == "stopped"
            and instance(admin, instance_id)["current_task_id"] is None
        ),
        "the guest stopped",
    )
    admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": True}
    )


def _qemu_capacity(disk: Path) -> int:
    """The size of ``disk`` as the running QEMU of the domain using it sees it (bytes)."""
    import libvirt

    conn = libvirt.open("qemu:///system")
    try:
        for domain in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                xml = domain.XMLDesc(0)
            except libvirt.libvirtError:
                continue  # another test's guest, destroyed since the listing
            if str(disk) in xml:
                return int(domain.blockInfo(str(disk))[0])
    finally:
        conn.close()
    raise AssertionError(f"no running domain uses {disk}")


def test_instance_resources_resize_live_then_cold(
    signed_in_page: Page,
    admin: httpx.Client,
    served_node: Server,
    running_guest: dict[str, Any],
    shot: ShotFn,
) -> None:
    page, instance_id = signed_in_page, running_guest["id"]
    node_id = running_guest["node_id"]
    [volume] = [
        v for v in _volumes(admin, node_id=node_id).values() if v["attached_to"] == instance_id
    ]
    assert volume["size"] == 1
    disk = served_node.node.path / "pools" / "default" / volume["fq_name"].split("/", 1)[1]
    assert _qemu_capacity(disk) == 1 * GIB

    # Running: the resize icon opens Resize Volume with Live Resize checked.
    goto(page, f"/instances/{instance_id}/resources")
    row = (
        page.get_by_role("grid", name="Devices")
        .get_by_role("row")
        .filter(has_text="Storage Volume")
    )
    row.get_by_role("button", name=f"Resize {volume['name']}").click()
    dialog = page.get_by_role("dialog", name="Resize Volume")
    expect(dialog.get_by_role("checkbox", name="Live Resize")).to_be_checked()
    expect(dialog).to_contain_text("can corrupt or lose its data")
    dialog.get_by_role("spinbutton", name="Size to add (GiB)").fill("1")
    shot(page, "resize-live")
    dialog.get_by_role("button", name="Resize Volume").click()
    expect(dialog).to_be_hidden()
    # The running QEMU sees the new size: resized live, no restart.
    expect(row).to_contain_text(f"{volume['name']} (2 GB)", timeout=PROPAGATION_TIMEOUT * 1000)
    _wait(lambda: _qemu_capacity(disk) == 2 * GIB, "QEMU see 2 GiB")
    assert instance(admin, instance_id)["state"] == "running"
    shot(page, "resized-live")

    # Stopped: Live Resize off and disabled; the resize is cold.
    succeed(admin, admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"}))
    # The header's state label (beside the name) follows by the event feed.
    expect(page.locator("main").locator(".pf-v6-c-label").first).to_have_text(
        "Stopped", timeout=PROPAGATION_TIMEOUT * 1000
    )
    row.get_by_role("button", name=f"Resize {volume['name']}").click()
    dialog = page.get_by_role("dialog", name="Resize Volume")
    live = dialog.get_by_role("checkbox", name="Live Resize")
    expect(live).not_to_be_checked()
    expect(live).to_be_disabled()
    dialog.get_by_role("spinbutton", name="Size to add (GiB)").fill("1")
    dialog.get_by_role("button", name="Resize Volume").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text(f"{volume['name']} (3 GB)", timeout=PROPAGATION_TIMEOUT * 1000)
    _wait(lambda: _virtual_size(disk) == 3 * GIB, "the file grow to 3 GiB")
    shot(page, "resized-cold")


def test_a_pool_the_node_cannot_realise_shows_the_red_x_with_its_reason(
    signed_in_page: Page, admin: httpx.Client, node: dict[str, Any], shot: ShotFn
) -> None:
    """This machine has no LVM: enabled on the node, an LVM pool turns red, and the X
    names the node and what is missing; with the node taken off again, it is destroyed."""
    page = signed_in_page
    cluster_id = node["cluster_id"]
    pool_name = f"vg{secrets.token_hex(3)}"
    goto(page, f"/clusters/{cluster_id}/storage")
    page.get_by_role("button", name="Create Pool").click()
    dialog = page.get_by_role("dialog", name="Create Pool")
    dialog.get_by_role("combobox", name="Type").select_option(label="LVM")
    dialog.get_by_role("textbox", name="Name").fill(pool_name)
    # Empty: the volume group is the pool's name, as the seed says.
    expect(dialog.get_by_role("textbox", name="Volume Group")).to_have_attribute(
        "placeholder", pool_name
    )
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    card = _card(page, pool_name)
    expect(card.get_by_role("img", name="Not enabled on any node")).to_be_visible()
    assert _pools(admin, cluster_id)[pool_name]["config"]["volume_group"] == pool_name

    card.get_by_role("button", name=f"Edit {pool_name}").click()
    dialog = page.get_by_role("dialog", name=f"Edit Storage Pool {pool_name}")
    dialog.get_by_role("checkbox", name=node["name"]).check()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()

    # The red X; it opens the node's error.
    red = card.get_by_role("button", name="Propagation failed: show why")
    expect(red).to_be_visible(timeout=PROPAGATION_TIMEOUT * 1000)
    failed = _pools(admin, cluster_id)[pool_name]
    assert failed["status"] == "error"
    [state] = failed["nodes"]
    assert state["state"] == "error" and state["error"]
    red.click()
    popover = page.get_by_role("dialog").filter(has_text=f"{pool_name}: Propagation failed")
    expect(popover).to_contain_text(f"{node['name']}: {state['error']}")
    shot(page, "pool-red-x")
    page.keyboard.press("Escape")

    # Off the node again, then destroyed.
    card.get_by_role("button", name=f"Edit {pool_name}").click()
    dialog = page.get_by_role("dialog", name=f"Edit Storage Pool {pool_name}")
    expect(dialog.get_by_role("checkbox", name=node["name"])).to_be_checked()
    dialog.get_by_role("checkbox", name=node["name"]).uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(card.get_by_role("img", name="Not enabled on any node")).to_be_visible(
        timeout=PROPAGATION_TIMEOUT * 1000
    )
    card.get_by_role("button", name=f"Destroy {pool_name}").click()
    _confirm_destroy(page)
    expect(card).to_have_count(0, timeout=PROPAGATION_TIMEOUT * 1000)
    assert pool_name not in _pools(admin, cluster_id)
