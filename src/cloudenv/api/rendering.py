"""Rendering large replies once, fast. FastAPI validates a returned value against the
route's ``response_model`` and then serializes it; for the resource tree (thousands of
nodes) and instance lists (hundreds of rows) that second pass cost more than building the
reply. Routes with big replies turn their service records into plain dicts here, field for
field as their schema shows them (``tests/unit/api/test_rendering.py`` holds each to its
schema), and send them as orjson bytes; ``response_model`` still documents them.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from fastapi import Response
from pydantic import TypeAdapter

from cloudenv import clock
from cloudenv.services.compute.instances import InstanceView
from cloudenv.services.tenancy.views import (
    ClusterView,
    DatacenterView,
    NodeView,
    OrganizationTree,
    OrganizationView,
)

Json = dict[str, Any]


def rfc3339(value: datetime) -> str:
    """``clock.rfc3339`` for the aware UTC times the store returns, in a third of the time
    (lists format hundreds)."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031 (faster than f-strings here)
        value.year, value.month, value.day, value.hour, value.minute, value.second
    )  # fmt: skip


def json_response(value: Any) -> Response:
    """``value`` (plain dicts, lists, str, int, float, bool, None) as application/json."""
    return Response(orjson.dumps(value), media_type="application/json")


# Plain renderers: one per schema (api/schemas), same keys in the same order.


def instance_entry(v: InstanceView) -> Json:
    """``schemas.compute.Instance``: an instance list entry."""
    return {
        "id": v.id,
        "node_id": v.node_id,
        "organization_id": v.organization_id,
        "type": v.type,
        "name": v.name,
        "description": v.description,
        "cpu": {"sockets": v.sockets, "cores": v.cores, "threads": v.threads},
        "vcpus": v.vcpus,
        "memory": v.memory,
        "creation": rfc3339(v.creation),
        "autostart": v.autostart,
        "boot_order": v.boot_order,
        "state": v.state,
        "desired_state": v.desired_state,
        "state_message": v.state_message,
        "current_task_id": v.current_task_id,
    }


def organization_entry(v: OrganizationView) -> Json:
    """``schemas.tenancy.Organization``."""
    return {
        "id": v.id,
        "name": v.name,
        "creation": clock.rfc3339(v.creation),
        "description": v.description,
    }


def datacenter_entry(v: DatacenterView) -> Json:
    """``schemas.tenancy.Datacenter``."""
    location = v.location
    return {
        "id": v.id,
        "organization_id": v.organization_id,
        "name": v.name,
        "location": (
            None
            if location is None
            else {"latitude": location.latitude, "longitude": location.longitude}
        ),
        "creation": clock.rfc3339(v.creation),
        "description": v.description,
    }


def cluster_entry(v: ClusterView) -> Json:
    """``schemas.tenancy.Cluster`` (the tree's, without ``health_status``)."""
    return {
        "id": v.id,
        "organization_id": v.organization_id,
        "datacenter_id": v.datacenter_id,
        "name": v.name,
        "creation": clock.rfc3339(v.creation),
        "description": v.description,
        "node_count": v.node_count,
        "fault_tolerance": v.fault_tolerance,
        "standalone": v.standalone,
        "leader_id": v.leader_id,
        "has_leader": v.has_leader,
    }


def node_entry(v: NodeView, seconds: Callable[[datetime | None], str | None]) -> Json:
    """``schemas.tenancy.Node`` (the tree's, without keys and certificates)."""
    return {
        "id": v.id,
        "organization_id": v.organization_id,
        "cluster_id": v.cluster_id,
        "name": v.name,
        "description": v.description,
        "ip_address": v.ip_address,
        "wol_mac": v.wol_mac,
        "creation": seconds(v.creation),
        "alive": v.alive,
        "last_seen": seconds(v.last_seen),
        "joining": v.joining,
    }


def tree_entries(trees: Sequence[OrganizationTree]) -> list[Json]:
    """``list[schemas.tenancy.OrganizationTree]``."""
    seconds = _memo_rfc3339()
    return [
        {
            "organization": organization_entry(t.organization),
            "datacenters": [datacenter_entry(d) for d in t.datacenters],
            "clusters": [cluster_entry(c) for c in t.clusters],
            "nodes": [node_entry(n, seconds) for n in t.nodes],
        }
        for t in trees
    ]


