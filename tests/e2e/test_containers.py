"""A container (LXC) through the web UI, on a real served node: the busybox test image is
imported through the API (as tests/integration/test_container_images_served.py does), then
right-click the node → Deploy → Instance type Container (LXC): the wizard asks for the
container's image, init and privilege instead of firmware, machine type and CPU model, has
no Volumes step, and its Review says what is deployed; Finish. The container reaches
Running in the tree, which marks it as a container; its page says "Container (LXC)"; its
Console tab is a terminal alone (no Screen), which says why when another client holds the
console (a container's console takes one viewer at a time) and connects on Reconnect once
that client has gone; a command typed there prints its answer. Then Power → Stop; its
Backups tab says a container has no snapshots; Destroy with the typed word: it leaves the
tree and the API.

Screenshots of each step are saved under tests/e2e/output/test_a_container_through_the_wizard/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from websockets.sync.client import connect

from cloudenv.tls import client_ssl_context
from tests.e2e.conftest import ShotFn
from tests.e2e.support import (
    context_menu,
    node_menu,
    remove_instance,
    terminal_text,
    tree_row,
    until_api,
    whole_page_shot,
)
from tests.support.compute import succeed, wait_task
from tests.support.container_images import build_busybox_rootfs, rootfs_tarball
from tests.support.served_node import Server

INSTANCE = "e2e-container"
#: The image's name on the node: its own, whatever other tests left there.
IMAGE = "e2e-busybox.tar.gz"
#: The container's shell prints this for COMMAND; the command line it echoes back does not
#: contain it, so seeing it means the container ran what the browser typed.
COMMAND = "echo CT-$((6*7))"
ANSWER = "CT-42"
#: Milliseconds for a deploy (the rootfs unpacked), a start or a clean stop on shared cores.
CONTAINER_TIMEOUT = 180_000
#: The terminal region of a container's Console tab.
TERMINAL = "Container console"


@pytest.fixture
def image(admin: httpx.Client, node: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """The busybox root filesystem tarball, imported as a container image (type 1) into the
    node's first pool. Afterwards no container of this test and no image of it are left."""
    tarball = rootfs_tarball(build_busybox_rootfs(tmp_path / "rootfs"), tmp_path / IMAGE)
    images = f"/api/v1/nodes/{node['id']}/images/images"
    pool = admin.get(f"/api/v1/nodes/{node['id']}/storage/pools").json()[0]["id"]
    reply = admin.post(
        images, params={"storage_pool_id": pool, "name": IMAGE}, content=tarball.read_bytes()
    )
    succeed(admin, reply)
    listed = {i["name"]: i for i in admin.get(images).json()}
    assert (listed[IMAGE]["type"], listed[IMAGE]["status"]) == (1, "available"), listed[IMAGE]
    yield IMAGE
    for row in admin.get("/api/v1/instances", params={"node_id": node["id"]}).json():
        if row["name"] == INSTANCE:
            remove_instance(admin, row["id"])
    gone = admin.delete(f"{images}/{IMAGE}", params={"confirm": "DESTROY"})
    if gone.status_code == 202:
        wait_task(admin, gone.json()["task_id"])


@contextmanager
def _hold_console(server: Server, admin: httpx.Client, instance_id: str) -> Iterator[None]:
    """The container's console opened by another client than the browser, attached (it has
    answered a newline with the shell's prompt), until the block ends."""
    grant = admin.post(f"/api/v1/instances/{instance_id}/console", json={"kind": "serial"})
    assert grant.status_code == 200, grant.text
    url = f"wss://127.0.0.1:{server.port}{grant.json()['websocket']}"
    with connect(url, ssl=client_ssl_context(server.node.ca), open_timeout=10) as socket:
        socket.send(b"\n")
        socket.recv(timeout=30)
        yield


