"""``cloudenv node top`` and ``cloudenv instance top``: live tables of current usage, read
from ``GET /v1/nodes/{id}/metrics/current`` (what each node's agent sampled last, every
10 s), refreshed until Ctrl-C; ``--once`` prints one table (``--json``: the replies) for
scripts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from cloudenv.cli.client import ApiClient, segment
from cloudenv.cli.output import console, print_json

Once = Annotated[bool, typer.Option("--once", help="Print one table and exit (for scripts).")]
Json = Annotated[bool, typer.Option("--json", help="With --once: print the replies as JSON.")]
Every = Annotated[
    float, typer.Option("--interval", "-n", min=1.0, help="Seconds between refreshes.")
]
Nodes = Annotated[
    list[str] | None,
    typer.Argument(help="Node IDs (default: every node you may see).", show_default=False),
]


def node_top(
    node_ids: Nodes = None, once: Once = False, json_: Json = False, every: Every = 5.0
) -> None:
    """Live usage of nodes: CPU, load, memory, swap, storage, network and disk rates."""
    client = ApiClient.from_login()
    _run(lambda: _readings(client, node_ids), _node_table, once=once, as_json=json_, every=every)


SortBy = Annotated[str, typer.Option("--sort", help="cpu, memory or name.")]
Limit = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]
NodeOption = Annotated[
    list[str] | None, typer.Option("--node", help="Only these nodes' instances (repeatable).")
]


def instance_top(
    node: NodeOption = None,
    sort: SortBy = "cpu",
    limit: Limit = 50,
    once: Once = False,
    json_: Json = False,
    every: Every = 5.0,
) -> None:
    """Live usage of running instances, busiest first: CPU, memory, network, disk."""
    if sort not in _SORTS:
        raise typer.BadParameter(f"--sort takes cpu, memory or name, not {sort!r}.")
    client = ApiClient.from_login()

    def table(readings: list[dict[str, Any]]) -> Table:
        return _instance_table(readings, sort, limit)

    _run(lambda: _readings(client, node), table, once=once, as_json=json_, every=every)


def _run(
    read: Callable[[], list[dict[str, Any]]],
    render: Callable[[list[dict[str, Any]]], Table],
    *,
    once: bool,
    as_json: bool,
    every: float,
) -> None:
    if once:
        readings = read()
        print_json(readings) if as_json else console.print(render(readings))
        return
    with Live(render(read()), console=console, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(every)
                live.update(render(read()), refresh=True)
        except KeyboardInterrupt:
            pass


def _readings(client: ApiClient, node_ids: list[str] | None) -> list[dict[str, Any]]:
    """Each node's current reading, with its name."""
    names = {}
    if not node_ids:
        trees = client.get("/v1/organizations")
        names = {n["id"]: n["name"] for tree in trees for n in tree["nodes"]}
        node_ids = list(names)
    readings = []
    for node_id in node_ids:
        reading = client.get(f"/v1/nodes/{segment(node_id)}/metrics/current")
        reading["node_name"] = names.get(node_id, node_id)
        readings.append(reading)
    return readings


def _node_table(readings: list[dict[str, Any]]) -> Table:
    table = Table(title="Nodes", caption=_stale(readings))
    for heading in (
        "Node",
        "CPU",
        "Load 1/5/15",
        "Memory",
        "Swap",
        "Storage",
        "Net rx/tx",
        "Disk r/w",
        "Up",
        "Instances",
    ):
        table.add_column(heading, justify="left" if heading == "Node" else "right")
    for reading in readings:
        node = reading["node"]
        if node is None:
            table.add_row(reading["node_name"], *["-"] * 9, style="dim")
            continue
        table.add_row(
            reading["node_name"],
            f"{node['cpu']:.1f}% of {node['cpus']}",
            f"{node['load1']:.2f} {node['load5']:.2f} {node['load15']:.2f}",
            _used(node["memory_used"], node["memory_total"]),
            _used(node["swap_used"], node["swap_total"]),
            _used(node["storage_used"], node["storage_total"]),
            f"{_rate(node['net_rx'])} / {_rate(node['net_tx'])}",
            f"{_rate(node['disk_read'])} / {_rate(node['disk_write'])}",
            _duration(node["uptime"]),
            str(len(reading["instances"])),
        )
    return table


_SORTS: dict[str, tuple[Callable[[dict[str, Any]], Any], bool]] = {
    "cpu": (lambda i: i["cpu"], True),
    "memory": (lambda i: i["memory_used"], True),
    "name": (lambda i: i["name"], False),
}


def _instance_table(readings: list[dict[str, Any]], sort: str, limit: int) -> Table:
    rows = [(r["node_name"], i) for r in readings for i in r["instances"]]
    key, descending = _SORTS[sort]
    rows.sort(key=lambda row: key(row[1]), reverse=descending)
    table = Table(title=f"Running instances ({len(rows)})", caption=_stale(readings))
    for heading in ("Instance", "ID", "Node", "CPU", "Memory", "Net rx/tx", "Disk r/w"):
        table.add_column(
            heading, justify="left" if heading in ("Instance", "ID", "Node") else "right"
        )
    for node_name, i in rows[:limit]:
        table.add_row(
            i["name"],
            i["id"],
            node_name,
            f"{i['cpu']:.1f}% of {i['vcpus']}",
            _used(i["memory_used"], i["memory_total"]),
            f"{_rate(i['net_rx'])} / {_rate(i['net_tx'])}",
            f"{_rate(i['disk_read'])} / {_rate(i['disk_write'])}",
        )
    return table


def _stale(readings: list[dict[str, Any]]) -> str | None:
    """Names the nodes without a current reading (down, or their agent stopped)."""
    stale = [r["node_name"] for r in readings if r["node"] is None]
    return f"No current reading from {', '.join(stale)}." if stale else None


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover (the loop returns)


def _used(used: float, total: float) -> str:
    if total <= 0:
        return "-"
    return f"{_size(used)} / {_size(total)} ({100 * used / total:.0f}%)"


def _rate(value: float) -> str:
    return f"{_size(value)}/s"


def _duration(seconds: int) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"
