"""Giving a volume to an instance by compare-and-swap.

An attach and a deploy with ``existing_volumes`` both check that a volume is free and then
take it. Checked and written as two statements, two transactions could both see it free
(on PostgreSQL each reads what was committed when it looked) and both take it. The take is
therefore one ``UPDATE … WHERE instance_id IS NULL``: the database lets exactly one of them
change the row, and the other is refused with the instance that holds it now.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from cloudenv.enums import VolumeStatus
from cloudenv.errors import Conflict
from cloudenv.store.tables import Volume


def claim_volume(
    db: Session, volume: Volume, instance_id: str, *, status: VolumeStatus, field: str
) -> None:
    """Set ``volume.instance_id`` (and ``status``) only if no instance holds it and it is
    available; otherwise Conflict naming the holder. ``volume`` is refreshed either way."""
    taken = db.execute(
        update(Volume)
        .where(
            Volume.id == volume.id,
            Volume.instance_id.is_(None),
            Volume.status == VolumeStatus.AVAILABLE.value,
        )
        .values(instance_id=instance_id, status=status.value)
        .execution_options(synchronize_session=False)
    )
    db.refresh(volume)
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        holder = volume.instance_id
        now = f"attached to instance {holder}" if holder else "no longer available"
        raise Conflict(
            f"Volume {volume.name} ({volume.id}) was just {now}; detach it there first, or "
            "choose another volume.",
            field=field,
        )
