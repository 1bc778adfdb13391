"""Value rules the product documents, enforced here for every client alike."""

from __future__ import annotations

import re

from cloudenv.errors import InvalidInput

NAME_PATTERN = r"^[a-zA-Z0-9_-]{3,64}$"
DESCRIPTION_MAX = 512
_NAME = re.compile(NAME_PATTERN)


def check_name(value: str, *, what: str, field: str = "name") -> str:
    """Organization, datacenter and cluster names: 3-64 of letters, digits, '_' and '-'."""
    if not _NAME.match(value):
        raise InvalidInput(
            f"{what} name {value!r} is not valid: use 3 to 64 characters, "
            "letters, digits, '_' or '-' only.",
            field=field,
        )
    return value


INSTANCE_NAME_MAX = 255


def check_instance_name(value: str, *, field: str = "name") -> str:
    """Instance names: 3-255 printable characters once stripped (no newline, tab or other
    control character; the name becomes the hypervisor's domain title). Returns the
    stripped name."""
    name = value.strip()
    if not 3 <= len(name) <= INSTANCE_NAME_MAX or not name.isprintable():
        raise InvalidInput(
            f"Instance name {value!r} is not valid: use 3 to {INSTANCE_NAME_MAX} printable "
            "characters, without control characters such as newlines or tabs.",
            field=field,
        )
    return name


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