def _deploy_through_the_wizard(page: Page, node: dict[str, Any], image: str, shot: ShotFn) -> None:
    """Right-click the node → Deploy, a container of ``image``, to Finish."""
    node_menu(page, node["name"]).get_by_role("menuitem", name="Deploy").click()
    wizard = page.get_by_role("dialog", name="Deploy Instance")
    expect(wizard).to_be_visible()
    next_button = wizard.get_by_role("button", name="Next", exact=True)

    # General information: a container asks for its image, init and privilege, not for a
    # VM's firmware, machine type and CPU model.
    expect(wizard.get_by_role("radio", name="Virtual machine (QEMU)")).to_be_checked()
    expect(wizard.get_by_role("combobox", name="Firmware")).to_be_visible()
    shot(page, "01-general-vm")
    wizard.get_by_role("radio", name="Container (LXC)").check()
    for gone in ("Firmware", "Machine type", "CPU model"):
        expect(wizard.get_by_role("combobox", name=gone)).to_have_count(0)
    wizard.get_by_role("textbox", name="Name", exact=True).fill(INSTANCE)
    wizard.get_by_role("textbox", name="Description").fill("A busybox container")
    wizard.get_by_role("spinbutton", name="Memory (MB)").fill("128")
    wizard.get_by_role("combobox", name="Image").select_option(image)
    init = wizard.get_by_role("textbox", name="Init")
    expect(init).to_have_value("/sbin/init")
    # A relative init is refused before the server is asked; Next waits for a good one.
    init.fill("sbin/init")
    expect(init).to_have_attribute("aria-invalid", "true")
    expect(wizard.get_by_text("An absolute path inside the container")).to_be_visible()
    expect(next_button).to_be_disabled()
    init.fill("/sbin/init")
    privileged = wizard.get_by_role("checkbox", name="Privileged")
    expect(privileged).not_to_be_checked()
    privileged.check()
    warning = wizard.get_by_text("A privileged container's root is the host's root")
    expect(warning).to_be_visible()
    wizard.get_by_text("only for trusted workloads").scroll_into_view_if_needed()
    shot(page, "02-general-container-privileged")
    privileged.uncheck()
    expect(warning).to_have_count(0)
    # Its root filesystem's size: a bad one is refused before the server is asked; 1 GB
    # makes it an ext4 volume the node mounts while it runs.
    size = wizard.get_by_role("textbox", name="Root filesystem size (GB)")
    expect(size).to_have_value("")
    size.fill("0")
    expect(size).to_have_attribute("aria-invalid", "true")
    expect(wizard.get_by_text("A whole number of GB, 1 to 65536, or empty.")).to_be_visible()
    expect(next_button).to_be_disabled()
    size.fill("1")
    wizard.get_by_role("checkbox", name="Autostart").uncheck()
    shot(page, "03-general-container")

    # No Volumes step: a container's root filesystem comes from its image.
    expect(wizard.get_by_role("button", name="Volumes", exact=True)).to_have_count(0)
    next_button.click()
    expect(wizard.get_by_text("Each network interface joins a port group")).to_be_visible()
    shot(page, "04-networking")
    next_button.click()
    review = wizard.get_by_role("button", name="Finish")
    expect(wizard.get_by_text("Container (LXC)", exact=True)).to_be_visible()
    expect(wizard.get_by_text(image, exact=True)).to_be_visible()
    expect(wizard.get_by_text("No (user-namespace mapped)")).to_be_visible()
    expect(wizard.get_by_text(re.compile(r"an ext4 volume of 1 GB$"))).to_be_visible()
    shot(page, "05-review")
    review.click()

    progress = page.get_by_role("dialog", name=f"Deploying {INSTANCE}")
    expect(progress).to_be_visible()
    expect(progress.get_by_text(f"Instance {INSTANCE} is deployed")).to_be_visible(
        timeout=CONTAINER_TIMEOUT
    )
    shot(page, "06-deployed")
    progress.get_by_role("contentinfo").get_by_role("button", name="Close").click()
    expect(progress).to_be_hidden()


def _confirm(page: Page, row: Locator, path: tuple[str, ...], title: str) -> Locator:
    """Right-click ``row`` and follow the menu ``path``; the confirmation dialog ``title``."""
    menu = context_menu(page, row, INSTANCE)
    for depth, item in enumerate(path):
        if depth > 0:
            menu = page.get_by_role("menu", name=path[depth - 1])
        menu.get_by_role("menuitem", name=item, exact=True).click()
    dialog = page.get_by_role("dialog", name=title)
    expect(dialog).to_be_visible()
    return dialog


