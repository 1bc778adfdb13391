"""A container's /etc/hostname written from the node: the instance's name as a valid
label, owned by the container's root, and never written through a link the container's
root may have put in place of /etc or the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudenv.drivers.images.hostname import hostname_for, write_hostname

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "label"),
    [("web-1", "web-1"), ("Web Server_2", "web-server-2"), ("--x--", "x"), ("___", "container")],
)
def test_an_instance_name_becomes_a_hostname_label(name: str, label: str) -> None:
    assert hostname_for(name) == label
    assert len(hostname_for("a" * 300)) == 63


def test_the_file_is_written_once_and_owned_by_the_container_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("busybox\n")
    me = os.getuid(), os.getgid()
    assert write_hostname(str(tmp_path), "web-1", uid=me[0], gid=me[1]) is True
    assert (tmp_path / "etc" / "hostname").read_text() == "web-1\n"
    assert write_hostname(str(tmp_path), "web-1", uid=me[0], gid=me[1]) is False
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == ["hostname"]


def test_links_planted_by_the_container_are_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "host-file"
    outside.write_text("the node's\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").symlink_to(outside)
    me = os.getuid(), os.getgid()
    assert write_hostname(str(root), "web-1", uid=me[0], gid=me[1]) is True
    assert outside.read_text() == "the node's\n"
    assert not (root / "etc" / "hostname").is_symlink()
    # /etc itself a link to a directory of the node: nothing is written there.
    other = tmp_path / "other"
    (other / "node-etc").mkdir(parents=True)
    (other / "etc").symlink_to(other / "node-etc")
    assert write_hostname(str(other), "web-1", uid=me[0], gid=me[1]) is False
    assert list((other / "node-etc").iterdir()) == []
