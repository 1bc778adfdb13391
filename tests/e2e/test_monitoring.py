"""Monitoring, health and licensing in a real browser against a real node, as the seed's
"Monitoring and Metrics", "Set License Key" and "Check Licensing Status" walk them:

- The cluster page: Cluster Health, Number of Nodes, License Status and the Deployment
  Overview (CPU, memory and storage in use, total vCPUs and memory, deployment duration,
  cluster mode), each as the API says.
- The node page: its health, and CPU, memory, storage, network and load charts drawn from
  the agent's samples, for the last hour and, through the range picker, the last day.
- The instance page of the running test guest: Connected, Memory Allocated, Instance Type,
  Deployment Duration and its CPU, memory and network charts with data; force-stopped, it
  turns Disconnected without a reload.
- Set License Key (right-click the node): the current key and its validity; garbage and
  another node's key are refused with the server's reason under the box and change
  nothing; a key issued with ``cloudenv license issue`` for the node is accepted, the
  dialog closes, and the node's Summary, the cluster's License Status card and its Cluster
  tab say Valid.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from cloudenv.ids import Prefix, new_id
from cloudenv.services.licensing import keys
from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import CANVAS_DRAWN, node_menu, whole_page_shot
from tests.support.compute import GuestImages, deploy_body, instance, succeed
from tests.support.served_node import hermetic_env, output_of, run_cli

#: Seconds for the agent (sampling every 10 s) to record samples the charts can draw,
#: and for a guest to boot or stop under TCG on shared cores.
SAMPLE_TIMEOUT = 90.0
GUEST_TIMEOUT = 120.0


def _get(admin: httpx.Client, path: str, **params: str) -> Any:
    response = admin.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _wait(check: Callable[[], bool], what: str, timeout: float = SAMPLE_TIMEOUT) -> None:
    """The API reaches what ``check()`` tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1.0)
    raise AssertionError(f"never saw {what}")


def _rows(series: list[dict[str, Any]], name: str) -> int:
    return next((len(s["data"]) for s in series if s["name"] == name), 0)


def _term(scope: Locator, term: str) -> Locator:
    """The value a Details list gives ``term`` (its <dd>)."""
    dt = scope.locator("dt").filter(has_text=re.compile(f"^{re.escape(term)}$"))
    return dt.locator("xpath=following-sibling::dd[1]")


def _card(page: Page, title: str) -> Locator:
    return page.locator(".pf-v6-c-card").filter(
        has=page.locator(".pf-v6-c-card__title", has_text=re.compile(f"^{re.escape(title)}$"))
    )


def _expect_chart_drawn(page: Page, title: str) -> None:
    """The chart ``title`` has data: its caption gives a newest value and its canvas has
    lines on it (more than one colour)."""
    figure = page.get_by_role("figure", name=title)
    expect(figure).to_contain_text(re.compile(r"Latest: .*\d"), timeout=SAMPLE_TIMEOUT * 1000)
    canvas = figure.locator("canvas")
    expect(canvas).to_be_visible()
    page.wait_for_function(CANVAS_DRAWN, arg=canvas.element_handle(), timeout=15_000)


# Cluster and node pages ---------------------------------------------------------------------------


