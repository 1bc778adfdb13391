"""The resource tree as a user meets it (seed: "Resource Tree"): walked by role and name,
opened and closed with the mouse and the keyboard, filtered by name, its right-click menu
opened with the pointer and with Shift+F10, the node the browser talks to marked with the
light green dot; and live: an instance deployed through the API appears under its node
and its state badge follows a stop, without a reload."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ShotFn
from tests.e2e.support import context_menu, tree_row
from tests.support.compute import GuestImages, deploy_body, succeed, wait_task
from tests.support.served_node import Server

SERVING = "You are connected to this node"


@pytest.fixture(scope="module")
def layout(admin: httpx.Client, served_node: Server) -> dict[str, Any]:
    """The names of the served node's organization, datacenter, cluster and node."""
    node_id = served_node.health["id"]
    for entry in admin.get("/api/v1/organizations").json():
        node = next((n for n in entry["nodes"] if n["id"] == node_id), None)
        if node is None:
            continue
        cluster = next(c for c in entry["clusters"] if c["id"] == node["cluster_id"])
        datacenter = next(d for d in entry["datacenters"] if d["id"] == cluster["datacenter_id"])
        return {
            "organization": entry["organization"]["name"],
            "datacenter": datacenter["name"],
            "cluster": cluster["name"],
            "node": node["name"],
            "node_id": node_id,
        }
    raise AssertionError(f"the tree has no node {node_id}")


def test_walk_open_close_filter(signed_in_page: Page, layout: dict[str, Any], shot: ShotFn) -> None:
    page = signed_in_page
    org, dc, cluster, node = (
        tree_row(page, layout[k], k) for k in ("organization", "datacenter", "cluster", "node")
    )
    # First load opens the organizations and the way down to this browser's node.
    for item, level in ((org, 1), (dc, 2), (cluster, 3), (node, 4)):
        expect(item).to_be_visible()
        expect(item).to_have_attribute("aria-level", str(level))
    expect(org).to_have_attribute("aria-expanded", "true")
    expect(node.get_by_role("img", name=SERVING)).to_be_visible()
    expect(node).to_have_accessible_description(re.compile(SERVING))
    expect(node).to_have_accessible_description(re.compile("Alive"))
    shot(page, "tree")

    # The mouse: the chevron closes a branch without leaving the page; the row opens its page.
    dc.locator(".ce-tree__toggle").click()
    expect(dc).to_have_attribute("aria-expanded", "false")
    expect(cluster).to_have_count(0)
    dc.click()
    expect(page).to_have_url(re.compile(r"/datacenters/dc-"))
    expect(dc).to_have_attribute("aria-selected", "true")

    # The keyboard: Right opens, Right again enters, Down moves, Left goes up, Left closes.
    dc.focus()
    page.keyboard.press("ArrowRight")
    expect(dc).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowRight")
    expect(cluster).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(node).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/nodes/{layout['node_id']}$"))
    expect(node).to_have_attribute("aria-selected", "true")
    if node.get_attribute("aria-expanded") == "true":  # open when it has instances
        page.keyboard.press("ArrowLeft")  # Left closes an open branch
        expect(node).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowLeft")  # and goes to the parent of a closed one
    expect(cluster).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(cluster).to_have_attribute("aria-expanded", "false")
    expect(node).to_have_count(0)
    page.keyboard.press("ArrowRight")
    expect(node).to_be_visible()

    # The filter keeps the matches and their ancestors, and says when nothing matches.
    box = page.get_by_role("textbox", name="Filter by name")
    box.fill(layout["node"])
    expect(node).to_be_visible()
    names = page.get_by_role("treeitem").evaluate_all("rows => rows.map(r => r.ariaLabel)")
    assert layout["organization"] in names
    assert layout["node"] in names
    shot(page, "filtered")
    box.fill("no-such-resource-anywhere")
    expect(page.get_by_role("treeitem")).to_have_count(0)
    expect(page.get_by_text("Nothing is named like")).to_be_visible()
    box.fill("")
    expect(org).to_be_visible()


def menu_of(page: Page, name: str) -> Locator:
    return page.get_by_role("menu", name=f"Actions for {name}")


