"""``host.reach``: which directory keeps QEMU's user from a pool, judged as the kernel does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudenv.host.reach import Account, blocking_directory, qemu_account

pytestmark = pytest.mark.unit

OTHER = Account("qemu-test", 64999, frozenset({64999}))


def _tree(tmp_path: Path, *modes: int) -> Path:
    """tmp_path/a/b/... with the given modes, the top one searchable by anyone."""
    tmp_path.chmod(0o755)
    path = tmp_path
    for index, mode in enumerate(modes):
        path = path / f"d{index}"
        path.mkdir()
        path.chmod(mode)
    return path


@pytest.fixture(autouse=True)
def reachable_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's own 0700 root is above tmp_path; the tests judge only below it."""
    real_stat = os.stat

    def stat(path: os.PathLike[str] | str) -> os.stat_result:
        info = real_stat(path)
        if Path(path) in tmp_path.parents:
            fields = list(info)
            fields[0] = (info.st_mode & ~0o777) | 0o755
            return os.stat_result(fields)
        return info

    monkeypatch.setattr("cloudenv.host.reach._stat", stat)


def test_a_private_directory_on_the_way_blocks(tmp_path: Path) -> None:
    leaf = _tree(tmp_path, 0o755, 0o700, 0o755)
    blocked = blocking_directory(leaf / "pools" / "default", OTHER)
    assert blocked is not None
    assert blocked.directory == tmp_path / "d0" / "d1"
    assert blocked.mode == 0o700 and blocked.who == "o"
    assert blocked.fix == f"chmod o+x {tmp_path / 'd0' / 'd1'}"
    assert blocked.describe() == (
        f"{tmp_path / 'd0' / 'd1'} is mode 0700: qemu-test can't reach the pool"
    )


def test_searchable_without_listing_is_enough(tmp_path: Path) -> None:
    leaf = _tree(tmp_path, 0o711, 0o711)
    assert blocking_directory(leaf / "not" / "yet" / "made", OTHER) is None


def test_the_class_that_applies_decides(tmp_path: Path) -> None:
    """Owner bits for the owner, group bits for a member, even when "other" would allow."""
    leaf = _tree(tmp_path, 0o701)
    os.chown(leaf, 64998, 64997)  # the tests run as root, like the installer
    mine = Account("owner", 64998, frozenset())
    member = Account("member", 64999, frozenset({64997}))
    assert blocking_directory(leaf, OTHER) is None
    leaf.chmod(0o071)
    blocked = blocking_directory(leaf, mine)
    assert blocked is not None and blocked.who == "u"
    leaf.chmod(0o701)
    blocked = blocking_directory(leaf, member)
    assert blocked is not None and blocked.who == "g"
    assert blocking_directory(leaf, Account("root", 0, frozenset())) is None


def test_a_directory_the_caller_opens_itself_is_not_judged(tmp_path: Path) -> None:
    leaf = _tree(tmp_path, 0o700)
    assert blocking_directory(leaf / "pools", OTHER) is not None
    assert blocking_directory(leaf / "pools", OTHER, will_open=frozenset({leaf})) is None


def test_qemu_user_comes_from_qemu_conf(tmp_path: Path) -> None:
    conf = tmp_path / "qemu.conf"
    conf.write_text('#user = "nobody"\nuser = "+0"  # numeric\ngroup = "+0"\n')
    assert qemu_account(conf) == Account("+0", 0, frozenset({0}))
    conf.write_text('# user = "root"\n')
    default = qemu_account(conf)
    assert default.name == "libvirt-qemu"
    assert qemu_account(tmp_path / "missing.conf").name == "libvirt-qemu"
    conf.write_text('user = "no-such-user-here"\n')
    assert qemu_account(conf) == Account("no-such-user-here", -1, frozenset())
