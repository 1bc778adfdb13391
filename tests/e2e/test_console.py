"""The instance's Console tab in a real browser, on a real guest: the serial console shows
the guest's boot and drives its root shell, the screen is a live noVNC canvas, a console
taken over elsewhere says why it closed and comes back with Reconnect, and a stopped
instance says a console needs it running."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import CANVAS_DRAWN, serial_text
from tests.guest.build import MARKER
from tests.support.compute import GuestImages, deploy_body, succeed, wait_marker
from tests.support.served_node import Server

#: The guest's shell prints this for `echo CONSOLE-$((40+2))`; the command line it echoes
#: back does not contain it, so seeing it means the guest ran what the browser typed.
ANSWER = "CONSOLE-42"
COMMAND = "echo CONSOLE-$((40+2))"
#: Seconds for a QEMU guest under TCG on shared cores to boot to its marker.
BOOT_TIMEOUT = 120.0


class Guest:
    """The test guest, deployed on the served node and booted."""

    def __init__(self, server: Server, client: httpx.Client, instance_id: str) -> None:
        self.server, self.client, self.id = server, client, instance_id

    def power(self, action: str) -> None:
        succeed(
            self.client,
            self.client.post(f"/api/v1/instances/{self.id}/power", json={"action": action}),
        )

    def open_console(self, kind: str) -> Any:
        """A console WebSocket opened by another client than the browser."""
        from websockets.sync.client import connect

        from cloudenv.tls import client_ssl_context

        grant = self.client.post(f"/api/v1/instances/{self.id}/console", json={"kind": kind})
        assert grant.status_code == 200, grant.text
        url = f"wss://127.0.0.1:{self.server.port}{grant.json()['websocket']}"
        return connect(url, ssl=client_ssl_context(self.server.node.ca), open_timeout=10)


@pytest.fixture(scope="module")
def guest(served_node: Server, guest_images: GuestImages) -> Iterator[Guest]:
    with served_node.admin() as client:
        node_id, pool_id = guest_images.node_id, guest_images.pool_id
        response = client.post(
            "/api/v2/instances", json=deploy_body(node_id, pool_id, "console-e2e", volume_gb=0)
        )
        instance_id = str(succeed(client, response)["target_id"])
        wait_marker(instance_id, timeout=BOOT_TIMEOUT)
        yield Guest(served_node, client, instance_id)
        if client.get(f"/api/v1/instances/{instance_id}").json()["instance"]["state"] != "stopped":
            Guest(served_node, client, instance_id).power("kill")
        succeed(
            client,
            client.delete(f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY"}),
        )


def _open_console_tab(page: Page, guest: Guest) -> None:
    goto(page, f"/instances/{guest.id}")
    page.get_by_role("tab", name="Console").click()
    expect(page).to_have_url(re.compile(rf"/instances/{guest.id}/console$"))


def test_serial_console_shows_the_boot_and_runs_what_is_typed(
    signed_in_page: Page, guest: Guest, shot: ShotFn
) -> None:
    page = signed_in_page
    _open_console_tab(page, guest)
    page.get_by_role("button", name="Serial").click()
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    # The guest printed its marker at boot, before this console opened.
    expect(serial_text(page)).to_contain_text(MARKER)

    page.locator(".ce-console-terminal .xterm").click()
    page.keyboard.press("Enter")
    page.keyboard.type(COMMAND)
    page.keyboard.press("Enter")
    expect(serial_text(page)).to_contain_text(ANSWER)
    expect(page.get_by_role("button", name="Send Ctrl+Alt+Del")).to_have_count(0)
    shot(page, "serial")


def test_screen_shows_the_vms_display(signed_in_page: Page, guest: Guest, shot: ShotFn) -> None:
    page = signed_in_page
    _open_console_tab(page, guest)
    # A virtual machine's console opens on its screen.
    expect(page.get_by_role("button", name="Screen")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Send Ctrl+Alt+Del")).to_be_enabled()

    canvas = page.get_by_role("region", name="VM screen").locator("canvas")
    expect(canvas).to_be_visible()
    # The framebuffer's size came from the VNC server, and the guest drew on it: more than
    # one colour among its pixels (SeaBIOS and the kernel leave text on the VGA console).
    page.wait_for_function(CANVAS_DRAWN, arg=canvas.element_handle())
    # Scaled to fit: the canvas is drawn no wider than the box it sits in.
    box = page.get_by_role("region", name="VM screen").bounding_box()
    drawn = canvas.bounding_box()
    assert box and drawn and drawn["width"] <= box["width"] + 1
    shot(page, "screen")


def test_a_console_taken_over_says_why_and_reconnects_with_a_new_ticket(
    signed_in_page: Page, guest: Guest, shot: ShotFn
) -> None:
    page = signed_in_page
    tickets: list[str] = []

    def count_tickets(request: Request) -> None:
        if request.method == "POST" and request.url.endswith(f"/instances/{guest.id}/console"):
            tickets.append(request.url)

    page.on("request", count_tickets)
    _open_console_tab(page, guest)
    page.get_by_role("button", name="Serial").click()
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()

    # Another client opens the serial console: the node hands the line to it and ends ours.
    with guest.open_console("serial"):
        expect(page.get_by_text("Disconnected", exact=True)).to_be_visible()
        expect(page.get_by_text("closed the connection")).to_be_visible()
        shot(page, "taken-over")
    opened = len(tickets)

    page.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    expect(serial_text(page)).to_contain_text(MARKER)
    assert len(tickets) == opened + 1  # each connection spends a ticket of its own


def test_a_refused_screen_shows_the_servers_reason(
    signed_in_page: Page, guest: Guest, shot: ShotFn
) -> None:
    """The node refuses a forged ticket while noVNC is still handshaking: the page shows the
    node's reason, and noVNC's own complaint doesn't reach the browser console (the page
    fixture fails the test on any console error)."""
    page = signed_in_page

    def forge(route: Route) -> None:
        ticket = route.fetch().json()
        ticket["websocket"] = re.sub(r"token=[^&]+", "token=forged", ticket["websocket"])
        route.fulfill(json=ticket)

    page.route(f"**/api/v1/instances/{guest.id}/console", forge)
    _open_console_tab(page, guest)
    expect(page.get_by_text("Disconnected", exact=True)).to_be_visible()
    expect(page.get_by_text("This console link is not valid")).to_be_visible()
    shot(page, "refused")

    page.unroute(f"**/api/v1/instances/{guest.id}/console")
    page.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()


def test_the_serial_console_follows_a_restart(
    signed_in_page: Page, guest: Guest, shot: ShotFn
) -> None:
    """The seed's advice, "use the Console tab to monitor the restart progress": a console
    left open through a restart shows the guest booting again."""
    page = signed_in_page
    _open_console_tab(page, guest)
    page.get_by_role("button", name="Serial").click()
    expect(serial_text(page)).to_contain_text(MARKER)
    page.locator(".ce-console-terminal .xterm").click()
    page.keyboard.type("clear")
    page.keyboard.press("Enter")
    expect(serial_text(page)).not_to_contain_text(MARKER)

    guest.power("restart")
    expect(serial_text(page)).to_contain_text(MARKER, timeout=BOOT_TIMEOUT * 1000)
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    shot(page, "restarted")


def test_a_stopped_instance_offers_no_console(
    signed_in_page: Page, guest: Guest, shot: ShotFn
) -> None:
    page = signed_in_page
    _open_console_tab(page, guest)
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    guest.power("kill")
    # The event feed brings the new state; the console closes without a reload.
    expect(page.get_by_text("The console needs the instance running")).to_be_visible()
    expect(page.get_by_role("button", name="Reconnect")).to_have_count(0)
    expect(page.get_by_role("button", name="Screen")).to_have_count(0)
    shot(page, "stopped")
