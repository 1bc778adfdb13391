"""What the usage history holds and how it is packed: the fields of nodes and instances,
the tiers (step and how long each is kept), the series the API shows, and the packing of
one bucket's values for many subjects into one blob.

A block is S subjects (instances, or the node alone) times K fields, little-endian
float32 (4 bytes a value: 7 significant digits, plenty for percentages, bytes and rates):

- raw (tier 0, one pass): the S*K values, subject after subject;
- rolled (tiers 1+): S sample counts, then S*K sums, then S*K maxima. Sums rather than
  averages, so rolling buckets up is adding counts and sums and taking the larger
  maximum, element-wise over whole arrays (``map(sum, zip(...))`` runs in C), and one
  subject's average over any span is its summed sums over its summed counts.

A subject missing from some of a bucket's rows (an instance started or stopped within
it) counts only the samples where it was present.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MINUTE: Final = 60
HOUR: Final = 3600
DAY: Final = 86400
#: Seconds between two passes of the agent's sampler: tier 0's step.
SAMPLE_SECONDS: Final = 10


@dataclass(frozen=True)
class Tier:
    level: int
    step: int  # seconds; a multiple of the tier below's
    keep: int  # seconds of history this tier keeps


#: The roll-up ladder. Each tier is kept a little longer than the longest view it
#: serves; a node's history is therefore at most sum(keep / step) rows, whatever runs
#: for how long (3,184 rows at steady state).
TIERS: Final = (
    Tier(0, SAMPLE_SECONDS, 3 * HOUR),
    Tier(1, MINUTE, 6 * HOUR),
    Tier(2, 5 * MINUTE, 2 * DAY),
    Tier(3, 30 * MINUTE, 8 * DAY),
    Tier(4, 2 * HOUR, 32 * DAY),
    Tier(5, DAY, 400 * DAY),
)


class Interval(StrEnum):
    """The ranges the API offers (``?interval=``), each read from one tier."""

    ONE_HOUR = "1h"
    FOUR_HOURS = "4h"
    ONE_DAY = "1d"
    SEVEN_DAYS = "7d"
    THIRTY_DAYS = "30d"
    ONE_YEAR = "1y"

    @property
    def seconds(self) -> int:
        return _SPANS[self][0]

    @property
    def tier(self) -> Tier:
        """The tier that shows this range in a few hundred points (360 for an hour of
        10 s samples, 240 minutes for 4 h, 288 x 5 min for a day, 336 x 30 min for a
        week, 360 x 2 h for 30 days, 365 days for a year)."""
        return TIERS[_SPANS[self][1]]


_SPANS: Final = {
    Interval.ONE_HOUR: (HOUR, 0),
    Interval.FOUR_HOURS: (4 * HOUR, 1),
    Interval.ONE_DAY: (DAY, 2),
    Interval.SEVEN_DAYS: (7 * DAY, 3),
    Interval.THIRTY_DAYS: (30 * DAY, 4),
    Interval.ONE_YEAR: (365 * DAY, 5),
}

#: A node's values in each sample. CPU in percent of all its CPUs; memory and storage in
#: bytes (storage: the node's local file systems together); network (all NICs but
#: loopback) and disk I/O in bytes per second since the previous pass.
NODE_FIELDS: Final = (
    "cpu",
    "load1",
    "load5",
    "load15",
    "memory_used",
    "memory_total",
    "swap_used",
    "swap_total",
    "storage_used",
    "storage_total",
    "net_rx",
    "net_tx",
    "disk_read",
    "disk_write",
)
#: An instance's values: CPU in percent of its vCPUs; memory in bytes (used: as the guest
#: reports it, else the host's resident size of it); rates in bytes per second.
INSTANCE_FIELDS: Final = (
    "cpu",
    "memory_used",
    "memory_total",
    "net_rx",
    "net_tx",
    "disk_read",
    "disk_write",
)


class Take(StrEnum):
    AVERAGE = "avg"
    MAXIMUM = "max"


@dataclass(frozen=True)
class Column:
    """One column of a series: a field, averaged or at its maximum over the step."""

    name: str
    field: str
    take: Take = Take.AVERAGE


def _io(prefix: str, a: str, b: str) -> tuple[Column, ...]:
    return (
        Column(a, f"{prefix}_{a}"),
        Column(b, f"{prefix}_{b}"),
        Column(f"{a}_max", f"{prefix}_{a}", Take.MAXIMUM),
        Column(f"{b}_max", f"{prefix}_{b}", Take.MAXIMUM),
    )


_CPU = (Column("cpu", "cpu"), Column("cpu_max", "cpu", Take.MAXIMUM))
_NETWORK = _io("net", "rx", "tx")
_DISK = _io("disk", "read", "write")

#: The node's series (``GET /v1/nodes/{id}/metrics``), by name, in the order shown.
NODE_SERIES: Final[dict[str, tuple[Column, ...]]] = {
    "cpu": _CPU,
    "memory": (
        Column("used", "memory_used"),
        Column("used_max", "memory_used", Take.MAXIMUM),
        Column("total", "memory_total"),
        Column("swap_used", "swap_used"),
        Column("swap_total", "swap_total"),
    ),
    "storage": (
        Column("used", "storage_used"),
        Column("used_max", "storage_used", Take.MAXIMUM),
        Column("total", "storage_total"),
    ),
    "network": _NETWORK,
    "disk_io": _DISK,
    "load": (
        Column("load1", "load1"),
        Column("load5", "load5"),
        Column("load15", "load15"),
        Column("load1_max", "load1", Take.MAXIMUM),
    ),
}
#: An instance's series (``GET /v1/instances/{id}/metrics/history``).
INSTANCE_SERIES: Final[dict[str, tuple[Column, ...]]] = {
    "cpu": _CPU,
    "memory": (
        Column("used", "memory_used"),
        Column("used_max", "memory_used", Take.MAXIMUM),
        Column("total", "memory_total"),
    ),
    "network": _NETWORK,
    "disk_io": _DISK,
}


# Packing ------------------------------------------------------------------------------------

_BIG_ENDIAN: Final = sys.byteorder == "big"
_FLOAT = "f"


def _floats(values: Iterable[float] | bytes = b"") -> array[float]:
    if isinstance(values, bytes):
        packed: array[float] = array(_FLOAT)
        packed.frombytes(values)
        if _BIG_ENDIAN:
            packed.byteswap()
        return packed
    return array(_FLOAT, values)


def _bytes(*arrays: array[float]) -> bytes:
    if _BIG_ENDIAN:
        arrays = tuple(array(_FLOAT, a) for a in arrays)
        for a in arrays:
            a.byteswap()
    return b"".join(a.tobytes() for a in arrays)


@dataclass(frozen=True)
class Agg:
    """One subject over a span: how many samples, and each field's sum and maximum."""

    count: float
    sums: tuple[float, ...]
    maxes: tuple[float, ...]

    def average(self, i: int) -> float:
        return self.sums[i] / self.count if self.count else 0.0

    def merged(self, other: Agg) -> Agg:
        return Agg(
            self.count + other.count,
            tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)),
            tuple(max(a, b) for a, b in zip(self.maxes, other.maxes, strict=True)),
        )


