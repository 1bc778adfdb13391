"""Networking in a real browser against a real node on Open vSwitch, as the seed's "Network
Management" chapter walks it:

- The node's Network tab → vSwitches: Create vSwitch refuses a name off the svswitchX rule
  before asking the server, then creates one with no uplink (Uplink Count 0); the Edit icon's
  Uplinks drop-down offers the node's unused NIC (a veth the test makes in the root
  namespace), Confirm, and the Uplink Count column says 1; OVS has the bridge with that port.
- Ports: Create Port Group on that vSwitch refuses VLAN 4095 locally, then makes an access
  port group on VLAN 10. NICs lists the veth as the vSwitch's.
- The deploy wizard's Networking step puts the test guest's interface on that port group;
  its OVS port carries VLAN 10, the instance's Resources tab lists the NIC, and the port
  group's row names it (its X disabled meanwhile).
- Then the instance goes, and the port group and the vSwitch are deleted with the typed
  DESTROY: the bridge is gone from OVS, the veth unused again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ShotFn, goto
from tests.e2e.support import fill_general, node_menu
from tests.support.compute import GuestImages, wait_task
from tests.support.ovs import Lab, vsctl

#: Seconds for the agent to report a new NIC: it reads them about once a minute
#: (agent/loop.py NICS_SECONDS), and after each network sync.
NIC_TIMEOUT = 120.0
#: Seconds for the node's agent to apply a vSwitch change to OVS, on 2 shared cores.
SYNC_TIMEOUT = 90.0
#: A deploy under TCG on shared cores: volumes, define, boot.
DEPLOY_TIMEOUT = 180_000
INSTANCE = "e2e-net-guest"
GROUP = "e2e-prod"


def _wait(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"never saw {what}")


def _nics(admin: httpx.Client, node_id: str) -> dict[str, dict[str, Any]]:
    response = admin.get(f"/api/v1/nodes/{node_id}/network/interfaces")
    assert response.status_code == 200, response.text
    return {n["name"]: n for n in response.json()["networks"]}


def _vswitches(admin: httpx.Client, node_id: str) -> dict[str, dict[str, Any]]:
    response = admin.get("/api/v1/networks/vswitches/standalone", params={"node_id": node_id})
    assert response.status_code == 200, response.text
    return {v["name"]: v for v in response.json()}


def _port_groups(admin: httpx.Client, node_id: str) -> dict[str, dict[str, Any]]:
    response = admin.get(
        "/api/v1/networks/vswitches/standalone/port_groups", params={"node_id": node_id}
    )
    assert response.status_code == 200, response.text
    return {g["name"]: g for g in response.json()}


def _bridges() -> set[str]:
    return set(vsctl("list-br").split())


def _ports(bridge: str) -> set[str]:
    return set(vsctl("list-ports", bridge).split()) if bridge in _bridges() else set()


def _confirm_destroy(page: Page) -> None:
    dialog = page.get_by_role("dialog")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("DESTROY")
    confirm.click()
    expect(dialog).to_be_hidden()


def _destroy_instance(admin: httpx.Client, instance_id: str) -> None:
    reply = admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
    if reply.status_code == 202:
        wait_task(admin, reply.json()["task_id"])
    reply = admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": "true"}
    )
    if reply.status_code == 202:
        wait_task(admin, reply.json()["task_id"])


def _remove_through_api(admin: httpx.Client, node_id: str, name: str | None) -> None:
    vswitch = _vswitches(admin, node_id).get(name or "")
    if vswitch is None:
        return
    base = f"/api/v1/networks/vswitches/standalone/{vswitch['id']}"
    admin.delete(f"{base}/port_groups/{GROUP}", params={"confirm": "DESTROY"})
    admin.delete(base, params={"confirm": "DESTROY"})


def test_vswitch_port_group_and_deploy_onto_it(
    signed_in_page: Page,
    admin: httpx.Client,
    node: dict[str, Any],
    guest_images: GuestImages,
    lab: Lab,
    shot: ShotFn,
) -> None:
    page, node_id = signed_in_page, node["id"]
    uplink, _peer = lab.veth("u")
    name = lab.bridge_name()  # svswitchN, removed by the lab whatever happens
    made_switch: str | None = None
    instance_id: str | None = None
    try:
        # The agent reports the new NIC as unused.
        _wait(
            lambda: _nics(admin, node_id).get(uplink, {}).get("unused") is True,
            f"{uplink} reported as an unused NIC",
            NIC_TIMEOUT,
        )

        # Network → vSwitches → Create vSwitch: a name off the rule is refused here.
        goto(page, f"/nodes/{node_id}/network")
        expect(page.get_by_role("tab", name="vSwitches")).to_have_attribute("aria-selected", "true")
        page.get_by_role("button", name="Create vSwitch").click()
        dialog = page.get_by_role("dialog", name="Create vSwitch")
        name_field = dialog.get_by_role("textbox", name="Name")
        name_field.fill("vswitch1")
        expect(name_field).to_have_accessible_description(
            re.compile(r"^The name must be svswitchX")
        )
        dialog.get_by_role("button", name="Create").click()
        expect(dialog).to_be_visible()  # not sent
        shot(page, "1-create-vswitch-bad-name")
        assert "vswitch1" not in _vswitches(admin, node_id)
        name_field.fill(name)
        expect(name_field).not_to_have_accessible_description(re.compile("must be"))
        dialog.get_by_role("textbox", name="Description").fill("made by the e2e test")
        shot(page, "2-create-vswitch")
        dialog.get_by_role("button", name="Create").click()
        expect(dialog).to_be_hidden()
        made_switch = name

        table = page.get_by_role("grid", name="vSwitches")
        row = table.get_by_role("row").filter(has_text=name)
        uplink_count = row.locator("td[data-label='Uplink Count']")
        expect(uplink_count).to_have_text("0")
        expect(row).to_contain_text("Ready", timeout=SYNC_TIMEOUT * 1000)
        assert name in _bridges()
        vswitch = _vswitches(admin, node_id)[name]
        assert vswitch["uplink_count"] == 0 and vswitch["description"] == "made by the e2e test"

        # The Edit icon: the Uplinks drop-down offers the unused NIC; Confirm.
        row.get_by_role("button", name=f"Edit {name}").click()
        dialog = page.get_by_role("dialog", name=f"Edit vSwitch {name}")
        dialog.get_by_role("button", name="Uplinks").click()
        box = page.get_by_role("checkbox", name=re.compile(f"^{uplink}(?!p)"))
        expect(box).not_to_be_checked()
        box.check()
        expect(box).to_be_checked()
        shot(page, "3-edit-uplinks")
        dialog.get_by_role("button", name="Uplinks").click()  # closes the drop-down
        expect(dialog.get_by_role("button", name="Uplinks")).to_have_text(uplink)
        dialog.get_by_role("button", name="Confirm").click()
        expect(dialog).to_be_hidden()
        expect(uplink_count).to_have_text("1")
        expect(row).to_contain_text("Ready", timeout=SYNC_TIMEOUT * 1000)
        _wait(lambda: uplink in _ports(name), f"{uplink} a port of {name}", SYNC_TIMEOUT)
        assert _vswitches(admin, node_id)[name]["config"]["uplinks"] == [uplink]
        shot(page, "4-uplink-count")

        # Edit again: the uplink is listed, checked.
        row.get_by_role("button", name=f"Edit {name}").click()
        dialog = page.get_by_role("dialog", name=f"Edit vSwitch {name}")
        dialog.get_by_role("button", name="Uplinks").click()
        expect(page.get_by_role("checkbox", name=re.compile(f"^{uplink}(?!p)"))).to_be_checked()
        dialog.get_by_role("button", name="Uplinks").click()
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()

        # Ports → Create Port Group: VLAN 4095 refused here; then access VLAN 10.
        page.get_by_role("tab", name="Ports").click()
        page.get_by_role("button", name="Create Port Group").click()
        dialog = page.get_by_role("dialog", name="Create Port Group")
        dialog.get_by_role("combobox", name="vSwitch").select_option(label=name)
        dialog.get_by_role("textbox", name="Name").fill(GROUP)
        dialog.get_by_role("textbox", name="Description").fill("production")
        expect(dialog.get_by_role("combobox", name="Type")).to_have_value("access")
        vlan = dialog.get_by_role("spinbutton", name="VLAN ID")
        vlan.fill("4095")
        dialog.get_by_role("button", name="Confirm").click()
        expect(vlan).to_have_accessible_description(re.compile(r"^A VLAN ID from 1 to 4094\."))
        shot(page, "5-port-group-bad-vlan")
        assert GROUP not in _port_groups(admin, node_id)
        vlan.fill("10")
        dialog.get_by_role("button", name="Confirm").click()
        expect(dialog).to_be_hidden()
        groups = page.get_by_role("grid", name="Port Groups")
        group_row = groups.get_by_role("row").filter(has_text=GROUP)
        expect(group_row).to_contain_text(name)
        expect(group_row).to_contain_text("Access")
        group = _port_groups(admin, node_id)[GROUP]
        assert group["config"]["type"] == 1 and group["config"]["data"]["vlan_id"] == 10
        shot(page, "6-port-group")

        # NICs: the veth is the vSwitch's now.
        page.get_by_role("tab", name="NICs").click()
        nic_row = (
            page.get_by_role("grid", name="NICs")
            .get_by_role("row")
            .filter(has=page.locator("td[data-label='Name']", has_text=re.compile(f"^{uplink}$")))
        )
        expect(nic_row).to_contain_text(name)
        shot(page, "7-nics")

        # Deploy the test guest with an interface on the port group.
        node_menu(page, node["name"]).get_by_role("menuitem", name="Deploy").click()
        wizard = page.get_by_role("dialog", name="Deploy Instance")
        next_button = wizard.get_by_role("button", name="Next", exact=True)
        fill_general(wizard, INSTANCE, memory="256")
        next_button.click()
        wizard.get_by_role("spinbutton", name="Volume 1: Size (GB)").fill("1")
        wizard.get_by_role("combobox", name="Boot image").select_option("guest.iso")
        next_button.click()
        wizard.get_by_role("button", name="Add interface").click()
        wizard.get_by_role("combobox", name="Interface 1: vSwitch").select_option(label=name)
        wizard.get_by_role("combobox", name="Interface 1: Port group").select_option(GROUP)
        expect(wizard.get_by_role("combobox", name="Interface 1: Model")).to_have_value("virtio")
        shot(page, "8-deploy-networking")
        next_button.click()
        expect(wizard).to_contain_text(f"{name} / {GROUP}, virtio, MAC generated")
        shot(page, "9-deploy-review")
        wizard.get_by_role("button", name="Finish").click()
        progress = page.get_by_role("dialog", name=f"Deploying {INSTANCE}")
        page.wait_for_url(re.compile(r"/instances/inst-"))
        instance_id = page.url.rsplit("/instances/", 1)[1].split("/")[0]
        expect(progress.get_by_text(f"Instance {INSTANCE} is deployed")).to_be_visible(
            timeout=DEPLOY_TIMEOUT
        )
        progress.get_by_role("contentinfo").get_by_role("button", name="Close").click()

        # The NIC: a device of type 1 on the vSwitch, its OVS port tagged with VLAN 10.
        devices = admin.get(f"/api/v1/instances/{instance_id}/devices").json()
        [nic] = [d for d in devices if d["type"] == 1]
        assert nic["resource_id"] == vswitch["id"]
        taps = _ports(name) - {uplink}
        assert len(taps) == 1, taps
        [tap] = taps
        _wait(lambda: vsctl("get", "Port", tap, "tag") == "10", f"{tap} on VLAN 10", SYNC_TIMEOUT)

        # The instance's Resources tab lists it.
        goto(page, f"/instances/{instance_id}/resources")
        device_row = (
            page.get_by_role("grid", name="Devices")
            .get_by_role("row")
            .filter(has_text="Network interface")
        )
        expect(device_row).to_contain_text(f"{name} / {GROUP}")
        shot(page, "10-instance-nic")

        # The port group names the interface; its X says why it can't go yet.
        [interface] = _port_groups(admin, node_id)[GROUP]["config"]["interfaces"]
        goto(page, f"/nodes/{node_id}/network")
        page.get_by_role("tab", name="Ports").click()
        expect(group_row).to_contain_text(interface["mac_address"])
        expect(group_row.get_by_role("button", name=f"Delete {GROUP}")).to_have_attribute(
            "aria-disabled", "true"
        )
        shot(page, "11-port-group-in-use")
        _destroy_instance(admin, instance_id)
        instance_id = None

        # Delete the port group, then the vSwitch, with the typed DESTROY.
        goto(page, f"/nodes/{node_id}/network")
        page.get_by_role("tab", name="Ports").click()
        group_row = (
            page.get_by_role("grid", name="Port Groups").get_by_role("row").filter(has_text=GROUP)
        )
        expect(group_row.get_by_role("button", name=f"Delete {GROUP}")).to_be_enabled()
        group_row.get_by_role("button", name=f"Delete {GROUP}").click()
        _confirm_destroy(page)
        expect(group_row).to_have_count(0)
        assert GROUP not in _port_groups(admin, node_id)

        page.get_by_role("tab", name="vSwitches").click()
        row = page.get_by_role("grid", name="vSwitches").get_by_role("row").filter(has_text=name)
        row.get_by_role("button", name=f"Delete {name}").click()
        shot(page, "12-delete-vswitch")
        _confirm_destroy(page)
        expect(row).to_have_count(0)
        assert made_switch not in _vswitches(admin, node_id)
        _wait(lambda: name not in _bridges(), f"{name} removed from OVS", SYNC_TIMEOUT)
        _wait(
            lambda: _nics(admin, node_id).get(uplink, {}).get("unused") is True,
            f"{uplink} unused again",
            NIC_TIMEOUT,
        )
        shot(page, "13-deleted")
        made_switch = None
    except BaseException:
        # Leave the shared node as found: what the UI would have deleted, through the API.
        if instance_id is not None:
            _destroy_instance(admin, instance_id)
        _remove_through_api(admin, node_id, made_switch)
        raise
