"""The daemon's own log: JSON lines in a size-bounded file of the data dir, written by
every process of ``cloudenv serve`` and read back for ``GET /v1/nodes/{id}/logs``.

Why a file of our own: a node may run without systemd (no journal to ask), and the API
must answer from what the daemon itself logged, the agent's lines included, although the
agent runs in another process than the API worker asking.

- Where: ``<data dir>/logs/cloudenv.log``, rotated to ``cloudenv.log.1`` ...
  ``cloudenv.log.<BACKUPS>``: at most ``(BACKUPS + 1) * MAX_BYTES`` on disk, whatever
  runs for a year. Mode 0600: the log holds what error messages keep from API users
  (host paths, the text of unexpected exceptions).
- Format: one JSON object per line, ``{"t": Unix seconds, "p": syslog severity,
  "l": logger, "pid": process, "th": thread, "m": message}``; a traceback is part of
  its message, as the journal keeps it.
- Several writers: the agent's process and each API worker append to the same file.
  Every write and every rotation is done holding an exclusive ``flock`` on
  ``cloudenv.log.lock``, as one ``write`` of a whole line; a writer whose file another
  process rotated away sees that the path now names another inode and reopens it. A
  reader holds the lock shared, so it never sees a rotation half done.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

LOG_DIR = "logs"
LOG_FILE = "cloudenv.log"
MAX_BYTES = 4 * 1024 * 1024
BACKUPS = 4
#: A message longer than this is cut (a runaway repr must not fill the log by itself).
MAX_MESSAGE = 64 * 1024
#: syslog's facility of system daemons: every line of ours has it.
FACILITY_DAEMON = 3
#: The journal's SYSLOG_IDENTIFIER of the daemon's own lines.
IDENTIFIER = "cloudenv"
#: Lines of concurrent writers reach the file in lock order, which may differ from the
#: order of their times by a little: a reader looking for lines after ``since`` reads on
#: past older ones for this many seconds before it stops.
REORDER_SECONDS = 2.0


def log_path(data_dir: Path) -> Path:
    return data_dir / LOG_DIR / LOG_FILE


def severity(levelno: int) -> int:
    """syslog's severity of a Python level: 2 critical, 3 error, 4 warning, 6 info,
    7 debug (Python has no notice, alert or emergency)."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


@contextlib.contextmanager
def _locked(lock_path: Path, operation: int) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class JsonLinesHandler(logging.Handler):
    """Appends each record as one JSON line to ``path``, rotating it at ``max_bytes``;
    safe with other processes doing the same to the same file (see the module)."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        super().__init__()
        if backups < 1:
            raise ValueError("keep at least one rotated file")
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock_path = path.with_name(path.name + ".lock")
        self._fd: int | None = None
        self._pid = os.getpid()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def line(self, record: logging.LogRecord) -> bytes:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        if record.stack_info:
            message += "\n" + record.stack_info
        return (
            orjson.dumps(
                {
                    "t": record.created,
                    "p": severity(record.levelno),
                    "l": record.name,
                    "pid": record.process or self._pid,
                    "th": record.threadName or "",
                    "m": message[:MAX_MESSAGE],
                }
            )
            + b"\n"
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.line(record)
            # ``handle`` holds this handler's lock: one thread of this process at a time.
            with _locked(self._lock_path, fcntl.LOCK_EX):
                self._append(line)
        except Exception:
            self.handleError(record)

    def _append(self, line: bytes) -> None:
        fd = self._current()
        size = os.fstat(fd).st_size
        if size and size + len(line) > self.max_bytes:
            self._rotate()
            fd = self._current()
        os.write(fd, line)

    def _current(self) -> int:
        """The descriptor of the file the path names now (another process may have
        rotated the one we had open)."""
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            on_disk = None
        if self._fd is not None and on_disk is not None:
            mine = os.fstat(self._fd)
            if (mine.st_ino, mine.st_dev) == (on_disk.st_ino, on_disk.st_dev):
                return self._fd
        self._close_fd()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def _rotate(self) -> None:
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._close_fd()
        super().close()


#: Loggers whose records don't reach the root logger (uvicorn's own configuration stops
#: them) but belong in the daemon's log: the server starting, stopping, failing.
SEPARATE_LOGGERS = ("uvicorn.error",)


def install(data_dir: Path) -> JsonLinesHandler:
    """Send this process's log records (the root logger's and ``SEPARATE_LOGGERS``') to
    the data dir's log file too; returns the handler (``uninstall`` removes it)."""
    handler = JsonLinesHandler(log_path(data_dir))
    logging.getLogger().addHandler(handler)
    attach_separate()
    return handler