def test_cluster_and_node_pages_show_health_overview_and_charts(
    signed_in_page: Page, admin: httpx.Client, node: dict[str, Any], shot: ShotFn
) -> None:
    page = signed_in_page
    node_id, cluster_id = node["id"], node["cluster_id"]
    main = page.get_by_role("main")
    # The node's agent has recorded a few samples (every 10 s) for the charts.
    _wait(
        lambda: _rows(_get(admin, f"/api/v1/nodes/{node_id}/metrics", interval="1h"), "cpu") >= 2,
        "two CPU samples of the node",
    )

    cluster = _get(admin, f"/api/v1/clusters/{cluster_id}")["cluster"]
    hardware = _get(admin, f"/api/v1/clusters/{cluster_id}/hardware")
    goto(page, f"/clusters/{cluster_id}")
    health = _card(page, "Cluster Health")
    expect(health).to_contain_text(cluster["health_status"].capitalize())
    for reason in cluster["health_reasons"]:
        expect(health).to_contain_text(reason)
    expect(_card(page, "Number of Nodes")).to_contain_text(str(cluster["node_count"]))
    overview = _card(page, "Deployment Overview")
    # CPU, memory and storage in use: bars with a share, read from the cluster's metrics.
    for resource in ("CPU", "Memory", "Storage"):
        bar = overview.get_by_role("progressbar", name=resource, exact=True)
        expect(bar).to_have_attribute("aria-valuetext", re.compile(r"^\d+(\.\d)? % of "))
    expect(_term(overview, "Total vCPUs")).to_have_text(str(hardware["vcpus"]))
    expect(_term(overview, "Total memory")).to_have_text(f"{hardware['memory_gb']} GB")
    expect(_term(overview, "Total storage")).to_have_text(f"{hardware['storage_gb']} GB")
    expect(_term(overview, "Deployment duration")).to_have_text(re.compile(r"\d+ (min|h|d)"))
    expect(_term(overview, "Cluster mode")).to_have_text(
        "Standalone" if cluster["standalone"] else re.compile("^Clustered")
    )
    licensing = _get(admin, f"/api/v1/clusters/{cluster_id}/licensing")
    expect(_term(_card(page, "License Status"), "Status")).to_have_text(
        licensing["cluster"]["status"].capitalize()
    )
    whole_page_shot(page, shot, "cluster")

    # The node: its health and its charts, with data, for the last hour.
    goto(page, f"/nodes/{node_id}")
    detail = _get(admin, f"/api/v1/nodes/{node_id}")["node"]
    summary = _card(page, "Summary")
    expect(_term(summary, "Health")).to_contain_text(detail["health_status"].capitalize())
    monitoring = _card(page, "Monitoring")
    expect(monitoring.get_by_role("button", name="Last hour")).to_have_attribute(
        "aria-pressed", "true"
    )
    for title in ("CPU Usage", "Memory Usage", "Storage Usage", "Network Traffic", "Load Average"):
        _expect_chart_drawn(page, title)
    whole_page_shot(page, shot, "node-1h")

    # Another range: the charts are asked for the last day and drawn again.
    with page.expect_response(lambda r: "/metrics?interval=1d" in r.url) as answer:
        monitoring.get_by_role("button", name="Last day").click()
    assert answer.value.status == 200
    expect(monitoring.get_by_role("button", name="Last day")).to_have_attribute(
        "aria-pressed", "true"
    )
    for title in ("CPU Usage", "Memory Usage"):
        _expect_chart_drawn(page, title)
    expect(main.get_by_role("figure", name="CPU Usage")).to_be_visible()
    whole_page_shot(page, shot, "node-1d")


# The instance page --------------------------------------------------------------------------------


@pytest.fixture
def running_guest(guest_images: GuestImages, admin: httpx.Client) -> Iterator[dict[str, Any]]:
    """The test guest deployed (and so running); destroyed with its volumes afterwards."""
    body = deploy_body(guest_images.node_id, guest_images.pool_id, "e2e-monitoring-guest")
    instance_id = str(succeed(admin, admin.post("/api/v2/instances", json=body))["target_id"])
    yield instance(admin, instance_id)
    if instance(admin, instance_id)["state"] != "stopped":
        admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    _wait(
        lambda: (
            instance(admin, instance_id)["state"] == "stopped"
            and instance(admin, instance_id)["current_task_id"] is None
        ),
        "the guest stopped",
        GUEST_TIMEOUT,
    )
    admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": True}
    )


