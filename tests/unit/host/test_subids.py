"""Root's subordinate IDs for unprivileged containers: the first range of root's that is
big enough, and a refusal that says how to add one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudenv.host.subids import NoSubordinateIds, SubordinateIds, root_range

pytestmark = pytest.mark.unit


def files(tmp_path: Path, uids: str, gids: str) -> tuple[Path, Path]:
    (tmp_path / "subuid").write_text(uids)
    (tmp_path / "subgid").write_text(gids)
    return tmp_path / "subuid", tmp_path / "subgid"


def test_the_first_range_of_root_that_holds_a_container_is_used(tmp_path: Path) -> None:
    subuid, subgid = files(
        tmp_path,
        "_lxd:100000:10000001\nroot:50000:1000\nroot:100000:10000001\n",
        "# comment\nroot:300000:65536\n",
    )
    assert root_range(subuid, subgid) == SubordinateIds(uid=100000, gid=300000, count=65536)


@pytest.mark.parametrize(
    ("uids", "words"),
    [
        ("", "gives root no range of 65536 IDs"),
        ("alice:100000:65536\n", "gives root no range"),
        ("root:100000:1000\n", "gives root no range"),
        ("root:0:65536\n", "gives root no range"),  # mapping onto the host's own root
        ("root:x:y\n", "gives root no range"),
    ],
)
def test_no_usable_range_is_refused_with_the_remedy(tmp_path: Path, uids: str, words: str) -> None:
    subuid, subgid = files(tmp_path, uids, "root:100000:65536\n")
    with pytest.raises(NoSubordinateIds, match=words) as refused:
        root_range(subuid, subgid)
    assert "root:100000:65536" in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NoSubordinateIds, match="can't be read"):
        root_range(tmp_path / "none", tmp_path / "none")
