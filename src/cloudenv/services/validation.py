"""Value rules the product documents, enforced here for every client alike.

Every kind of name a user gives has one named rule here (``ORGANIZATION_NAME``,
``IMAGE_NAME``...), and services call it; no other module keeps a name pattern. A rule
matches the *whole* name (``re.fullmatch``): ``re.match`` with ``$`` also accepts a trailing
newline ("acme\\n"), which then shows as a second "acme" or becomes part of a file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cloudenv.errors import InvalidInput

#: The tenancy name rule as a JSON-schema pattern, for OpenAPI readers (ECMA ``$`` only
#: matches at the very end, so the document says the same as ``TENANCY_NAME`` below).
NAME_PATTERN = r"^[a-zA-Z0-9_-]{3,64}$"
DESCRIPTION_MAX = 512

#: What the filesystems we store on take for one file name, in bytes.
FILE_NAME_MAX_BYTES = 255
#: Images are stored in their pool as ``<prefix><name>``.
IMAGE_FILE_PREFIX = "image-"


@dataclass(frozen=True)
class NameRule:
    """One kind of name: what messages call it, the characters it may hold (matched
    against the whole name), what to tell the user, and optionally a limit in bytes of
    UTF-8 (what a file name built from it can take) and whether it must be printable."""

    kind: str
    pattern: re.Pattern[str]
    allowed: str
    max_bytes: int | None = None
    printable: bool = False

    def check(self, value: str, *, field: str = "name") -> str:
        """``value`` if it is a valid name of this kind; else InvalidInput naming ``field``."""
        valid = (
            self.pattern.fullmatch(value) is not None
            and (self.max_bytes is None or len(value.encode()) <= self.max_bytes)
            and (not self.printable or value.isprintable())
        )
        if not valid:
            raise InvalidInput(
                f"{self.kind} name {value!r} is not valid: {self.allowed}.", field=field
            )
        return value


_TENANCY = re.compile(r"[a-zA-Z0-9_-]{3,64}")
_TENANCY_ALLOWED = "use 3 to 64 characters, letters, digits, '_' or '-' only"

ORGANIZATION_NAME = NameRule("Organization", _TENANCY, _TENANCY_ALLOWED)
DATACENTER_NAME = NameRule("Datacenter", _TENANCY, _TENANCY_ALLOWED)
CLUSTER_NAME = NameRule("Cluster", _TENANCY, _TENANCY_ALLOWED)

INSTANCE_NAME_MAX = 255
#: Instance names become the hypervisor's domain title: any printable characters (no
#: newline, tab or other control character), checked once stripped of outer blanks.
INSTANCE_NAME = NameRule(
    "Instance",
    re.compile(rf".{{3,{INSTANCE_NAME_MAX}}}", re.DOTALL),
    f"use 3 to {INSTANCE_NAME_MAX} printable characters, without control characters such "
    "as newlines or tabs",
    printable=True,
)

SNAPSHOT_NAME = NameRule(
    "Snapshot",
    re.compile(r"[A-Za-z0-9_.-]{1,64}"),
    "use 1 to 64 letters, digits, '_', '.' or '-'",
)

DEVICE_NAME = NameRule(
    "Device",
    re.compile(r"\S{3,32}"),
    "use 3 to 32 printable characters without spaces",
    printable=True,
)

VOLUME_NAME_MAX = 255
#: A volume's name is only its label (its file is ``<volume id>.<format>``), so, like an
#: instance's (deploy names volumes ``<instance name>-disk<n>``), any printable characters.
VOLUME_NAME = NameRule(
    "Volume",
    re.compile(rf".{{1,{VOLUME_NAME_MAX}}}", re.DOTALL),
    f"use 1 to {VOLUME_NAME_MAX} printable characters, without control characters such as "
    "newlines or tabs",
    printable=True,
)

IMAGE_NAME_MAX_BYTES = FILE_NAME_MAX_BYTES - len(IMAGE_FILE_PREFIX.encode())
#: Image names become file names in their pool (``image-<name>``), so they hold only
#: characters that are safe in a file name and fit the filesystem's 255 bytes with the prefix.
IMAGE_NAME = NameRule(
    "Image",
    re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*"),
    "use letters, digits, '.', '_', '+' or '-', starting with a letter or digit, at most "
    f"{IMAGE_NAME_MAX_BYTES} bytes (it is stored as the file {IMAGE_FILE_PREFIX}<name>, and "
    f"a file name takes at most {FILE_NAME_MAX_BYTES} bytes)",
    max_bytes=IMAGE_NAME_MAX_BYTES,
)

#: IAM policy names are read in lists and pickers next to the built-in ones ("Console
#: user"), so they may hold spaces, though not at either end.
POLICY_NAME = NameRule(
    "Policy",
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?"),
    "use 1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit "
    "and not ending with a space",
)

#: Sign-in takes the user name alone, so it is unique across the deployment (services check
#: that, ignoring case); e-mail-like names (``ana.lima@example.com``) fit, as directory
#: users often have them.
USERNAME = NameRule(
    "User",
    re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,63}"),
    "use 3 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
)

#: A POSIX account name as Debian's useradd takes it by default (lower-case, at most 32
#: characters, not starting with a digit or '-'): the node console runs as this account.
LINUX_USER = NameRule(
    "Linux user",
    re.compile(r"[a-z_][a-z0-9_-]{0,31}"),
    "use 1 to 32 lower-case letters, digits, '_' or '-', starting with a letter or '_'",
)

#: Storage pool names are unique in their cluster and never change; LVM and ZFS pools
#: name their volume group or zpool after the pool unless told otherwise, so a pool name
#: is also a valid name there in the common case (letters first, no spaces).
POOL_NAME = NameRule(
    "Storage pool",
    re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}"),
    "use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter",
)

#: An LVM volume group as vgcreate takes it (lvm(8) "Valid names"): no leading '-', and
#: not "." or "..", which the character set alone would let through.
VOLUME_GROUP_NAME = NameRule(
    "Volume group",
    re.compile(r"(?!\.{1,2}\Z)[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}"),
    "use 1 to 127 letters, digits, '+', '_', '.' or '-', not starting with '-' and not '.' or '..'",
)

#: A zpool name as zpool create takes it: a letter first; the words ZFS reserves for
#: vdev kinds (mirror, raidz, draid, spare, log) and c0-style device names are refused.
ZFS_POOL_NAME = NameRule(
    "ZFS pool",
    re.compile(r"(?!(?:mirror|raidz|draid|spare|log)|c[0-9])[A-Za-z][A-Za-z0-9_.:-]{0,254}"),
    "use 1 to 255 letters, digits, '_', '.', ':' or '-', starting with a letter, and not "
    "starting with mirror, raidz, draid, spare, log or c followed by a digit",
)

#: A Ceph pool or client (cephx user) name: what the rbd and ceph tools accept in
#: ``pool/image`` and ``client.<user>`` without quoting.
CEPH_NAME = NameRule(
    "Ceph",
    re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
    "use 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
)

NAME_RULES: tuple[NameRule, ...] = (
    ORGANIZATION_NAME,
    DATACENTER_NAME,
    CLUSTER_NAME,
    INSTANCE_NAME,
    SNAPSHOT_NAME,
    DEVICE_NAME,
    VOLUME_NAME,
    IMAGE_NAME,
    POLICY_NAME,
    USERNAME,
    LINUX_USER,
    POOL_NAME,
    VOLUME_GROUP_NAME,
    ZFS_POOL_NAME,
    CEPH_NAME,
)


def check_instance_name(value: str, *, field: str = "name") -> str:
    """Instance names, stripped of outer blanks first (what users type in a form).
    Returns the stripped name."""
    name = value.strip()
    try:
        return INSTANCE_NAME.check(name, field=field)
    except InvalidInput:
        raise InvalidInput(
            f"Instance name {value!r} is not valid: {INSTANCE_NAME.allowed}.", field=field
        ) from None


def check_description(value: str, *, field: str = "description") -> str:
    if len(value) > DESCRIPTION_MAX:
        raise InvalidInput(
            f"The description has {len(value)} characters; at most {DESCRIPTION_MAX} are allowed.",
            field=field,
        )
    return value


def check_location(latitude: float, longitude: float) -> tuple[float, float]:
    if not -90.0 <= latitude <= 90.0:
        raise InvalidInput(
            f"Latitude {latitude} is out of range; it must be between -90 and 90.",
            field="location.latitude",
        )
    if not -180.0 <= longitude <= 180.0:
        raise InvalidInput(
            f"Longitude {longitude} is out of range; it must be between -180 and 180.",
            field="location.longitude",
        )
    return latitude, longitude


#: A trusted license issuer's name, read in lists next to its fingerprint ("Vendor A").
ISSUER_NAME = NameRule(
    "License issuer",
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?"),
    "use 1 to 64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit "
    "and not ending with a space",
)
