"""Browser tests of the web UI: Playwright driving Debian's chromium against a real node.

The node is set up and served exactly as the integration tests do it
(``tests/support/served_node.py``: ``cloudenv init``, then ``cloudenv serve`` over TLS in a
subprocess, with real libvirt), once per xdist worker, in a data dir QEMU can reach
(``tests/support/compute.py``) so the tests can run guests on it: it is ``real_node`` of
tests/conftest.py, which the compute integration tests share too. It serves the UI's
build (``make ui``); ``CLOUDENV_UI_DIR`` points it at another one. ``guest_images``
(tests/conftest.py) has the test guest's images on it.

Fixtures:

- ``served_node``: the running node (``Server``: ``.url``, ``.admin()`` for API set-up).
- ``browser``: headless chromium (``/usr/bin/chromium``, never Playwright's download), one
  per module, without features a headless browser only pays for (NEEDLESS_FEATURES).
- ``page``: a fresh page (own context: no cookies shared between tests) at 1280x800 whose
  ``goto("/...")`` is relative to the node; the test FAILS on any uncaught page error or
  console error (a CSP violation, a failed script or stylesheet, a broken request)
  seen while it ran. The browser's own log line for an API call answered 4xx is not an
  error of the page: sign-in and forms get those on purpose, and the UI shows them.
  An API answer of 5xx is.
- ``signed_in_page``: ``page`` signed in as pceadmin through the sign-in form.
- ``new_page``: ``new_page()`` opens another page in a browser context of its own (its own
  cookies: another user's session beside the admin's), watched for errors like ``page``.
- ``shot``: ``shot(page, "name")`` saves ``tests/e2e/output/<test>/<name>.png``, with CSS
  transitions and animations run to their end.

Every test here is marked ``integration`` and ``e2e`` (``-m "not integration"`` leaves
them out). A failed test leaves ``failure.png`` of its page in its output directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Response as PageResponse

from cloudenv.ui import ui_dir
from tests.support.served_node import ADMIN_PASSWORD, Server

E2E_DIR = Path(__file__).resolve().parent
OUTPUT_DIR = E2E_DIR / "output"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
#: Seconds for one sign-in through the form (argon2 at full cost, 2 shared cores).
SIGN_IN_TIMEOUT = 30.0
#: Chromium's console line for a response with an error status (not a page error itself).
_HTTP_STATUS_LINE = re.compile(
    r"^Failed to load resource: the server responded with a status of (\d{3})"
)

ShotFn = Callable[[Page, str], Path]


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.e2e)


# The node -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def served_node(real_node: Server) -> Server:
    """The worker's real node (tests/conftest.py), which must serve the UI's build."""
    build = ui_dir()
    if not (build / "index.html").is_file():
        pytest.fail(f"The web UI is not built ({build} has no index.html): run 'make ui'.")
    return real_node


@pytest.fixture(scope="module")
def admin(served_node: Server) -> Iterator[httpx.Client]:
    """pceadmin's API client on the served node: what a test arranges before the browser
    acts and checks after it, without going through the page."""
    with served_node.admin() as client:
        client.timeout = httpx.Timeout(60.0)  # a loaded machine answers slowly, not wrongly
        yield client


@pytest.fixture(scope="module")
def node(served_node: Server, admin: httpx.Client) -> dict[str, Any]:
    """The served node as its detail page's API gives it."""
    response = admin.get(f"/api/v1/nodes/{served_node.health['id']}")
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()["node"]
    return detail


# The browser --------------------------------------------------------------------------------------


# Playwright and the browser last one module, not the session: Playwright's sync API keeps
# an asyncio loop running in this thread while it is open, so a unit test that an xdist
# worker runs after an e2e module (asyncio.run) would fail if it stayed open.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        # Shared cores under load: the default 5 s for an expectation is too short.
        expect.set_options(timeout=15_000)
        yield driver


#: Chromium features that only cost CPU here: the address bar's suggestions popup is a WebUI
#: page that chromium renders, in a process of its own, for every window it opens (so for
#: every test's context: ~0.8 s of a core each, measured), though a headless browser never
#: shows an address bar.
NEEDLESS_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup")
_DISABLE_FEATURES = "--disable-features="
#: Playwright's own ``--disable-features=...`` switch, once read (see _playwright_switch).
_playwright_switches: list[str | None] = []


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += children.get(pid, [])
    return found


def _playwright_switch(playwright: Playwright) -> str | None:
    """The ``--disable-features=...`` switch Playwright launches chromium with (its own list
    of features, which changes between versions). Chromium keeps only the last such switch,
    so one adding NEEDLESS_FEATURES must repeat it: read once, from the command line of a
    browser launched to see it; None if it can't be found (chromium then keeps them)."""
    if not _playwright_switches:
        probe = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        switch = None
        try:
            for pid in _descendants(os.getpid()):
                try:
                    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
                except (OSError, UnicodeDecodeError):
                    continue
                if "--remote-debugging-pipe" in args:  # the browser process Playwright drives
                    switch = next((a for a in args if a.startswith(_DISABLE_FEATURES)), None)
                    break
        finally:
            probe.close()
        _playwright_switches.append(switch)
    return _playwright_switches[0]


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    args, ignored = list(CHROMIUM_ARGS), []
    switch = _playwright_switch(playwright)
    if switch:
        ignored.append(switch)
        args.append(",".join([switch, *NEEDLESS_FEATURES]))
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=args, ignore_default_args=ignored
    )
    yield browser
    browser.close()