def test_instance_page_shows_connection_and_charts(
    signed_in_page: Page, admin: httpx.Client, running_guest: dict[str, Any], shot: ShotFn
) -> None:
    page, instance_id = signed_in_page, running_guest["id"]
    history = f"/api/v1/instances/{instance_id}/metrics/history"
    _wait(lambda: _rows(_get(admin, history, interval="1h"), "cpu") >= 2, "two guest samples")

    goto(page, f"/instances/{instance_id}")
    summary = _card(page, "Summary")
    expect(_term(summary, "Name")).to_have_text(running_guest["name"])
    expect(_term(summary, "Status")).to_have_text("Connected")
    memory = running_guest["memory"]
    expect(_term(summary, "Memory Allocated")).to_contain_text(f"{memory} MB")
    expect(_term(summary, "Instance Type")).to_have_text("Virtual machine (QEMU)")
    expect(_term(summary, "Deployment Duration")).to_have_text(re.compile(r"minute"))
    for title in ("CPU Usage", "Memory Usage", "Network Traffic"):
        _expect_chart_drawn(page, title)
    whole_page_shot(page, shot, "instance-connected")

    # Force-stopped: its node stops sampling it, and the page says Disconnected, live.
    succeed(admin, admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"}))
    expect(_term(summary, "Status")).to_have_text("Disconnected", timeout=GUEST_TIMEOUT * 1000)
    assert instance(admin, instance_id)["state"] == "stopped"
    # What it recorded while it ran stays on its charts.
    _expect_chart_drawn(page, "CPU Usage")
    whole_page_shot(page, shot, "instance-disconnected")


# Set License Key ----------------------------------------------------------------------------------


@pytest.fixture
def issuer(tmp_path: Path, admin: httpx.Client) -> Iterator[Path]:
    """An issuer key pair made with ``cloudenv license keygen``, trusted by the node for
    the test (through the API, as ``cloudenv license trust`` does); its private key file."""
    private = tmp_path / "issuer.pem"
    made = run_cli(["license", "keygen", str(private)], hermetic_env(tmp_path / "home"))
    assert made.returncode == 0, output_of(made)
    public = private.with_name("issuer.pem.pub").read_text().strip()
    created = admin.post("/api/v1/license_issuers", json={"public_key": public, "name": "e2e"})
    assert created.status_code in (200, 201), created.text
    yield private
    admin.delete(f"/api/v1/license_issuers/{created.json()['id']}")


def _issue(issuer: Path, node: str, tmp_path: Path) -> str:
    """A key for ``node`` signed with ``cloudenv license issue``, valid for 90 days."""
    out = tmp_path / f"key-{len(list(tmp_path.iterdir()))}.txt"
    args = ["license", "issue", "--issuer-key", str(issuer), "--node", node, "--days", "90"]
    made = run_cli([*args, "--out", str(out)], hermetic_env(tmp_path / "home"))
    assert made.returncode == 0, output_of(made)
    return out.read_text().strip()


def test_set_license_key_through_the_modal(
    signed_in_page: Page,
    admin: httpx.Client,
    node: dict[str, Any],
    issuer: Path,
    tmp_path: Path,
    shot: ShotFn,
) -> None:
    page = signed_in_page
    node_id, cluster_id = node["id"], node["cluster_id"]
    license_path = f"/api/v1/nodes/{node_id}/license"
    before = _get(admin, license_path)
    good = _issue(issuer, node_id, tmp_path)
    # Signed by the trusted issuer, but for another node.
    elsewhere = _issue(issuer, new_id(Prefix.NODE), tmp_path)
    # Expired yesterday (the CLI refuses to sign such a key; the service makes one).
    expired = keys.issue(
        keys.load_private_key(issuer.read_bytes()),
        node=node_id,
        expiry=datetime.now(UTC) - timedelta(days=1),
        issued=datetime.now(UTC) - timedelta(days=30),
    )

    goto(page, f"/clusters/{cluster_id}")
    dialog = page.get_by_role("dialog", name="Set License Key")
    node_menu(page, node["name"]).get_by_role("menuitem", name="Set License Key").click()
    current = dialog.get_by_role("term").filter(has_text="Current license key")
    expect(current).to_be_visible()
    validity = _term(dialog, "Validity")
    expect(validity).to_contain_text(before["status"].capitalize())
    box = dialog.get_by_role("textbox", name="License Key", exact=True)

    # Garbage, another node's key, an expired key: each refused with the server's reason
    # under the box; the dialog stays and the node's key is unchanged.
    for key, reason in (
        ("not-a-key", "is not a cloudenv license key"),
        (elsewhere, f"not {node_id}"),
        (expired, "expired on"),
    ):
        box.fill(key)
        dialog.get_by_role("button", name="Confirm").click()
        expect(box).to_have_attribute("aria-invalid", "true")
        expect(box).to_have_accessible_description(re.compile(re.escape(reason)))
        assert _get(admin, license_path) == before
    shot(page, "license-refused-expired")
    box.fill("not-a-key")
    dialog.get_by_role("button", name="Confirm").click()
    expect(box).to_have_accessible_description(re.compile("is not a cloudenv license key"))
    shot(page, "license-refused-garbage")

    # The node's own key: accepted, the dialog closes, the API has it.
    box.fill(good)
    expect(box).to_have_attribute("aria-invalid", "false")
    shot(page, "license-filled")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    after = _get(admin, license_path)
    assert after["key"] == good and after["valid"] is True and after["status"] == "valid"

    # The cluster's License Status card and Cluster tab follow (by the event feed).
    card = _card(page, "License Status")
    expect(_term(card, "Status")).to_have_text("Valid")
    expect(_term(card, "Licensed nodes")).to_contain_text("1 of")
    whole_page_shot(page, shot, "cluster-licensed")
    card.get_by_role("link", name="View on the Cluster tab").click()
    row = (
        page.get_by_role("grid", name="Node licenses")
        .get_by_role("row")
        .filter(has=page.get_by_role("link", name=node["name"]))
    )
    expect(row).to_contain_text("Valid")
    expect(row.get_by_role("gridcell").nth(3)).not_to_have_text("—")  # its expiry
    shot(page, "cluster-tab-licensed")

    # Opened again (from the node's own page), it shows the key now set as valid.
    goto(page, f"/nodes/{node_id}")
    expect(_term(_card(page, "Summary"), "License")).to_contain_text("Valid")
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("menuitem", name="Set License Key").click()
    expect(_term(dialog, "Validity")).to_contain_text("Valid")
    expect(dialog.get_by_role("textbox", name="Current key")).to_have_value(good)
    shot(page, "license-current")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
