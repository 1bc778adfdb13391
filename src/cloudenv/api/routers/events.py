"""``GET /api/v1/events``: the change feed as Server-Sent Events, filtered per caller.

Each event is ``id: <n>`` / ``event: <kind>`` / ``data: <json>``. The root organization's
callers see global IDs; everyone else sees their organization's own numbering, so IDs
reveal nothing about other tenants. A client that reconnects with ``Last-Event-ID``
(browsers do it themselves) or ``?since=`` misses nothing: the stream first reads what it
missed from the database, then takes over from the process's shared feed
(``api/event_feed.py``), which polls the events table for all streams at once and so works
whichever node wrote the event. The feed ends a stream whose session stops being valid.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cloudenv import clock
from cloudenv.api.deps import CurrentPrincipal, request_token
from cloudenv.api.event_feed import (
    STREAMS_PER_USER,
    EventFeed,
    StreamEnded,
    Subscription,
    feed_for,
)
from cloudenv.services import event_visibility, events
from cloudenv.services.access import Principal
from cloudenv.services.events import EventView
from cloudenv.store.engine import transaction

router = APIRouter(prefix="/v1/events", tags=["events"])

KEEPALIVE_SECONDS = 15.0
BACKLOG_PAGE = 500
BACKLOG_MEMORY = 2000


def _format(event: EventView, cursor: int) -> str:
    data = {
        "id": cursor,
        "kind": event.kind,
        "time": clock.rfc3339(event.time),
        "organization_id": event.organization_id,
        "target_id": event.target_id,
        "data": event.data,
    }
    return f"id: {cursor}\nevent: {event.kind}\ndata: {json.dumps(data)}\n\n"


def _start(since: str | None, last_event_id: str | None) -> int | None:
    """Where the client resumes: ``?since=`` wins over ``Last-Event-ID``; None is now."""
    if since is not None:
        return events.parse_cursor(since, "since")
    if last_event_id is not None:
        return events.parse_cursor(last_event_id, "Last-Event-ID")
    return None


@router.get(
    "",
    name="event.stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        400: {"description": "`since` or Last-Event-ID is not an event ID (0 to 2^63-1)."},
        429: {
            "description": f"The user already holds {STREAMS_PER_USER} event streams on this "
            "node, the most one user may; close one and retry."
        },
    },
)
async def stream_events(
    request: Request,
    principal: CurrentPrincipal,
    since: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Resume after this event ID (a whole number the stream sent, at "
            "most 2^63-1); the Last-Event-ID header does the same.",
            json_schema_extra={"pattern": "^[0-9]{1,19}$"},
        ),
    ] = None,
    timeout: Annotated[float | None, Query(gt=0, description="End after N seconds.")] = None,
) -> StreamingResponse:
    start = _start(since, request.headers.get("last-event-id"))
    feed = feed_for(request.app.state, request.app.state.session_factory)
    subscription = feed.reserve(asyncio.get_running_loop(), principal, request_token(request) or "")
    deadline = None if timeout is None else time.monotonic() + timeout
    return StreamingResponse(
        _body(request, feed, subscription, start, deadline),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _body(
    request: Request,
    feed: EventFeed,
    subscription: Subscription,
    start: int | None,
    deadline: float | None,
) -> AsyncIterator[str]:
    try:
        handover = await run_in_threadpool(feed.activate, subscription)
        yield ": connected\n\n"
        # The backlog's last IDs: an event that committed late may come from the feed too.
        sent: deque[int] = deque(maxlen=BACKLOG_MEMORY)
        if start is not None:
            async for chunk, position in _backlog(request, subscription.principal, start, handover):
                sent.append(position)
                yield chunk
        while True:
            wait = KEEPALIVE_SECONDS
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return
            try:
                item = await asyncio.wait_for(subscription.next(), wait)
            except TimeoutError:
                if deadline is None or time.monotonic() < deadline:
                    yield ": keep-alive\n\n"
                continue
            if isinstance(item, StreamEnded):
                yield f": stream ended: {item.reason}\n\n"
                return
            position = events.cursor_of(subscription.principal, item)
            if position not in sent:
                yield _format(item, position)
    finally:
        feed.unsubscribe(subscription)


async def _backlog(
    request: Request, principal: Principal, after: int, handover: int
) -> AsyncIterator[tuple[str, int]]:
    """What the client missed, read from the database up to where the feed took over."""
    factory = request.app.state.session_factory

    def read(position: int) -> tuple[list[EventView], list[EventView]]:
        """A page of what the scope sees, and those of it the policies let the caller see."""
        with transaction(factory) as db:
            page = list(
                events.read_since(db, principal, position, up_to_id=handover, limit=BACKLOG_PAGE)
            )
            gates = event_visibility.gates(db, page) if page else {}
        return page, [e for e in page if event_visibility.may_see(principal, e, gates[e.id])]

    position = after
    while True:
        page, shown = await run_in_threadpool(read, position)
        for event in shown:
            cursor = events.cursor_of(principal, event)
            yield _format(event, cursor), cursor
        if page:
            position = events.cursor_of(principal, page[-1])
        if len(page) < BACKLOG_PAGE:
            return
