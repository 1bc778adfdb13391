"""Rendering large replies once. FastAPI validates a returned value against the route's
``response_model`` and then serializes it; for the resource tree (thousands of nodes)
that second pass cost as much as building the reply. Routes with big replies render
their schema objects straight to JSON bytes here; ``response_model`` still documents them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

from fastapi import Response
from pydantic import TypeAdapter


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def render(schema: Any, value: Any) -> Response:
    """``value`` (already instances of ``schema``) as an application/json response."""
    return Response(_adapter(schema).dump_json(value), media_type="application/json")


class VersionedCache:
    """Rendered replies keyed by who asks and by the store's change version.

    Every change a service makes publishes an event in the same transaction, so the newest
    event ID is a version of everything a reply shows: a reply rendered at that version
    stays right until the next change, whichever node makes it. ``ttl`` bounds what
    changes without an event (node heartbeats' ``last_seen``, ``alive``) to that many
    seconds of staleness.
    """

    def __init__(self, ttl: float = 1.0, max_entries: int = 256) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[int, float, bytes]] = {}
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, version: int) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        stored_version, stored_at, body = entry
        if stored_version != version or time.monotonic() - stored_at > self.ttl:
            return None
        return body

    def put(self, key: Hashable, version: int, body: bytes) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # scopes are few; a full reset is simplest and rare
            self._entries[key] = (version, time.monotonic(), body)

    def render(
        self, key: Hashable, version: int, schema: Any, produce: Callable[[], Any]
    ) -> Response:
        """The cached reply for ``key`` at ``version``, or ``produce()`` rendered and kept.

        One caller renders a missing reply while others for the same key wait for it
        (single flight): under load, an expired entry costs one rebuild, not one per thread.
        """
        body = self.get(key, version)
        if body is None:
            with self._lock:
                building = self._building.setdefault(key, threading.Lock())
            with building:
                body = self.get(key, version)
                if body is None:
                    body = _adapter(schema).dump_json(produce())
                    self.put(key, version, body)
        return Response(body, media_type="application/json")