def _memo_rfc3339() -> Callable[[datetime | None], str | None]:
    """``clock.rfc3339`` remembering its answers: seeded and bulk-made objects share their
    timestamps, and formatting a time costs more than looking it up."""
    seen: dict[datetime | None, str | None] = {}

    def seconds(value: datetime | None) -> str | None:
        text = seen.get(value, "")
        if text == "":
            text = seen[value] = clock.rfc3339(value)
        return text

    return seconds


@cache
def _adapter(schema: Any) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def render(schema: Any, value: Any) -> Response:
    """``value`` (already instances of ``schema``) as an application/json response."""
    return Response(_adapter(schema).dump_json(value), media_type="application/json")


class VersionedCache:
    """Rendered replies keyed by who asks, kept while what they show is unchanged.

    A reply is stored with the version of the data it was rendered from (for the tree: the
    newest event that changed the tree and a signature of the nodes' heartbeats, see
    ``services.tenancy.views.tree_version``) and the moment it turns wrong by itself (a
    node shown alive whose heartbeat window runs out). It is served until either happens,
    so it is never stale and never rebuilt without a reason; no timer is involved.

    A client that accepts gzip (browsers, httpx, Go's HTTP client, all by default) gets
    the reply compressed once per version: a 358 KB tree is ~30 KB on the wire, which
    costs less TLS and transfer than sending the plain bytes, however fast.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, _Rendered] = {}
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, version: Hashable) -> bytes | None:
        entry = self._entry(key, version)
        return None if entry is None else entry.body

    def _entry(self, key: Hashable, version: Hashable) -> _Rendered | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.version != version:
            return None
        if entry.valid_until is not None and clock.now() > entry.valid_until:
            return None
        return entry

    def put(
        self, key: Hashable, version: Hashable, body: bytes, valid_until: datetime | None = None
    ) -> None:
        self._store(key, _Rendered(version, valid_until, body))

    def _store(self, key: Hashable, entry: _Rendered) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # scopes are few; a full reset is simplest and rare
            self._entries[key] = entry

    def fetch(
        self,
        key: Hashable,
        version: Hashable,
        produce: Callable[[], tuple[Any, datetime | None]],
    ) -> Any:
        """``produce()``'s value itself, kept like a rendered reply, for callers that filter
        it per request before rendering (the tree for a caller whose policies don't let it
        read everything it sees)."""
        entry = self._entry(key, version)
        if entry is None:
            with self._lock:
                building = self._building.setdefault(key, threading.Lock())
            with building:
                entry = self._entry(key, version)
                if entry is None:
                    value, valid_until = produce()
                    entry = _Rendered(version, valid_until, b"", value=value)
                    self._store(key, entry)
        return entry.value

    def render(
        self,
        key: Hashable,
        version: Hashable,
        produce: Callable[[], tuple[Any, datetime | None]],
        *,
        gzip_ok: bool = False,
    ) -> Response:
        """The cached reply for ``key`` at ``version``, or ``produce()``'s (value, valid
        until) rendered and kept; gzip-compressed when the client accepts it.

        One caller renders a missing reply while others for the same key wait for it
        (single flight): under load, a change costs one rebuild, not one per thread.
        """
        entry = self._entry(key, version)
        if entry is None or (gzip_ok and entry.gzipped is None):
            with self._lock:
                building = self._building.setdefault(key, threading.Lock())
            with building:
                entry = self._entry(key, version)
                if entry is None:
                    value, valid_until = produce()
                    entry = _Rendered(version, valid_until, orjson.dumps(value))
                    self._store(key, entry)
                if gzip_ok and entry.gzipped is None:
                    entry.gzipped = gzip.compress(entry.body, compresslevel=6, mtime=0)
        if gzip_ok and entry.gzipped is not None:
            return Response(entry.gzipped, media_type="application/json", headers=_GZIPPED)
        return Response(entry.body, media_type="application/json", headers=_VARY)


@dataclass(slots=True)
class _Rendered:
    """One rendered reply: what it was rendered from, until when it holds, its bytes (and
    their gzip form once a client asked for it)."""

    version: Hashable
    valid_until: datetime | None
    body: bytes
    gzipped: bytes | None = None
    #: The produced value itself (``fetch``), when it is filtered before rendering.
    value: Any = None


_VARY = {"Vary": "Accept-Encoding"}
_GZIPPED = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header admits gzip (``gzip;q=0`` refuses it)."""
    for part in (accept_encoding or "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
