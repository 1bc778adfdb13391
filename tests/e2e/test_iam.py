"""IAM in a real browser against a real node, as the seed's "Identity and Access Management"
and "Auditing and Compliance" chapters walk it:

- The admin opens a second organization's IAM tab, + Create User with the Operator policy
  and a temporary password (a too-short one first: the server's message under the field,
  nothing created); the user appears in the Users list with its role and status, and the
  API has it. In a new browser context that user logs in, must choose their own password
  first, then sees only their organization (no IAM tab, no lockouts) and no Destroy anywhere.
  An Operator of the root organization, who sees the root's instance, gets Power and
  Edit but no Destroy on it, in the page header and the tree's menu, while the admin's
  page of the same instance has Destroy. The admin then finds the user's creation, sign-in
  and password change in the organization's Audit tab, and filters the trail by the user.
- User Lockouts: a user locked out by wrong passwords shows in the Audit tab's section;
  Unlock ends it, and the user signs in again.
- My account: MFA set up from a QR code drawn in the page (a wrong code refused, the right
  one turns it on, the recovery codes shown once), after which sign-in asks for the
  one-time code and takes a recovery code; an API token created (shown once, it works)
  and revoked (it no longer does).
- Policies and Import: a policy made in the statements editor (a statement's wrong
  resource refused under that cell), shown in the list; a CSV import whose dry run shows
  a bad row (Confirm import stays off, nothing created), then the fixed file imported
  with the generated password shown once; Export downloads the users as CSV.
- A user's row: Edit (disabled, described), Set policies (Auditor), Tokens (an
  administrator's view of another user's tokens, revoking one), Invalidate sessions (the
  user's session ends), and the delete icon's Delete User, which asks for DESTROY.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ShotFn, goto, sign_in
from tests.e2e.support import choose_file, context_menu, tree_row, whole_page_shot
from tests.support.compute import GuestImages, deploy_body, instance, succeed
from tests.support.served_node import Server

OPERATOR = "pol-builtin-operator"
#: A password the NIST rule accepts (long, not common, not holding the user name).
TEMPORARY_PASSWORD = "Amber-Lantern-Quilt-48"
OWN_PASSWORD = "Copper-Meadow-Violin-93"


@pytest.fixture(scope="module")
def tenant(admin: httpx.Client) -> Iterator[dict[str, str]]:
    """A second organization with a datacenter (something for its tree to hold); removed
    after the module with every user the tests made in it."""
    created = admin.post(
        "/api/v1/organizations", json={"name": "iam-tenant", "description": "IAM e2e tenant"}
    )
    assert created.status_code == 200, created.text
    org_id = str(created.json()["id"])
    dc = admin.post(
        "/api/v1/datacenters",
        json={"organization_id": org_id, "name": "iam-dc", "description": ""},
    )
    assert dc.status_code == 200, dc.text
    yield {"id": org_id, "name": "iam-tenant", "datacenter_id": str(dc.json()["id"])}
    for user in admin.get("/api/v1/users", params={"organization_id": org_id}).json():
        admin.delete(f"/api/v1/users/{user['id']}")
    admin.delete(f"/api/v1/datacenters/{dc.json()['id']}", params={"confirm": "DESTROY"})
    admin.delete(f"/api/v1/organizations/{org_id}", params={"confirm": "DESTROY"})


@pytest.fixture(scope="module")
def root_instance(guest_images: GuestImages, admin: httpx.Client) -> Iterator[dict[str, Any]]:
    """An instance of the root organization (the test guest, deployed and stopped), for
    the Operator's view of an instance; destroyed after the module."""
    body = deploy_body(guest_images.node_id, guest_images.pool_id, "iam-instance")
    instance_id = str(succeed(admin, admin.post("/api/v2/instances", json=body))["target_id"])
    succeed(admin, admin.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"}))
    yield instance(admin, instance_id)
    admin.delete(
        f"/api/v1/instances/{instance_id}", params={"confirm": "DESTROY", "destroy_volumes": True}
    )


def _users(admin: httpx.Client, org_id: str) -> dict[str, dict[str, Any]]:
    response = admin.get("/api/v1/users", params={"organization_id": org_id})
    assert response.status_code == 200, response.text
    return {u["username"]: u for u in response.json()}


def _user_row(page: Page, username: str) -> Locator:
    return page.get_by_role("grid", name="Users").get_by_role("row").filter(has_text=username)


def _no_destroy(page: Page) -> None:
    """Nothing on the page offers to destroy or delete."""
    for word in ("Destroy", "Delete"):
        expect(page.get_by_role("button", name=word)).to_have_count(0)
        expect(page.get_by_role("menuitem", name=word)).to_have_count(0)


def test_admin_creates_an_operator_who_sees_only_their_organization_and_no_destroy(
    signed_in_page: Page,
    new_page: Callable[[], Page],
    admin: httpx.Client,
    tenant: dict[str, str],
    root_instance: dict[str, Any],
    shot: ShotFn,
) -> None:
    page = signed_in_page
    org_id = tenant["id"]

    # The organization's IAM tab (seed: click the organization, then IAM).
    goto(page, f"/organizations/{org_id}")
    page.get_by_role("tab", name="IAM").click()
    expect(page).to_have_url(f"{page.url.split('/organizations')[0]}/organizations/{org_id}/iam")
    users = page.get_by_role("grid", name="Users")
    expect(page.get_by_role("grid", name="Policies")).to_contain_text("Operator")

    # + Create User: Organization ID prefilled and read-only.
    page.get_by_role("button", name="Create User").click()
    dialog = page.get_by_role("dialog", name="Create User")
    expect(dialog.get_by_label("Organization ID")).to_have_value(org_id)
    expect(dialog.get_by_label("Organization ID")).not_to_be_editable()
    dialog.get_by_label("Username").fill("opal-operator")
    dialog.get_by_label("Linux User (Optional)").fill("opal")
    dialog.get_by_label("Description").fill("Runs the tenant's instances")
    expect(dialog.get_by_role("switch", name="Enable")).to_be_checked()
    expect(dialog.get_by_role("radio", name="Local")).to_be_checked()
    expect(dialog.get_by_role("checkbox", name="Temporary password")).to_be_checked()
    dialog.get_by_role("checkbox", name="Operator").check()
    # Too short: the server's rule, worded by the server, under the password.
    dialog.get_by_label("New password").fill("short")
    dialog.get_by_role("button", name="Confirm").click()
    password_field = dialog.get_by_label("New password")
    expect(password_field).to_have_accessible_description(
        re.compile("The password is too short: it has 5 characters and needs at least 12")
    )
    expect(password_field).to_have_attribute("aria-invalid", "true")
    shot(page, "create-user-refused")
    assert "opal-operator" not in _users(admin, org_id)
    password_field.fill(TEMPORARY_PASSWORD)
    shot(page, "create-user-filled")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()

    # The new user in the list, with its role and status; the API agrees.
    row = _user_row(page, "opal-operator")
    expect(row).to_contain_text("Operator")
    expect(row).to_contain_text("Enabled")
    expect(row).to_contain_text("opal")
    made = _users(admin, org_id)["opal-operator"]
    assert made["policies"] == [OPERATOR]
    assert made["temporary_password"] is True and made["linux_user"] == "opal"
    expect(users).to_be_visible()
    whole_page_shot(page, shot, "users-list")

    # The operator, in a browser of their own: their temporary password leads to choosing one.
    operator = new_page()
    sign_in(operator, "opal-operator", TEMPORARY_PASSWORD)
    expect(operator.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(operator.get_by_role("tree", name="Resource tree")).to_have_count(0)
    shot(operator, "operator-must-change-password")
    operator.get_by_label("Current password").fill(TEMPORARY_PASSWORD)
    # By the start of the label: "Confirm new password" holds the words too.
    operator.get_by_label(re.compile("^New password")).fill(OWN_PASSWORD)
    operator.get_by_label("Confirm new password").fill(OWN_PASSWORD)
    operator.get_by_role("button", name="Change password").click()

    # Only their organization in the tree; the root organization and its node are not there.
    tree = operator.get_by_role("tree", name="Resource tree")
    expect(tree_row(operator, "iam-tenant", "organization")).to_be_visible()
    expect(tree.get_by_role("treeitem").and_(operator.locator('[aria-level="1"]'))).to_have_count(1)
    expect(tree.get_by_role("treeitem", name="iam-instance")).to_have_count(0)
    assert _users(admin, org_id)["opal-operator"]["temporary_password"] is False
    goto(operator, f"/organizations/{org_id}")
    expect(operator.get_by_role("heading", name="iam-tenant")).to_be_visible()
    # No IAM tab: the Operator policy leaves identity and access to administrators; the
    # Audit tab has the trail (audit.read is not IAM) but not User Lockouts (lockout.*).
    expect(operator.get_by_role("tab", name="Summary")).to_be_visible()
    expect(operator.get_by_role("tab", name="IAM")).to_have_count(0)
    _no_destroy(operator)
    operator.get_by_role("tab", name="Audit").click()
    expect(operator.get_by_role("grid", name="Audit Trail")).to_be_visible()
    expect(operator.get_by_role("heading", name="User Lockouts")).to_have_count(0)
    operator.get_by_role("tab", name="Summary").click()
    menu = context_menu(operator, tree_row(operator, "iam-dc", "datacenter"), "iam-dc")
    expect(menu.get_by_role("menuitem", name="Edit")).to_be_visible()
    _no_destroy(operator)
    shot(operator, "operator-tenant")
    operator.keyboard.press("Escape")

    # An Operator of the root organization sees its instance: Power and Edit, no Destroy.
    rooted = admin.post(
        "/api/v1/users",
        json={
            "organization_id": str(root_instance["organization_id"]),
            "username": "otto-operator",
            "password": OWN_PASSWORD,
            "temporary": False,
            "enabled": True,
            "description": "",
            "policy_ids": [OPERATOR],
        },
    )
    assert rooted.status_code == 200, rooted.text
    try:
        root_operator = new_page()
        sign_in(root_operator, "otto-operator", OWN_PASSWORD)
        goto(root_operator, f"/instances/{root_instance['id']}")
        expect(root_operator.get_by_role("heading", name="iam-instance")).to_be_visible()
        expect(root_operator.get_by_role("button", name="Power", exact=True)).to_be_visible()
        expect(root_operator.get_by_role("button", name="Edit", exact=True)).to_be_visible()
        _no_destroy(root_operator)
        menu = context_menu(
            root_operator, tree_row(root_operator, "iam-instance", "instance"), "iam-instance"
        )
        expect(menu.get_by_role("menuitem", name="Power")).to_be_visible()
        _no_destroy(root_operator)
        shot(root_operator, "operator-instance")
        root_operator.keyboard.press("Escape")
        # The same page for the admin has Destroy: the Operator's lack of it is the policy.
        goto(page, f"/instances/{root_instance['id']}")
        expect(page.get_by_role("button", name="Destroy")).to_be_visible()
    finally:
        admin.delete(f"/api/v1/users/{rooted.json()['id']}")

    # The admin finds it all in the organization's Audit tab.
    goto(page, f"/organizations/{org_id}/audit")
    trail = page.get_by_role("grid", name="Audit Trail")
    created = trail.get_by_role("row").filter(has_text="user.create")
    expect(created).to_contain_text("pceadmin")
    expect(created).to_contain_text(made["id"])
    expect(created).to_contain_text("Success")
    signed = trail.get_by_role("row").filter(has_text="auth.login").filter(has_text="opal-operator")
    expect(signed.first).to_contain_text("Success")
    expect(
        trail.get_by_role("row").filter(has_text="auth.password").filter(has_text="opal-operator")
    ).to_have_count(1)
    expect(page.get_by_role("grid", name="User Lockouts")).to_be_visible()
    whole_page_shot(page, shot, "audit-trail")
    # Filtered by the user: only their own rows.
    page.get_by_label("User", exact=True).select_option(label="opal-operator")
    page.get_by_role("button", name="Filter").click()
    expect(trail.get_by_role("row").filter(has_text="user.create")).to_have_count(0)
    expect(trail.get_by_role("row").filter(has_text="auth.login").first).to_be_visible()
    whole_page_shot(page, shot, "audit-trail-filtered")
    # Download CSV: the filtered trail as a file.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert "action" in lines[0] and len(lines) >= 3, lines
    assert all("opal-operator" in line for line in lines[1:]), lines


def test_user_lockouts_show_in_the_audit_tab_and_unlock_ends_them(
    signed_in_page: Page,
    admin: httpx.Client,
    served_node: Server,
    tenant: dict[str, str],
    shot: ShotFn,
) -> None:
    page, org_id = signed_in_page, tenant["id"]
    # Two wrong passwords lock this organization's users (five by default; fewer keep the
    # node's per-address count, which every test's sign-ins share, low).
    security = admin.patch(
        f"/api/v1/organizations/{org_id}/security", json={"lockout_threshold": 2}
    )
    assert security.status_code == 200, security.text
    made = admin.post(
        "/api/v1/users",
        json={
            "organization_id": org_id,
            "username": "lucy-locked",
            "password": OWN_PASSWORD,
            "temporary": False,
            "enabled": True,
            "description": "",
        },
    )
    assert made.status_code == 200, made.text
    with served_node.client() as anonymous:
        for _ in range(2):
            wrong = anonymous.post(
                "/api/v1/auth/login", json={"username": "lucy-locked", "password": "not-hers-1234"}
            )
            assert wrong.status_code == 401, wrong.text
        right = anonymous.post(
            "/api/v1/auth/login", json={"username": "lucy-locked", "password": OWN_PASSWORD}
        )
        assert right.status_code == 401, "a locked-out user signed in"

    goto(page, f"/organizations/{org_id}/audit")
    lockouts = page.get_by_role("grid", name="User Lockouts")
    row = lockouts.get_by_role("row").filter(has_text="lucy-locked")
    expect(row).to_contain_text("Locked")
    expect(row).to_contain_text("2")
    whole_page_shot(page, shot, "lockout")
    row.get_by_role("button", name="Unlock lucy-locked").click()
    dialog = page.get_by_role("dialog", name="Unlock lucy-locked?")
    dialog.get_by_role("button", name="Unlock").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Ended")
    expect(row.get_by_role("button", name="Unlock lucy-locked")).to_have_count(0)
    whole_page_shot(page, shot, "unlocked")
    # The users list says it too, and the user signs in again.
    assert _users(admin, org_id)["lucy-locked"]["locked"] is False
    with served_node.client() as anonymous:
        again = anonymous.post(
            "/api/v1/auth/login", json={"username": "lucy-locked", "password": OWN_PASSWORD}
        )
        assert again.status_code == 200, again.text


def _make_user(admin: httpx.Client, org_id: str, username: str, **extra: Any) -> str:
    made = admin.post(
        "/api/v1/users",
        json={
            "organization_id": org_id,
            "username": username,
            "password": OWN_PASSWORD,
            "temporary": False,
            "enabled": True,
            "description": "",
            **extra,
        },
    )
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


def test_my_account_sets_up_mfa_and_api_tokens(
    new_page: Callable[[], Page],
    admin: httpx.Client,
    served_node: Server,
    tenant: dict[str, str],
    shot: ShotFn,
) -> None:
    _make_user(admin, tenant["id"], "mira-mfa")
    page = new_page()
    sign_in(page, "mira-mfa", OWN_PASSWORD)
    page.get_by_role("button", name="Signed-in user").click()
    page.get_by_role("menuitem", name="My account").click()
    expect(page).to_have_url(re.compile("/account$"))
    mfa = page.get_by_role("heading", name="Multi-factor authentication").locator("xpath=../..")
    expect(mfa).to_contain_text("Off")

    # Set up MFA: the QR code, the secret as text; a wrong code first.
    page.get_by_role("button", name="Set up MFA").click()
    dialog = page.get_by_role("dialog", name="Set up multi-factor authentication")
    expect(dialog.get_by_role("img", name="QR code of the authenticator secret")).to_be_visible()
    secret = dialog.get_by_role("textbox", name="Secret").input_value()
    totp = pyotp.TOTP(secret)
    wrong = "000000" if totp.now() != "000000" else "111111"
    dialog.get_by_label("Code from the app").fill(wrong)
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_label("Code from the app")).to_have_attribute("aria-invalid", "true")
    shot(page, "mfa-enrol-wrong-code")
    assert _users(admin, tenant["id"])["mira-mfa"]["mfa_enabled"] is False
    dialog.get_by_label("Code from the app").fill(totp.now())
    dialog.get_by_role("button", name="Confirm").click()
    codes_dialog = page.get_by_role("dialog", name="Save your recovery codes")
    codes = codes_dialog.get_by_role("textbox", name="Recovery codes").input_value().split()
    assert len(codes) >= 5, codes
    shot(page, "mfa-recovery-codes")
    codes_dialog.get_by_role("button", name="Done").click()
    expect(mfa).to_contain_text("On")
    assert _users(admin, tenant["id"])["mira-mfa"]["mfa_enabled"] is True

    # An API token: shown once, it works; revoked, it no longer does.
    page.get_by_role("button", name="Create token").click()
    create = page.get_by_role("dialog", name="Create token")
    create.get_by_label("Name").fill("ci")
    create.get_by_role("button", name="Create").click()
    shown = page.get_by_role("dialog", name="Token ci")
    token = shown.get_by_role("textbox", name="Token").input_value()
    shot(page, "token-shown-once")
    shown.get_by_role("contentinfo").get_by_role("button", name="Close").click()
    with served_node.client() as client:
        mine = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200 and mine.json()["username"] == "mira-mfa"
    tokens = page.get_by_role("grid", name="API tokens")
    expect(tokens.get_by_role("row").filter(has_text="ci")).to_contain_text("Never")
    whole_page_shot(page, shot, "my-account")
    tokens.get_by_role("button", name="Revoke ci").click()
    revoke = page.get_by_role("dialog", name="Revoke token ci?")
    revoke.get_by_role("button", name="Revoke").click()
    # (While a dialog is open the page behind it is hidden from role queries: wait for it
    # to close before saying what the page no longer has.)
    expect(revoke).to_be_hidden()
    expect(page.get_by_role("heading", name="No API tokens")).to_be_visible()
    expect(tokens).to_have_count(0)
    with served_node.client() as client:
        gone = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 401

    # Signing in now asks for the one-time code; a recovery code does.
    again = new_page()
    goto(again, "/")
    again.get_by_role("textbox", name="Username").fill("mira-mfa")
    again.get_by_role("textbox", name="Password").fill(OWN_PASSWORD)
    again.get_by_role("button", name="Log in").click()
    otp = again.get_by_role("textbox", name="One-time code")
    expect(otp).to_be_visible()
    shot(again, "sign-in-asks-for-the-code")
    otp.fill(codes[0])
    again.get_by_role("button", name="Log in").click()
    expect(again.get_by_role("button", name="Signed-in user")).to_contain_text("mira-mfa")


def test_policy_editor_and_import_with_a_dry_run(
    signed_in_page: Page,
    admin: httpx.Client,
    tenant: dict[str, str],
    tmp_path: Path,
    shot: ShotFn,
) -> None:
    page, org_id = signed_in_page, tenant["id"]
    goto(page, f"/organizations/{org_id}/iam")

    # Create policy: two statements, the second's resource wrong at first.
    page.get_by_role("button", name="Create policy").click()
    dialog = page.get_by_role("dialog", name="Create policy")
    dialog.get_by_label("Name").fill("night-ops")
    dialog.get_by_label("Action of statement 1").select_option("instance.power")
    dialog.get_by_role("button", name="Add statement").click()
    dialog.get_by_label("Action of statement 2").select_option("instance.*")
    dialog.get_by_label("Effect of statement 2").select_option("deny")
    dialog.get_by_label("Resource of statement 2").fill("no such/resource")
    dialog.get_by_label("Rules of statement 2").fill(
        '[{"field": "env.day_of_week", "operator": "in", "value": ["sat", "sun"]}]'
    )
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_label("Resource of statement 2")).to_have_attribute("aria-invalid", "true")
    shot(page, "policy-refused")
    assert "night-ops" not in {p["name"] for p in _policies(admin, org_id)}
    dialog.get_by_label("Resource of statement 2").fill("*")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("grid", name="Policies").get_by_role("row").filter(has_text="night-ops")
    expect(row).to_contain_text("2")
    (made,) = [p for p in _policies(admin, org_id) if p["name"] == "night-ops"]
    assert [(s["action"], s["effect"], s["resource"]) for s in made["statements"]] == [
        ("instance.power", "allow", "*"),
        ("instance.*", "deny", "*"),
    ]
    assert made["statements"][1]["rules"][0]["value"] == ["sat", "sun"]
    # Edit it (the statements come back as they were saved), then Delete it.
    row.get_by_role("button", name="Edit night-ops").click()
    dialog = page.get_by_role("dialog", name="Edit policy night-ops")
    expect(dialog.get_by_label("Effect of statement 2")).to_have_value("deny")
    dialog.get_by_label("Description").fill("Weekend hands off")
    dialog.get_by_role("button", name="Remove statement 1").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Weekend hands off")
    (edited,) = [p for p in _policies(admin, org_id) if p["name"] == "night-ops"]
    assert [s["action"] for s in edited["statements"]] == ["instance.*"]
    row.get_by_role("button", name="Delete night-ops").click()
    delete = page.get_by_role("dialog", name="Delete policy night-ops?")
    delete.get_by_role("button", name="Delete").click()
    expect(delete).to_be_hidden()
    expect(row).to_have_count(0)
    assert "night-ops" not in {p["name"] for p in _policies(admin, org_id)}
    # A built-in one is read-only: View, no Edit.
    builtin = (
        page.get_by_role("grid", name="Policies").get_by_role("row").filter(has_text="Console user")
    )
    expect(builtin.get_by_role("button", name="View Console user")).to_be_visible()
    expect(builtin.get_by_role("button", name="Edit Console user")).to_have_count(0)
    builtin.get_by_role("button", name="View Console user").click()
    view = page.get_by_role("dialog", name="Policy Console user")
    expect(view.get_by_label("Action of statement 1", exact=True)).to_be_disabled()
    view.get_by_role("contentinfo").get_by_role("button", name="Close").click()

    # Import: the dry run shows the bad row, and nothing is created.
    bad = tmp_path / "users.csv"
    bad.write_text("username,description,random_password\nivy-import,first,true\nx,second,\n")
    page.get_by_role("button", name="Import").click()
    dialog = page.get_by_role("dialog", name="Import users")
    choose_file(page, dialog, bad)
    preview = dialog.get_by_role("grid", name="Import preview")
    expect(preview.get_by_role("row").filter(has_text="ivy-import")).to_contain_text("OK")
    # Row 2's user name "x" is too short: the server's words, in its row.
    refused = preview.get_by_role("row").nth(2)
    expect(refused).to_contain_text("Error")
    expect(refused).to_contain_text("username")
    expect(dialog.get_by_role("button", name="Confirm import")).to_be_disabled()
    shot(page, "import-dry-run")
    assert "ivy-import" not in _users(admin, org_id)
    # The fixed file: imported, its generated password shown once.
    good = tmp_path / "fixed.csv"
    good.write_text("username,description,random_password\nivy-import,first,true\n")
    dialog.get_by_role("button", name="Clear").click()
    choose_file(page, dialog, good)
    expect(preview.get_by_role("row").filter(has_text="ivy-import")).to_contain_text("OK")
    dialog.get_by_role("button", name="Confirm import").click()
    done = page.get_by_role("dialog", name="Imported 1 user")
    password = done.get_by_role("textbox", name="Password of ivy-import").input_value()
    assert len(password) >= 12
    shot(page, "import-passwords")
    done.get_by_role("contentinfo").get_by_role("button", name="Close").click()
    expect(_user_row(page, "ivy-import")).to_be_visible()
    assert _users(admin, org_id)["ivy-import"]["temporary_password"] is True

    # Export: the organization's users as CSV, without secrets.
    with page.expect_download() as download:
        page.get_by_role("button", name="Export").click()
    exported = Path(download.value.path()).read_text()
    assert "username" in exported.splitlines()[0]
    assert "ivy-import" in exported and password not in exported


