"""One name rule per kind of name, each matching the whole name: a trailing newline (what
``re.match`` with ``$`` let through) or any other extra character is refused."""

from __future__ import annotations

import pytest

from cloudenv.errors import InvalidInput
from cloudenv.services.validation import (
    CEPH_NAME,
    CLUSTER_NAME,
    DATACENTER_NAME,
    DEVICE_NAME,
    IMAGE_NAME,
    IMAGE_NAME_MAX_BYTES,
    INSTANCE_NAME,
    LINUX_USER,
    NAME_RULES,
    ORGANIZATION_NAME,
    POLICY_NAME,
    POOL_NAME,
    SNAPSHOT_NAME,
    USERNAME,
    VOLUME_GROUP_NAME,
    VOLUME_NAME,
    ZFS_POOL_NAME,
    NameRule,
    check_instance_name,
)

pytestmark = pytest.mark.unit

GOOD = {
    ORGANIZATION_NAME: "acme",
    DATACENTER_NAME: "default",
    CLUSTER_NAME: "cluster_1",
    INSTANCE_NAME: "web server 1",
    SNAPSHOT_NAME: "before-upgrade.1",
    DEVICE_NAME: "disk1",
    VOLUME_NAME: "web 1 data",
    IMAGE_NAME: "nl.iso",
    POLICY_NAME: "Night operators",
    USERNAME: "ana.lima@example.com",
    LINUX_USER: "ana_lima",
    POOL_NAME: "fast-nvme.1",
    VOLUME_GROUP_NAME: "vg_data+1",
    ZFS_POOL_NAME: "tank:fast",
    CEPH_NAME: "rbd_pool.1",
}


def test_every_rule_is_tested() -> None:
    assert set(GOOD) == set(NAME_RULES)


@pytest.mark.parametrize("rule", NAME_RULES, ids=lambda rule: rule.kind)
def test_a_valid_name_passes(rule: NameRule) -> None:
    assert rule.check(GOOD[rule]) == GOOD[rule]


@pytest.mark.parametrize("rule", NAME_RULES, ids=lambda rule: rule.kind)
@pytest.mark.parametrize("extra", ["\n", "\r\n", "\x00", "\n\n"])
def test_a_trailing_line_break_or_control_character_is_refused(rule: NameRule, extra: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rule.check(GOOD[rule] + extra, field="name")
    assert refused.value.field == "name"
    assert refused.value.message.startswith(f"{rule.kind} name {GOOD[rule] + extra!r} is not valid")


def test_instance_names_are_stripped_then_checked_whole() -> None:
    assert check_instance_name("  web-1 ") == "web-1"
    with pytest.raises(InvalidInput, match="printable"):
        check_instance_name("web-1\nweb-2")


def test_image_names_fit_a_file_name_with_their_prefix() -> None:
    """Stored as ``image-<name>``: 255 bytes in all, counted in bytes of UTF-8."""
    assert IMAGE_NAME_MAX_BYTES == 249
    assert IMAGE_NAME.check("a" * 249) == "a" * 249
    with pytest.raises(InvalidInput) as refused:
        IMAGE_NAME.check("a" * 250)
    assert "at most 249 bytes" in refused.value.message
    assert refused.value.field == "name"


def test_policy_names_may_hold_inner_spaces_only() -> None:
    assert POLICY_NAME.check("Console user 2") == "Console user 2"
    assert POLICY_NAME.check("x") == "x"
    for wrong in (" ops", "ops ", "", "a" * 65, "ops/night", "-ops"):
        with pytest.raises(InvalidInput):
            POLICY_NAME.check(wrong)


@pytest.mark.parametrize("name", ["ab", "-ana", ".ana", "ana lima", "ana/lima", "a" * 65, "änä"])
def test_bad_user_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="3 to 64"):
        USERNAME.check(name, field="username")


@pytest.mark.parametrize("name", ["Ana", "1ana", "-ana", "ana.lima", "a" * 33, "ana$"])
def test_bad_linux_user_names(name: str) -> None:
    """Lower-case POSIX names as useradd takes them: the node console runs as this account."""
    with pytest.raises(InvalidInput, match="lower-case"):
        LINUX_USER.check(name, field="linux_user")


def test_good_linux_user_names() -> None:
    for name in ("root", "_svc", "a", "ops-1", "a" * 32):
        assert LINUX_USER.check(name) == name
