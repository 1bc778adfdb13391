"""Steps several browser tests take the same way: finding a row of the resource tree and
opening its right-click menu, clicking a point of the world map, uploading an image, filling
the deploy wizard's General information, reading the serial terminal, telling a drawn VNC
canvas, and screenshots of a whole resource page. Each locates controls by role and the
seed's words, as the tests do."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.e2e.conftest import VIEWPORT, ShotFn
from tests.support.compute import wait_task

#: aria-level of each kind of resource in the tree (init names a datacenter and a cluster
#: alike, so a name alone may match two rows).
TREE_LEVELS = {"organization": 1, "datacenter": 2, "cluster": 3, "node": 4, "instance": 5}
#: Seconds for an image the size of the test guest's ISO to upload and be imported.
UPLOAD_TIMEOUT = 60.0

#: True once a canvas has a size and more than one colour among its pixels: the VNC server
#: sent a framebuffer and the guest drew on it.
CANVAS_DRAWN = """(canvas) => {
    if (canvas.width === 0 || canvas.height === 0) return false;
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 4; i < data.length; i += 4) {
        if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) {
            return true;
        }
    }
    return false;
}"""


def tree_row(page: Page, name: str, kind: str | None = None) -> Locator:
    """The resource tree's row named ``name``, at ``kind``'s level when given."""
    rows = page.get_by_role("tree", name="Resource tree").get_by_role(
        "treeitem", name=name, exact=True
    )
    if kind is None:
        return rows
    return rows.and_(page.locator(f'[aria-level="{TREE_LEVELS[kind]}"]'))


def context_menu(page: Page, row: Locator, name: str) -> Locator:
    """Right-click ``row`` (named ``name``) in the tree; its actions menu."""
    expect(row).to_be_visible()
    row.click(button="right")
    menu = page.get_by_role("menu", name=f"Actions for {name}")
    expect(menu).to_be_visible()
    return menu


def node_menu(page: Page, node_name: str) -> Locator:
    """Right-click the node in the resource tree; its actions menu."""
    return context_menu(page, tree_row(page, node_name, "node"), node_name)


def click_map(page: Page, world: Locator, latitude: float, longitude: float) -> float:
    """Click the world map (an equirectangular projection filling its box) where
    (latitude, longitude) is; returns how many degrees a pixel of it spans, so a caller
    can say how close the picked point must be."""
    box = world.bounding_box()
    assert box is not None, "the world map has no box"
    x = box["x"] + (longitude + 180) / 360 * box["width"]
    y = box["y"] + (90 - latitude) / 180 * box["height"]
    page.mouse.click(x, y)
    return 360 / box["width"]


def open_upload(page: Page, node_name: str) -> Locator:
    """Right-click the node → Upload image; the dialog."""
    node_menu(page, node_name).get_by_role("menuitem", name="Upload image").click()
    dialog = page.get_by_role("dialog", name="Upload image")
    expect(dialog).to_be_visible()
    return dialog


def choose_file(page: Page, dialog: Locator, path: Path) -> None:
    """Browse... in the upload dialog, and pick ``path`` in the file chooser."""
    with page.expect_file_chooser() as chooser:
        dialog.get_by_role("button", name="Browse...").click()
    chooser.value.set_files(str(path))


def upload_image(page: Page, node_name: str, path: Path, shot: ShotFn | None = None) -> None:
    """Upload ``path`` to the node through Upload image, under its own file name, to the
    end: the node's task has made it available. ``shot`` saves the dialog filled and done."""
    dialog = open_upload(page, node_name)
    choose_file(page, dialog, path)
    expect(dialog.get_by_role("textbox", name="Name", exact=True)).to_have_value(path.name)
    if shot:
        shot(page, "upload-image")
    dialog.get_by_role("button", name="Upload").click()
    expect(dialog.get_by_text(f"Image {path.name} is available")).to_be_visible(
        timeout=UPLOAD_TIMEOUT * 1000
    )
    if shot:
        shot(page, "upload-image-done")
    dialog.get_by_role("contentinfo").get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def fill_general(wizard: Locator, name: str, memory: str, description: str = "") -> None:
    """The deploy wizard's General information for the test guest, which boots its ISO
    under BIOS on an i440fx machine (tests/support/compute.py)."""
    wizard.get_by_role("textbox", name="Name", exact=True).fill(name)
    wizard.get_by_role("textbox", name="Description").fill(description)
    wizard.get_by_role("spinbutton", name="Memory (MB)").fill(memory)
    wizard.get_by_role("combobox", name="Firmware").select_option("bios")
    wizard.get_by_role("combobox", name="Machine type").select_option("pc")
    wizard.get_by_role("checkbox", name="Autostart").uncheck()


def serial_text(page: Page) -> Locator:
    """The rows the serial terminal shows (xterm.js's DOM renderer writes each as text)."""
    return terminal_text(page, "Serial console")


def terminal_text(page: Page, name: str) -> Locator:
    """The rows the terminal region ``name`` shows ("Serial console", "Node console")."""
    return page.get_by_role("region", name=name).locator(".xterm-rows")


def whole_page_shot(page: Page, shot: ShotFn, name: str) -> None:
    """A screenshot of the whole resource page: the layout scrolls inside <main>, which a
    full-page shot doesn't unroll, so the window grows to the page's height for it."""
    height = page.evaluate(
        "() => { const main = document.querySelector('main');"
        " return main ? main.getBoundingClientRect().top + main.scrollHeight : 0; }"
    )
    width, usual = VIEWPORT["width"], VIEWPORT["height"]
    page.set_viewport_size(ViewportSize(width=width, height=max(usual, int(height) + 40)))
    shot(page, name)
    page.set_viewport_size(ViewportSize(width=width, height=usual))


def until_api(check: Callable[[], bool], what: str, timeout_ms: int) -> None:
    """The API reaches what ``check()`` tests (a task finishes after the UI shows its reply)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"the API never showed {what}")


def remove_instance(admin: httpx.Client, instance_id: str) -> None:
    """Kill and destroy an instance a test made, with its volumes, whatever state the test
    left it in (a refused step is no error: it may be gone already)."""
    reply = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    if reply.status_code == 202:
        wait_task(admin, reply.json()["task_id"])
    reply = admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": "true"}
    )
    if reply.status_code == 202:
        wait_task(admin, reply.json()["task_id"])