def test_a_container_through_the_wizard(
    signed_in_page: Page,
    served_node: Server,
    admin: httpx.Client,
    node: dict[str, Any],
    image: str,
    shot: ShotFn,
) -> None:
    page = signed_in_page
    main = page.get_by_role("main")
    tree_row(page, node["name"], "node").click()
    _deploy_through_the_wizard(page, node, image, shot)

    # Under its node, Running, and marked as a container; the instance's page says so too.
    page.wait_for_url(re.compile(r"/instances/inst-"))
    instance_id = page.url.rsplit("/instances/", 1)[1].split("/")[0]
    instance = admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]
    assert (instance["name"], instance["type"]) == (INSTANCE, 1), instance
    devices = admin.get(f"/api/v1/instances/{instance_id}/devices").json()
    [root] = [d for d in devices if d["is_root"]]
    volume = admin.get(f"/api/v1/volumes/{root['resource_id']}").json()
    assert (volume["size"], volume["metadata"]["driver"]) == (1, "raw"), volume
    row = tree_row(page, INSTANCE, "instance")
    expect(row).to_have_accessible_description(
        re.compile(r"^Running Container \(LXC\)$"), timeout=CONTAINER_TIMEOUT
    )
    expect(row.locator('[title="Container (LXC)"]')).to_be_visible()
    expect(main.get_by_role("heading", name=INSTANCE, level=1)).to_be_visible()
    expect(main.get_by_text("Container (LXC)", exact=True)).to_be_visible()
    whole_page_shot(page, shot, "07-running")

    # The Console tab while another client holds the console: refused, with the reason.
    with _hold_console(served_node, admin, instance_id):
        page.get_by_role("tab", name="Console").click()
        expect(page).to_have_url(re.compile(rf"/instances/{instance_id}/console$"))
        expect(page.get_by_role("button", name="Screen")).to_have_count(0)
        expect(page.get_by_text("Disconnected", exact=True)).to_be_visible()
        expect(page.get_by_text("The console is disconnected")).to_be_visible()
        # The node's own words (libvirt_lxc.py), not the browser's "connection lost".
        expect(page.get_by_text(re.compile("already open in another window"))).to_be_visible()
        shot(page, "08-console-held-elsewhere")

    # That client gone, Reconnect connects; what is typed runs in the container.
    page.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    terminal = terminal_text(page, TERMINAL)
    page.get_by_role("region", name=TERMINAL).locator(".xterm").click()
    page.keyboard.press("Enter")
    page.keyboard.type(COMMAND)
    page.keyboard.press("Enter")
    expect(terminal).to_contain_text(ANSWER, timeout=30_000)
    shot(page, "09-console")

    # Power → Stop → Confirm: Stopped, and the console says it needs the container running.
    dialog = _confirm(page, row, ("Power", "Stop"), f"Stop {INSTANCE}?")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_accessible_description(
        re.compile(r"^Stopped Container \(LXC\)$"), timeout=CONTAINER_TIMEOUT
    )
    expect(page.get_by_text("The console needs the instance running")).to_be_visible()
    shot(page, "10-stopped")
    until_api(
        lambda: (
            admin.get(f"/api/v1/instances/{instance_id}").json()["instance"]["state"] == "stopped"
        ),
        "the container stopped",
        CONTAINER_TIMEOUT,
    )

    # No snapshots for a container: Create is disabled, and the list says why.
    page.get_by_role("tab", name="Backups").click()
    expect(page.get_by_role("button", name="Create", exact=True)).to_have_attribute(
        "aria-disabled", "true"
    )
    expect(main.get_by_text("Containers have no snapshots").first).to_be_visible()
    shot(page, "11-no-snapshots")

    # Destroy with the typed word: it leaves the tree and the API.
    dialog = _confirm(page, row, ("Destroy",), f"Destroy {INSTANCE}?")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("DESTROY")
    dialog.get_by_role("checkbox", name="Also destroy attached volumes").check()
    shot(page, "12-destroy")
    confirm.click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0, timeout=CONTAINER_TIMEOUT)
    until_api(
        lambda: admin.get(f"/api/v1/instances/{instance_id}").status_code == 404,
        "the container gone",
        CONTAINER_TIMEOUT,
    )
    whole_page_shot(page, shot, "13-destroyed")