def _policies(admin: httpx.Client, org_id: str) -> list[dict[str, Any]]:
    response = admin.get("/api/v1/policies", params={"organization_id": org_id})
    assert response.status_code == 200, response.text
    policies: list[dict[str, Any]] = response.json()
    return policies


def test_a_users_row_actions(
    signed_in_page: Page,
    admin: httpx.Client,
    served_node: Server,
    tenant: dict[str, str],
    shot: ShotFn,
) -> None:
    page, org_id = signed_in_page, tenant["id"]
    user_id = _make_user(admin, org_id, "rowan-row")
    with served_node.client() as client:
        login = client.post(
            "/api/v1/auth/login", json={"username": "rowan-row", "password": OWN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        session = {"Authorization": f"Bearer {login.json()['token']}"}
        token = client.post(
            f"/api/v1/users/{user_id}/tokens", json={"name": "rowan-ci"}, headers=session
        )
        assert token.status_code == 200, token.text
    goto(page, f"/organizations/{org_id}/iam")
    row = _user_row(page, "rowan-row")

    def action(name: str) -> None:
        row.get_by_role("button", name="Actions for rowan-row").click()
        page.get_by_role("menuitem", name=name).click()

    # Edit: a description, and disabled.
    action("Edit")
    dialog = page.get_by_role("dialog", name="Edit user rowan-row")
    dialog.get_by_label("Description").fill("On leave")
    # The switch's drawn toggle covers its input: a user clicks the toggle.
    enable = dialog.get_by_role("switch", name="Enable")
    dialog.locator(".pf-v6-c-switch__toggle").click()
    expect(enable).not_to_be_checked()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Disabled")
    expect(row).to_contain_text("On leave")
    made = _users(admin, org_id)["rowan-row"]
    assert made["enabled"] is False and made["description"] == "On leave"

    # Set policies: Auditor.
    action("Set policies")
    dialog = page.get_by_role("dialog", name="Policies of rowan-row")
    dialog.get_by_role("checkbox", name="Auditor").check()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("Auditor")
    assert _users(admin, org_id)["rowan-row"]["policies"] == ["pol-builtin-auditor"]

    # Tokens: the administrator's view of rowan's tokens, linked by the URL; Revoke one.
    action("Tokens")
    expect(page).to_have_url(re.compile(f"tokens={user_id}"))
    tokens = page.get_by_role("grid", name="API tokens of rowan-row")
    expect(tokens.get_by_role("row").filter(has_text="rowan-ci")).to_be_visible()
    whole_page_shot(page, shot, "tokens-of-a-user")
    tokens.get_by_role("button", name="Revoke rowan-ci").click()
    revoke = page.get_by_role("dialog", name="Revoke token rowan-ci?")
    revoke.get_by_role("button", name="Revoke").click()
    expect(revoke).to_be_hidden()
    expect(page.get_by_role("heading", name="No API tokens")).to_be_visible()
    assert admin.get(f"/api/v1/users/{user_id}/tokens").json() == []

    # Invalidate sessions: rowan's session ends.
    action("Invalidate sessions")
    dialog = page.get_by_role("dialog", name="Invalidate sessions")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()
    with served_node.client() as client:
        assert client.get("/api/v1/auth/me", headers=session).status_code == 401

    # The delete icon: Delete User asks for the confirmation word.
    row.get_by_role("button", name="Delete rowan-row").click()
    dialog = page.get_by_role("dialog", name="Delete User")
    confirm = dialog.get_by_role("button", name="Confirm")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("destroy")
    expect(confirm).to_be_disabled()
    dialog.get_by_role("textbox", name="Type DESTROY to confirm").fill("DESTROY")
    shot(page, "delete-user")
    confirm.click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0)
    assert "rowan-row" not in _users(admin, org_id)