@dataclass(frozen=True)
class Block:
    """S subjects' values over one bucket, unpacked: counts (S), sums and maxima (S*K)."""

    subjects: tuple[str, ...]
    counts: array[float]
    sums: array[float]
    maxes: array[float]

    @classmethod
    def raw(cls, subjects: Sequence[str], values: Iterable[float]) -> Block:
        """One sample of each subject (``values`` subject after subject)."""
        packed = _floats(values)
        return cls(tuple(subjects), _floats([1.0]) * len(subjects), packed, packed)

    @classmethod
    def unpack(cls, subjects: str, blob: bytes, width: int, *, raw: bool) -> Block:
        names = tuple(subjects.split(",")) if subjects else ()
        values = _floats(blob)
        if raw:
            return cls(names, _floats([1.0]) * len(names), values, values)
        n = len(names)
        return cls(names, values[:n], values[n : n + n * width], values[n + n * width :])

    def pack(self, *, raw: bool) -> bytes:
        return _bytes(self.sums) if raw else _bytes(self.counts, self.sums, self.maxes)

    def joined(self) -> str:
        return ",".join(self.subjects)

    def agg(self, index: int, width: int) -> Agg:
        i = index * width
        return Agg(
            self.counts[index],
            tuple(self.sums[i : i + width]),
            tuple(self.maxes[i : i + width]),
        )


