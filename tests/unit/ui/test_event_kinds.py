"""The web UI listens to server-sent events by name, so it must know every kind the server
emits: a kind missing from ``frontend/src/api/events.ts`` would never reach the UI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cloudenv.services.events import EventKind

pytestmark = pytest.mark.unit

EVENTS_TS = Path(__file__).parents[3] / "frontend" / "src" / "api" / "events.ts"


def test_the_ui_listens_to_every_event_kind() -> None:
    source = EVENTS_TS.read_text()
    block = source[source.index("export const EVENT_KINDS") :]
    listed = re.findall(r'"([a-z_]+\.[a-z_]+)"', block[: block.index("] as const")])
    assert listed == [kind.value for kind in EventKind]