def test_context_menu_by_pointer_and_keyboard(
    signed_in_page: Page, layout: dict[str, Any], shot: ShotFn
) -> None:
    page = signed_in_page
    node = tree_row(page, layout["node"], "node")
    node.click(button="right")
    menu = menu_of(page, layout["node"])
    expect(menu).to_be_visible()
    # The node's actions (its area's useNodeActions), or one disabled "No actions".
    expect(menu.get_by_role("menuitem").first).to_be_visible()
    shot(page, "menu")
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    expect(node).to_be_focused()

    # A press elsewhere closes it too.
    node.click(button="right")
    expect(menu).to_be_visible()
    page.get_by_role("textbox", name="Filter by name").click()
    expect(menu).to_have_count(0)

    # From the keyboard: Shift+F10 and the ContextMenu key on the focused row.
    cluster = tree_row(page, layout["cluster"], "cluster")
    cluster.focus()
    page.keyboard.press("Shift+F10")
    cluster_menu = menu_of(page, layout["cluster"])
    expect(cluster_menu).to_be_visible()
    # Focus moves into the menu: its first item ("No actions", disabled, when it has none).
    expect(cluster_menu.get_by_role("menuitem").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(cluster_menu).to_have_count(0)
    expect(cluster).to_be_focused()
    page.keyboard.press("ContextMenu")
    expect(cluster_menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(cluster).to_be_focused()


def test_the_tree_follows_the_cloud(
    signed_in_page: Page,
    admin: httpx.Client,
    layout: dict[str, Any],
    guest_images: GuestImages,
    shot: ShotFn,
) -> None:
    page = signed_in_page
    node_id, pool = layout["node_id"], guest_images.pool_id
    # This browser's node is opened on first load, so its instances show.
    expect(tree_row(page, layout["node"], "node")).to_be_visible()
    name = "tree-live-1"
    # The page is open before the instance exists: only the event feed can bring it.
    deployed = admin.post("/api/v2/instances", json=deploy_body(node_id, pool, name))
    instance_id = str(succeed(admin, deployed, timeout=300)["target_id"])
    item = tree_row(page, name, "instance")
    expect(item).to_be_visible(timeout=60_000)
    expect(item).to_have_attribute("aria-level", "5")
    expect(item).to_have_accessible_description("Running", timeout=60_000)
    shot(page, "running")

    # The filter finds it by part of its name in another case through the server's name
    # search: with its node closed the tree holds no list of the node's instances to read.
    node = tree_row(page, layout["node"], "node")
    node.locator(".ce-tree__toggle").click()
    expect(item).to_have_count(0)
    box = page.get_by_role("textbox", name="Filter by name")
    box.fill("TREE-LIVE")
    expect(item).to_be_visible()
    expect(node).to_have_attribute("aria-expanded", "true")
    shot(page, "filtered-instance")
    box.fill("")
    node.locator(".ce-tree__toggle").click()
    expect(item).to_be_visible()

    # A menu left open follows the feed too: Destroy, refused while it runs, is offered
    # once the instance stops, without reopening the menu.
    menu = context_menu(page, item, name)
    destroy = menu.get_by_role("menuitem", name="Destroy")
    expect(destroy).to_have_attribute("aria-disabled", "true")
    expect(destroy).to_contain_text("must be in the Stopped state")
    stop = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    assert wait_task(admin, stop.json()["task_id"], timeout=120)["status"] == "succeeded"
    expect(item).to_have_accessible_description("Stopped", timeout=60_000)
    expect(destroy).not_to_have_attribute("aria-disabled", "true")
    expect(destroy).not_to_contain_text("must be in the Stopped state")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    shot(page, "stopped")

    gone = admin.delete(f"/api/v1/instances/{instance_id}", params={"destroy_volumes": "true"})
    succeed(admin, gone, timeout=120)
    expect(item).to_have_count(0, timeout=60_000)


def test_the_focused_row_keeps_focus_when_scrolled_out_of_view(
    signed_in_page: Page, admin: httpx.Client, layout: dict[str, Any]
) -> None:
    """Only the rows in view are in the DOM, but the tree's one tab stop stays there: a
    focused row scrolled away keeps focus, and keys still move from it."""
    page = signed_in_page
    # Enough rows, after the served node's organization, to scroll it far out of view.
    created = [
        admin.post(
            "/api/v1/organizations", json={"name": f"zz-scroll-{n:03d}", "description": ""}
        ).json()["id"]
        for n in range(80)
    ]
    try:
        page.reload()
        org = tree_row(page, layout["organization"], "organization")
        last = tree_row(page, "zz-scroll-079", "organization")
        org.focus()
        expect(org).to_be_focused()
        page.locator(".ce-tree__scroller").evaluate(
            "(box) => { box.scrollTop = box.scrollHeight; }"
        )
        expect(last).to_be_visible()
        expect(org).to_be_focused()  # still in the DOM, still holding focus
        expect(org).to_have_attribute("tabindex", "0")
        page.keyboard.press("End")
        expect(last).to_be_focused()
    finally:
        for organization_id in created:
            admin.delete(f"/api/v1/organizations/{organization_id}")
