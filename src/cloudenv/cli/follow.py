"""Waiting on a task: follow ``/api/v1/events`` for its ``task.updated`` events with a
progress bar, instead of asking ``/api/v1/tasks/{id}`` over and over.

The task is read once when the stream is connected (it may have moved, or ended, between
the request that queued it and the stream) and once at the end for its final state and
message. A stream that breaks is resumed with ``Last-Event-ID``, so no update is missed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from cloudenv.cli.client import ApiClient, error_message, segment
from cloudenv.cli.output import fail, warn

# What a task is while it has not ended; any other status is final.
UNFINISHED = frozenset({"queued", "running"})
# A silent stream still sends a keep-alive every 15 s; this much silence means it is gone.
READ_TIMEOUT = 45.0
RETRY_SECONDS = 1.0
MAX_RETRIES = 10


@dataclass
class ServerSentEvent:
    """One event of a ``text/event-stream``; ``comment`` holds a ``:`` line's text."""

    event: str = "message"
    id: str | None = None
    data: list[str] = field(default_factory=list)
    comment: str | None = None

    def json(self) -> Any:
        return json.loads("\n".join(self.data))


def parse_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events of an SSE stream, as the HTML standard frames them (blank line ends one)."""
    current = ServerSentEvent()
    for line in lines:
        if not line:
            if current.data or current.id is not None:
                yield current
            current = ServerSentEvent()
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if not name:
            yield ServerSentEvent(comment=value)
        elif name == "event":
            current.event = value
        elif name == "id":
            current.id = value
        elif name == "data":
            current.data.append(value)


class TaskFollower:
    """The state of one wait: where the stream got to and what the task looks like."""

    def __init__(self, client: ApiClient, task_id: str, deadline: float) -> None:
        self.client, self.task_id, self.deadline = client, task_id, deadline
        self.last_event_id: str | None = None
        self.status = "queued"
        self.progress = 0
        self.note = task_id

    @property
    def ended(self) -> bool:
        return self.status not in UNFINISHED

    def take(self, task: dict[str, Any]) -> None:
        """Adopt a task read from ``/api/v1/tasks/{id}``."""
        self.status, self.progress = task["status"], task["progress"]
        self.note = task["log"][-1]["message"] if task["log"] else task["status"]

    def stream_once(self, on_change: Callable[[], None]) -> None:
        """Read the events stream until the task ends, the deadline, or the stream ends."""
        headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
        remaining = max(1.0, self.deadline - time.monotonic())
        timeout = httpx.Timeout(30.0, read=READ_TIMEOUT)
        params = {"timeout": f"{remaining:.0f}"}
        with self.client.http.stream(
            "GET", "/v1/events", params=params, headers=headers, timeout=timeout
        ) as response:
            if response.status_code >= 400:
                response.read()
                fail(f"Cannot follow task {self.task_id}: {error_message(response)}")
            for sse in parse_sse(response.iter_lines()):
                if sse.comment == "connected":
                    # Anything before this moment is in the task itself; later, in events.
                    self.take(self.client.get(f"/v1/tasks/{segment(self.task_id)}"))
                    on_change()
                elif sse.id is not None:
                    self.last_event_id = sse.id
                    self._event(sse, on_change)
                if self.ended or time.monotonic() > self.deadline:
                    return

    def _event(self, sse: ServerSentEvent, on_change: Callable[[], None]) -> None:
        if sse.event != "task.updated":
            return
        payload = sse.json()
        if payload.get("target_id") != self.task_id:
            return
        data = payload.get("data") or {}
        self.status = str(data.get("status", self.status))
        self.progress = int(data.get("progress", self.progress))
        self.note = f"{self.status} {self.progress}%"
        on_change()


def follow_task(client: ApiClient, task_id: str, timeout: float) -> dict[str, Any]:
    """Wait until the task ends (or ``timeout``), showing its progress; its final state."""
    from rich.progress import Progress

    follower = TaskFollower(client, task_id, time.monotonic() + timeout)
    retries = 0
    with Progress(transient=True) as progress:
        bar = progress.add_task(task_id, total=100)

        def show() -> None:
            progress.update(bar, completed=follower.progress, description=follower.note[:60])

        while not follower.ended and time.monotonic() < follower.deadline:
            try:
                follower.stream_once(show)
                retries = 0
            except httpx.TransportError as exc:
                retries += 1
                if retries > MAX_RETRIES:
                    fail(f"Lost the events stream while following task {task_id}: {exc}.")
                warn(f"The events stream broke ({exc}); resuming.")
                time.sleep(RETRY_SECONDS)
    task: dict[str, Any] = client.get(f"/v1/tasks/{segment(task_id)}")
    if task["status"] in UNFINISHED:
        fail(f"Task {task_id} is still {task['status']} after {timeout:.0f} s.")
    return task