def attach_separate() -> None:
    """(Again) give ``SEPARATE_LOGGERS`` the log file handlers the root logger has:
    configuring uvicorn's logging replaces their handlers, so whoever configures it
    calls this afterwards."""
    mine = [h for h in logging.getLogger().handlers if isinstance(h, JsonLinesHandler)]
    for name in SEPARATE_LOGGERS:
        logger = logging.getLogger(name)
        if _reaches_root(logger):
            continue  # the root's handler has its records already: not twice
        for handler in mine:
            if handler not in logger.handlers:
                logger.addHandler(handler)


def _reaches_root(logger: logging.Logger) -> bool:
    current: logging.Logger | None = logger
    while current is not None and current is not logging.getLogger():
        if not current.propagate:
            return False
        current = current.parent
    return True


def uninstall(handler: JsonLinesHandler) -> None:
    logging.getLogger().removeHandler(handler)
    for name in SEPARATE_LOGGERS:
        logging.getLogger(name).removeHandler(handler)
    handler.close()


# Reading it back ----------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    time: float
    priority: int
    logger: str
    pid: int
    thread: str
    message: str

    @property
    def identifier(self) -> str:
        """The program, as the journal's SYSLOG_IDENTIFIER: ours, or the library's that
        logged it (``uvicorn``, ``alembic``)."""
        top = self.logger.partition(".")[0]
        return IDENTIFIER if top in ("cloudenv", "root", "") else top


def read(
    path: Path,
    *,
    since: float | None = None,
    until: float | None = None,
    limit: int = 1000,
    max_priority: int | None = None,
    backups: int = BACKUPS,
) -> list[LogLine]:
    """The newest ``limit`` lines logged in [since, until] (Unix seconds; either open),
    at least as severe as ``max_priority`` when given, oldest first. Reads the current
    file, then the rotated ones, newest first, and stops once it has ``limit`` lines or
    reaches lines older than ``since``."""
    found: list[LogLine] = []
    files = [path, *(path.with_name(f"{path.name}.{i}") for i in range(1, backups + 1))]
    lock_path = path.with_name(path.name + ".lock")
    if not lock_path.parent.is_dir():
        return []
    with _locked(lock_path, fcntl.LOCK_SH):
        for file in files:
            try:
                data = file.read_bytes()
            except FileNotFoundError:
                continue
            if _collect(data, found, since, until, limit, max_priority):
                break
    found.reverse()
    return found


def _collect(
    data: bytes,
    found: list[LogLine],
    since: float | None,
    until: float | None,
    limit: int,
    max_priority: int | None,
) -> bool:
    """Add ``data``'s matching lines to ``found``, newest first; True when done."""
    for raw in reversed(data.split(b"\n")):
        if not raw:
            continue
        try:
            record = orjson.loads(raw)
            time, priority = float(record["t"]), int(record["p"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # not one of our lines: skipped, never fatal
        if since is not None and time < since:
            if time < since - REORDER_SECONDS:
                return True
            continue
        if until is not None and time > until:
            continue
        if max_priority is not None and priority > max_priority:
            continue
        found.append(
            LogLine(
                time=time,
                priority=priority,
                logger=str(record.get("l", "")),
                pid=int(record.get("pid", 0)),
                thread=str(record.get("th", "")),
                message=str(record.get("m", "")),
            )
        )
        if len(found) >= limit:
            return True
    return False
