"""``GET /api/v1/events``: the change feed as Server-Sent Events, filtered per caller.

Each event is ``id: <n>`` / ``event: <kind>`` / ``data: <json>``; a client that reconnects
with ``Last-Event-ID`` (browsers do it themselves) or ``?since=`` misses nothing. The stream
polls the events table, so it works the same whichever node wrote the event.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cloudenv import clock
from cloudenv.api.deps import CurrentPrincipal
from cloudenv.services import events
from cloudenv.services.access import Principal
from cloudenv.services.events import EventView
from cloudenv.store.engine import transaction

router = APIRouter(prefix="/v1/events", tags=["events"])

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0


def _format(event: EventView) -> str:
    data = {
        "id": event.id,
        "kind": event.kind,
        "time": clock.rfc3339(event.time),
        "organization_id": event.organization_id,
        "target_id": event.target_id,
        "data": event.data,
    }
    return f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(data)}\n\n"


@router.get(
    "",
    name="event.stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    principal: CurrentPrincipal,
    since: Annotated[int | None, Query(ge=0, description="Resume after this event ID.")] = None,
    timeout: Annotated[float | None, Query(gt=0, description="End after N seconds.")] = None,
) -> StreamingResponse:
    factory = request.app.state.session_factory
    resume = request.headers.get("last-event-id")
    start = since if since is not None else (int(resume) if resume and resume.isdigit() else None)

    def read(after: int, who: Principal) -> list[EventView]:
        with transaction(factory) as db:
            return list(events.read_since(db, who, after))

    def newest() -> int:
        with transaction(factory) as db:
            return events.latest_id(db)

    async def body() -> AsyncIterator[str]:
        after = start if start is not None else await run_in_threadpool(newest)
        deadline = None if timeout is None else time.monotonic() + timeout
        last_sent = time.monotonic()
        yield ": connected\n\n"
        while deadline is None or time.monotonic() < deadline:
            if await request.is_disconnected():
                return
            batch = await run_in_threadpool(read, after, principal)
            for event in batch:
                after = event.id
                yield _format(event)
            if batch:
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
