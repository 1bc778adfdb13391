"""The node's Console tab in a real browser against a served node: pceadmin (the root
organization's administrator, Linux user root on the node) gets a root shell on the node
in xterm.js and runs what is typed; a refused ticket shows the server's words instead.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import terminal_text
from tests.support.served_node import Server

#: The shell prints this alone on a line for `echo $((6*7))`; the command line it echoes
#: back does not hold it, so a row that is exactly 42 means the shell ran what was typed.
ANSWER = re.compile(r"^\s*42\s*$")
COMMAND = "echo $((6*7))"


def _open_console_tab(page: Page, node_id: str) -> None:
    goto(page, f"/nodes/{node_id}")
    page.get_by_role("tab", name="Console").click()
    expect(page).to_have_url(re.compile(rf"/nodes/{node_id}/console$"))


def test_the_console_tab_is_a_root_shell_on_the_node(
    signed_in_page: Page, served_node: Server, shot: ShotFn
) -> None:
    page = signed_in_page
    node_id = str(served_node.health["id"])
    _open_console_tab(page, node_id)
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    expect(page.get_by_text("as root")).to_be_visible()
    # The prompt is root's: the shell runs as the user's Linux user, here root.
    expect(terminal_text(page, "Node console")).to_contain_text("root@")

    page.get_by_role("region", name="Node console").locator(".xterm").click()
    page.keyboard.type(COMMAND)
    page.keyboard.press("Enter")
    rows = terminal_text(page, "Node console").locator(":scope > div")
    expect(rows.filter(has_text=ANSWER)).to_have_count(1)
    # The PTY has the browser terminal's size (fitted to its box), not the 80x24 it starts at.
    page.keyboard.type('echo "SIZE=$(stty size)"')
    page.keyboard.press("Enter")
    size = rows.filter(has_text=re.compile(r"^\s*SIZE=\d+ \d+\s*$"))
    expect(size).to_have_count(1)
    rows_cols = size.inner_text().strip().removeprefix("SIZE=").split()
    assert int(rows_cols[1]) > 80 and rows_cols != ["24", "80"], rows_cols
    shot(page, "shell")

    # Typing exit ends the shell; the tab says so and Reconnect opens a new one.
    page.keyboard.type("exit")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Disconnected", exact=True)).to_be_visible()
    expect(page.get_by_text("The shell as Linux user root on node")).to_be_visible()
    shot(page, "ended")
    page.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()


def test_a_refused_ticket_shows_the_servers_message(
    signed_in_page: Page, served_node: Server, shot: ShotFn
) -> None:
    """What a user whose ticket is refused (403) reads: the server's message, not a blank
    terminal. The refusal is played by the browser (the API's own 403s are unit-tested)."""
    page = signed_in_page
    node_id = str(served_node.health["id"])
    message = "ada's policies don't allow node.console; ask an administrator of the organization."

    def refuse(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        route.fulfill(
            status=403,
            content_type="application/json",
            body=json.dumps({"code": 403, "message": message}),
        )

    page.route(f"**/api/v1/nodes/{node_id}/console", refuse)
    _open_console_tab(page, node_id)
    expect(page.get_by_text("Disconnected", exact=True)).to_be_visible()
    expect(page.get_by_text(message)).to_be_visible()
    shot(page, "refused")


def _answer_access(page: Page, node_id: str, access: dict[str, object]) -> None:
    """The node's answer to "may I open a shell here", as another user would get it."""

    def answer(route: Route) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        route.fulfill(status=200, content_type="application/json", body=json.dumps(access))

    page.route(f"**/api/v1/nodes/{node_id}/console", answer)


def test_the_tab_shows_only_to_users_who_may_open_it(
    signed_in_page: Page, served_node: Server, shot: ShotFn
) -> None:
    page = signed_in_page
    node_id = str(served_node.health["id"])
    _answer_access(page, node_id, {"permitted": False, "linux_user": None, "message": "no"})
    goto(page, f"/nodes/{node_id}")
    expect(page.get_by_role("tab", name="Tasks")).to_be_visible()
    expect(page.get_by_role("tab", name="Console")).to_have_count(0)


def test_a_user_without_a_linux_user_reads_why(
    signed_in_page: Page, served_node: Server, shot: ShotFn
) -> None:
    page = signed_in_page
    node_id = str(served_node.health["id"])
    message = (
        "ada has no Linux user to open a shell on node vm as; an administrator must set one first."
    )
    _answer_access(page, node_id, {"permitted": True, "linux_user": None, "message": message})
    tickets: list[str] = []
    page.on(
        "request",
        lambda r: tickets.append(r.url) if r.method == "POST" and "/console" in r.url else None,
    )
    _open_console_tab(page, node_id)
    expect(page.get_by_text("No shell can be opened on this node")).to_be_visible()
    expect(page.get_by_text(message)).to_be_visible()
    expect(page.get_by_role("region", name="Node console")).to_have_count(0)
    assert tickets == []  # nothing is asked for that would be refused
    shot(page, "no-linux-user")