@dataclass
class PageErrors:
    """What went wrong in a page while a test ran, in the words the browser used."""

    errors: list[str] = field(default_factory=list)
    #: Console errors a test causes on purpose (a request it aborts), by a part of their text.
    expected: list[str] = field(default_factory=list)

    def on_page_error(self, error: PlaywrightError) -> None:
        self.errors.append(f"uncaught: {error.message}\n{error.stack or ''}".rstrip())

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "") if message.location else ""
        status = _HTTP_STATUS_LINE.match(message.text)
        if status and 400 <= int(status.group(1)) < 500 and _is_api(url):
            return  # an API refusal: the UI shows it; a 5xx is caught by on_response
        if any(part in message.text for part in self.expected):
            return
        if _NETWORK_CHANGED in message.text:
            # Chromium aborts its requests in flight whenever the host's interfaces change,
            # which the network and container tests running beside this one do (veths, OVS
            # bridges); the UI's queries retry such failures, so the page is not at fault.
            return
        self.errors.append(f"console error: {message.text} (at {url or 'unknown'})")

    def on_response(self, response: PageResponse) -> None:
        if response.status >= 500 and _is_api(response.url):
            self.errors.append(f"{response.request.method} {response.url}: {response.status}")


_NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"
#: Navigations a network change may abort in a row before the test fails.
GOTO_ATTEMPTS = 3


def goto(page: Page, url: str) -> PageResponse | None:
    """``page.goto(url)``, again when Chromium aborted it for a change of the host's
    interfaces (ERR_NETWORK_CHANGED: the network tests beside this one make veths), as a
    user would reload; any other failure at once."""
    attempt = 1
    while True:
        try:
            return page.goto(url)
        except PlaywrightError as exc:
            if _NETWORK_CHANGED not in str(exc) or attempt == GOTO_ATTEMPTS:
                raise
            attempt += 1


def _is_api(url: str) -> bool:
    return urlsplit(url).path.startswith("/api/")


_PAGE_ERRORS = pytest.StashKey[PageErrors]()
_PAGE = pytest.StashKey[Page]()


@pytest.fixture
def page(browser: Browser, served_node: Server, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(
        base_url=served_node.url, ignore_https_errors=True, viewport=VIEWPORT
    )
    page = context.new_page()
    watch = PageErrors()
    page.on("pageerror", watch.on_page_error)
    page.on("console", watch.on_console)
    page.on("response", watch.on_response)
    request.node.stash[_PAGE_ERRORS] = watch
    request.node.stash[_PAGE] = page
    yield page
    context.close()


@pytest.fixture
def page_errors(page: Page, request: pytest.FixtureRequest) -> PageErrors:
    """The test page's error watch, for a test that makes a request fail on purpose."""
    return request.node.stash[_PAGE_ERRORS]


@pytest.fixture
def new_page(
    browser: Browser, served_node: Server, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Page]]:
    contexts: list[BrowserContext] = []
    watch = request.node.stash.setdefault(_PAGE_ERRORS, PageErrors())

    def open_page() -> Page:
        context = browser.new_context(
            base_url=served_node.url, ignore_https_errors=True, viewport=VIEWPORT
        )
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", watch.on_page_error)
        page.on("console", watch.on_console)
        page.on("response", watch.on_response)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a test whose page had an uncaught error or a console error, even when all its
    own checks passed; the errors are listed in the failure."""
    result = yield
    watch = item.stash.get(_PAGE_ERRORS, None)
    if watch and watch.errors:
        raise AssertionError(
            "The browser reported errors during the test:\n" + "\n".join(watch.errors)
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure, keep a screenshot of the page and list its browser errors."""
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        page = item.stash.get(_PAGE, None)
        if page is not None and not page.is_closed():
            path = _output_dir(item) / "failure.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("e2e", f"screenshot of the page: {path}"))
            except PlaywrightError as exc:
                report.sections.append(("e2e", f"no screenshot: {exc.message}"))
    return report


def _output_dir(item: pytest.Item) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name).strip("-")
    directory = OUTPUT_DIR / name
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> ShotFn:
    """``shot(page, "tree")`` saves the whole page as tests/e2e/output/<test>/tree.png."""
    directory = _output_dir(request.node)

    def save(page: Page, name: str) -> Path:
        path = directory / f"{name}.png"
        # Transitions and fade-ins finished: an error just shown is at its full colour, a
        # button just enabled no longer looks disabled.
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return save


# Signing in ---------------------------------------------------------------------------------------


def sign_in(page: Page, username: str = "pceadmin", password: str = ADMIN_PASSWORD) -> None:
    """Sign in through the form, as a user would: open the UI (which sends a signed-out
    browser to the sign-in page), fill Username and Password, press Log in, and wait
    until the UI has left the sign-in page."""
    goto(page, "/")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    try:
        page.wait_for_url(
            lambda url: not urlsplit(url).path.startswith("/signin"),
            timeout=SIGN_IN_TIMEOUT * 1000,
        )
    except PlaywrightError:
        shown = page.get_by_role("alert").all_inner_texts()
        raise AssertionError(
            f"Signing in as {username} did not leave the sign-in page; it shows: {shown}"
        ) from None


@pytest.fixture
def signed_in_page(page: Page) -> Page:
    sign_in(page)
    return page
