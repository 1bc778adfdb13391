"""The daemon's log file (cloudenv/daemon_log.py): JSON lines read back with filters,
bounded by rotation, and whole lines when several processes write at once."""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudenv import daemon_log
from cloudenv.daemon_log import JsonLinesHandler, read

pytestmark = pytest.mark.unit


@pytest.fixture
def logger(tmp_path: Path) -> Iterator[tuple[logging.Logger, Path]]:
    path = tmp_path / "logs" / "cloudenv.log"
    handler = JsonLinesHandler(path)
    log = logging.getLogger(f"cloudenv.test.{tmp_path.name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    try:
        yield log, path
    finally:
        log.removeHandler(handler)
        handler.close()


@pytest.fixture
def uvicorn_loggers() -> Iterator[None]:
    """uvicorn's loggers as a process that hasn't configured uvicorn has them (propagating,
    no handlers, no level), whatever an earlier test in this process did to them (a served
    app configures them); their state is put back afterwards."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.propagate, list(logger.handlers), logger.level, logger.disabled)
        logger.propagate, logger.handlers, logger.disabled = True, [], False
        logger.setLevel(logging.NOTSET)
    try:
        yield
    finally:
        for name, (propagate, handlers, level, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.propagate, logger.handlers, logger.disabled = propagate, handlers, disabled
            logger.setLevel(level)


def _record(name: str, level: int, message: str, created: float) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, message, None, None)
    record.created = created
    return record


def test_lines_read_back_with_the_journal_severities(
    logger: tuple[logging.Logger, Path],
) -> None:
    log, path = logger
    log.debug("d")
    log.info("i %s", "arg")
    log.warning("w")
    log.error("e")
    log.critical("c")
    lines = read(path)
    assert [(line.priority, line.message) for line in lines] == [
        (7, "d"),
        (6, "i arg"),
        (4, "w"),
        (3, "e"),
        (2, "c"),
    ]
    assert all(line.identifier == "cloudenv" and line.logger == log.name for line in lines)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_traceback_is_part_of_its_lines_message(logger: tuple[logging.Logger, Path]) -> None:
    log, path = logger
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    (line,) = read(path)
    assert line.priority == 3
    assert line.message.startswith("it failed\nTraceback (most recent call last):")
    assert line.message.endswith("ValueError: boom")


def test_since_until_limit_and_priority_filter_the_lines(tmp_path: Path) -> None:
    path = tmp_path / "cloudenv.log"
    handler = JsonLinesHandler(path)
    for second in range(10):
        level = logging.WARNING if second % 3 == 0 else logging.INFO
        handler.emit(_record("cloudenv.x", level, f"line {second}", 1000.0 + second))
    handler.close()

    def messages(**kwargs: float | int) -> list[str]:
        return [line.message for line in read(path, **kwargs)]  # type: ignore[arg-type]

    assert messages(since=1007) == ["line 7", "line 8", "line 9"]
    assert messages(until=1002) == ["line 0", "line 1", "line 2"]
    assert messages(since=1003, until=1005) == ["line 3", "line 4", "line 5"]
    assert messages(limit=2) == ["line 8", "line 9"]  # the newest, oldest first
    assert messages(max_priority=4) == ["line 0", "line 3", "line 6", "line 9"]
    assert messages(max_priority=4, limit=1, until=1008) == ["line 6"]


def test_lines_that_are_not_ours_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "cloudenv.log"
    handler = JsonLinesHandler(path)
    handler.emit(_record("cloudenv.x", logging.INFO, "ours", 1.0))
    with path.open("ab") as file:
        file.write(b"not json\n{}\n[1]\n")
    handler.emit(_record("uvicorn.error", logging.INFO, "also ours", 2.0))
    handler.close()
    lines = read(path)
    assert [(line.identifier, line.message) for line in lines] == [
        ("cloudenv", "ours"),
        ("uvicorn", "also ours"),
    ]


def test_rotation_bounds_the_files_and_reads_across_them(tmp_path: Path) -> None:
    path = tmp_path / "cloudenv.log"
    handler = JsonLinesHandler(path, max_bytes=2000, backups=2)
    for index in range(300):
        handler.emit(_record("cloudenv.x", logging.INFO, f"line {index:04d}", float(index)))
    handler.close()
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert files == ["cloudenv.log", "cloudenv.log.1", "cloudenv.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2000 for name in files)
    lines = read(path, limit=10_000, backups=2)
    numbers = [int(line.message.split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], 300))  # the newest, in order, none lost
    assert numbers[0] > 0  # the oldest rotated away
    # Reading the newest few stops in the current file.
    assert [line.message for line in read(path, limit=2, backups=2)] == ["line 0298", "line 0299"]


def _write_lines(path: str, worker: int, count: int, max_bytes: int) -> None:
    handler = JsonLinesHandler(Path(path), max_bytes=max_bytes, backups=50)
    for index in range(count):
        record = _record("cloudenv.w", logging.INFO, f"{worker}:{index}:" + "x" * 100, 1.0)
        handler.emit(record)
    handler.close()


@pytest.mark.parametrize("max_bytes", [10**8, 20_000])
def test_processes_writing_at_once_leave_whole_lines_and_lose_none(
    tmp_path: Path, max_bytes: int
) -> None:
    """As ``cloudenv serve`` runs: the agent's process and each API worker append to one
    file, and rotate it (the small size makes them rotate under each other)."""
    path = tmp_path / "cloudenv.log"
    context = multiprocessing.get_context("spawn")
    workers, count = 3, 300
    processes = [
        context.Process(target=_write_lines, args=(str(path), w, count, max_bytes))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    seen: set[str] = set()
    for file in tmp_path.iterdir():
        if file.name.endswith(".lock"):
            continue
        assert file.stat().st_size <= max_bytes
        for raw in file.read_text().splitlines():
            seen.add(json.loads(raw)["m"].rsplit(":", 1)[0])  # every line parses whole
    assert seen == {f"{w}:{i}" for w in range(workers) for i in range(count)}


@pytest.mark.usefixtures("uvicorn_loggers")
def test_install_sends_the_root_loggers_and_uvicorns_records_to_the_data_dir(
    tmp_path: Path,
) -> None:
    root, uvicorn = logging.getLogger(), logging.getLogger("uvicorn")
    level, propagate = root.level, uvicorn.propagate
    root.setLevel(logging.INFO)
    # As uvicorn configures its loggers: their records stop before the root logger.
    uvicorn.propagate = False
    handler = daemon_log.install(tmp_path)
    try:
        logging.getLogger("cloudenv.agent.loop").info("from the agent")
        # uvicorn's configuration replaces its loggers' handlers; serve re-attaches ours.
        logging.getLogger("uvicorn.error").handlers.clear()
        daemon_log.attach_separate()
        logging.getLogger("uvicorn.error").info("Application startup complete.")
    finally:
        daemon_log.uninstall(handler)
        root.setLevel(level)
        uvicorn.propagate = propagate
    logging.getLogger("cloudenv.agent.loop").info("after uninstalling: not in the file")
    lines = read(daemon_log.log_path(tmp_path))
    assert [(line.identifier, line.message) for line in lines] == [
        ("cloudenv", "from the agent"),
        ("uvicorn", "Application startup complete."),
    ]
    assert handler not in logging.getLogger("uvicorn.error").handlers


@pytest.mark.usefixtures("uvicorn_loggers")
def test_loggers_whose_records_reach_the_root_get_no_second_handler(tmp_path: Path) -> None:
    handler = daemon_log.install(tmp_path)
    try:
        assert handler not in logging.getLogger("uvicorn.error").handlers  # propagates here
    finally:
        daemon_log.uninstall(handler)
