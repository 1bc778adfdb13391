"""Root's subordinate user and group IDs (/etc/subuid, /etc/subgid): the host IDs an
unprivileged container's root and users become.

A container's root filesystem is unpacked with its owners shifted to the start of this
range, and its domain maps IDs 0..count-1 inside onto it (``<idmap>``), so root in the
container is an unprivileged user on the host. The files hold ``name:start:count`` lines
(shadow-utils' format; LXD and ``usermod --add-subuids`` write them).

Stdlib only: the host package depends on nothing else of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")
#: IDs a container maps: the 16-bit range every distribution's users and groups fit in.
CONTAINER_IDS = 65536
OWNER = "root"


@dataclass(frozen=True)
class SubordinateIds:
    """Where a container's IDs start on the host, and how many it maps."""

    uid: int
    gid: int
    count: int


class NoSubordinateIds(Exception):
    """Root has no usable range; the message says how to give it one."""


def _first_range(path: Path, owner: str, need: int) -> int:
    """The start of ``owner``'s first range in ``path`` holding at least ``need`` IDs."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise NoSubordinateIds(
            f"{path} can't be read ({exc.strerror}); add the line '{owner}:100000:65536' "
            "to /etc/subuid and /etc/subgid (scripts/install-system-deps.sh does)."
        ) from None
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] != owner:
            continue
        if not (fields[1].isdigit() and fields[2].isdigit()):
            continue
        start, count = int(fields[1]), int(fields[2])
        if start > 0 and count >= need:
            return start
    raise NoSubordinateIds(
        f"{path} gives {owner} no range of {need} IDs; add the line "
        f"'{owner}:100000:{need}' to it (scripts/install-system-deps.sh does), or deploy "
        "the container privileged (metadata.privileged)."
    )


def root_range(
    subuid: Path = SUBUID, subgid: Path = SUBGID, *, count: int = CONTAINER_IDS
) -> SubordinateIds:
    """Root's subordinate range for containers; NoSubordinateIds when there is none."""
    return SubordinateIds(
        uid=_first_range(subuid, OWNER, count), gid=_first_range(subgid, OWNER, count), count=count
    )