def combine(blocks: Sequence[Block], width: int) -> Block:
    """The blocks of consecutive buckets as one: each subject's counts and sums added,
    its maxima the largest. Subjects keep the order they first appear in."""
    if len(blocks) == 1:
        return blocks[0]
    names = tuple(dict.fromkeys(s for b in blocks for s in b.subjects))
    aligned = [b if b.subjects == names else _realign(b, names, width) for b in blocks]
    return Block(
        names,
        _floats(map(sum, zip(*(b.counts for b in aligned), strict=True))),
        _floats(map(sum, zip(*(b.sums for b in aligned), strict=True))),
        _floats(map(max, zip(*(b.maxes for b in aligned), strict=True))),
    )


def _realign(block: Block, names: tuple[str, ...], width: int) -> Block:
    """``block`` laid out for ``names``: subjects it lacks have no samples."""
    position = {name: i for i, name in enumerate(names)}
    counts = _floats([0.0]) * len(names)
    sums = _floats([0.0]) * (len(names) * width)
    maxes = _floats([float("-inf")]) * (len(names) * width)
    for j, name in enumerate(block.subjects):
        i = position[name]
        counts[i] = block.counts[j]
        sums[i * width : (i + 1) * width] = block.sums[j * width : (j + 1) * width]
        maxes[i * width : (i + 1) * width] = block.maxes[j * width : (j + 1) * width]
    return Block(names, counts, sums, maxes)


def find(subjects: str, subject: str) -> int | None:
    """The position of ``subject`` in a comma-separated ``subjects``, without splitting
    it (a row of a node with a thousand instances is read for one of them)."""
    at = subjects.find(subject)
    while at != -1:
        end = at + len(subject)
        if (at == 0 or subjects[at - 1] == ",") and (end == len(subjects) or subjects[end] == ","):
            return subjects.count(",", 0, at)
        at = subjects.find(subject, at + 1)
    return None


def subject_agg(subjects: str, blob: bytes, subject: str, width: int, *, raw: bool) -> Agg | None:
    """One subject's values in a packed row, unpacking only its own (None: not in it)."""
    index = find(subjects, subject)
    if index is None:
        return None
    n = subjects.count(",") + 1
    if raw:
        values = _floats(blob[index * width * 4 : (index + 1) * width * 4])
        return Agg(1.0, tuple(values), tuple(values))
    count = _floats(blob[index * 4 : index * 4 + 4])[0]
    sums_at = (n + index * width) * 4
    maxes_at = (n + n * width + index * width) * 4
    return Agg(
        count,
        tuple(_floats(blob[sums_at : sums_at + width * 4])),
        tuple(_floats(blob[maxes_at : maxes_at + width * 4])),
    )


def single_agg(blob: bytes, width: int, *, raw: bool) -> Agg:
    """The values of a one-subject block (a node's own)."""
    values = _floats(blob)
    if raw:
        return Agg(1.0, tuple(values), tuple(values))
    return Agg(values[0], tuple(values[1 : 1 + width]), tuple(values[1 + width :]))
