"""The rendered-reply cache: a new change version or an expired entry renders afresh, and
concurrent misses for one key render once."""

from __future__ import annotations

import threading
import time

import pytest

from cloudenv.api.rendering import VersionedCache

pytestmark = pytest.mark.unit


def test_same_version_reuses_and_new_version_renders() -> None:
    cache = VersionedCache(ttl=60)
    calls: list[int] = []

    def produce() -> list[int]:
        calls.append(1)
        return [len(calls)]

    assert cache.render("k", 1, list[int], produce).body == b"[1]"
    assert cache.render("k", 1, list[int], produce).body == b"[1]"
    assert cache.render("k", 2, list[int], produce).body == b"[2]"
    assert cache.render("other", 2, list[int], produce).body == b"[3]"
    assert len(calls) == 3


def test_entries_expire_after_ttl() -> None:
    cache = VersionedCache(ttl=0.05)
    cache.put("k", 1, b"old")
    assert cache.get("k", 1) == b"old"
    time.sleep(0.06)
    assert cache.get("k", 1) is None


def test_concurrent_misses_render_once() -> None:
    cache = VersionedCache(ttl=60)
    calls: list[int] = []
    start = threading.Barrier(6)

    def produce() -> list[int]:
        calls.append(1)
        time.sleep(0.05)
        return [7]

    def worker() -> None:
        start.wait()
        assert cache.render("k", 5, list[int], produce).body == b"[7]"

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
