"""Usage monitoring on a served node, for real: its agent samples the host with psutil and
the test guest (QEMU under TCG) with libvirt's bulk stats every 10 s. The guest's CPU and
memory series appear and move (its CPU from pass to pass, its memory once it fills its
tmpfs); once killed it has no current sample and is gone from the node's current reading
and from ``/metrics``; the node's figures agree with what psutil reads here (the node runs
on this host).

Waits are bounded (the agent samples every 10 s; a TCG guest on a busy host boots in up
to two minutes); nothing is asserted on time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cloudenv.drivers.compute.libvirt_connection import SerialConsole
from cloudenv.host.usage import read_host
from tests.support.compute import GuestImages, deploy_body, succeed, wait_marker, wait_task
from tests.support.console import Console
from tests.support.served_node import Server

pytestmark = pytest.mark.integration

#: Long enough for several 10 s passes on a busy host.
SAMPLES_WITHIN = 180.0


def until(what: str, probe: Callable[[], Any], timeout: float = SAMPLES_WITHIN) -> Any:
    """``probe()`` once it returns something truthy (checked every second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(1.0)


def history(client: httpx.Client, instance_id: str) -> dict[str, list[list[float]]]:
    reply = client.get(
        f"/api/v1/instances/{instance_id}/metrics/history", params={"interval": "1h"}
    )
    assert reply.status_code == 200, reply.text
    return {s["name"]: s["data"] for s in reply.json()}


def scrape(client: httpx.Client) -> dict[str, list[Any]]:
    reply = client.get("/api/metrics")
    assert reply.status_code == 200, reply.text
    return {f.name: f.samples for f in text_string_to_metric_families(reply.text)}


def test_the_guests_cpu_and_memory_appear_move_and_stop(
    real_node: Server, guest_images: GuestImages
) -> None:
    node_id, pool_id = guest_images.node_id, guest_images.pool_id
    with real_node.admin() as client:
        deployed = client.post(
            "/api/v2/instances", json=deploy_body(node_id, pool_id, "metered-1", volume_gb=0)
        )
        instance_id = str(succeed(client, deployed)["target_id"])
        try:
            wait_marker(instance_id)

            def sampled() -> dict[str, list[list[float]]] | None:
                shown = history(client, instance_id)
                return shown if len(shown["cpu"]) >= 4 else None

            shown = until("four samples of the guest", sampled)
            cpu = [row[1] for row in shown["cpu"]]
            booted = [row[1] for row in shown["memory"]]
            assert all(0.0 <= c <= 100.0 for c in cpu) and max(cpu) > 0.0, cpu
            assert len(set(cpu)) > 1, cpu  # the guest's CPU moves from pass to pass
            assert min(booted) > 0 and {row[3] for row in shown["memory"]} == {256.0 * 2**20}
            # The guest fills 96 MB of its tmpfs: pages it had never touched, so the memory
            # QEMU holds for it grows, and the next passes show it.
            console = Console(SerialConsole("qemu:///system", instance_id))
            try:
                console.run("dd if=/dev/zero of=/tmp/fill bs=1M count=96 2>/dev/null")
            finally:
                console.close()

            def grown() -> list[float] | None:
                memory = [row[1] for row in history(client, instance_id)["memory"]]
                return memory if max(memory) > max(booted) else None

            until("the guest's memory to grow", grown)
            latest = client.get(f"/api/v1/instances/{instance_id}/metrics").json()
            assert latest["timestamp"] is not None and latest["memory"]["usage"] > 0
            up = {s.labels["instance_id"]: s.value for s in scrape(client)["cloudenv_instance_up"]}
            assert up[instance_id] == 1.0

            killed = client.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
            wait_task(client, killed.json()["task_id"])
            stopped = client.get(f"/api/v1/instances/{instance_id}/metrics").json()
            assert stopped["timestamp"] is None and stopped["cpu_percent"] == 0.0

            def forgotten() -> bool:
                current = client.get(f"/api/v1/nodes/{node_id}/metrics/current").json()
                return instance_id not in [i["id"] for i in current["instances"]]

            until("the node's next pass without the guest", forgotten)
            up = {s.labels["instance_id"]: s.value for s in scrape(client)["cloudenv_instance_up"]}
            assert up[instance_id] == 0.0
            assert len(history(client, instance_id)["cpu"]) >= len(cpu)  # the history stays
        finally:
            client.post(f"/api/v1/instances/{instance_id}/power", json={"action": "kill"})
            gone = client.delete(
                f"/api/v1/instances/{instance_id}",
                params={"confirm": "DESTROY", "destroy_volumes": "true"},
            )
            if gone.status_code == 202:
                wait_task(client, gone.json()["task_id"])


def test_the_nodes_figures_agree_with_psutil(real_node: Server) -> None:
    node_id = str(real_node.health["id"])
    with real_node.admin() as client:

        def current() -> dict[str, Any] | None:
            reply = client.get(f"/api/v1/nodes/{node_id}/metrics/current").json()
            return reply if reply["node"] is not None else None

        node = until("the node's first pass", current)["node"]
        here = read_host()
        memory = psutil.virtual_memory()
        assert node["memory_total"] == float(memory.total)
        assert node["cpus"] == psutil.cpu_count()
        # Sampled up to 10 s ago by another process: close, not equal.
        assert abs(node["memory_used"] - (memory.total - memory.available)) < 0.1 * memory.total
        assert abs(node["uptime"] - (time.time() - psutil.boot_time())) < 60
        assert node["load1"] == pytest.approx(os.getloadavg()[0], abs=max(2.0, os.getloadavg()[0]))
        assert set(node["mounts"]) == set(here.mounts)
        for mount, (used, total) in here.mounts.items():
            assert node["mounts"][mount]["total"] == float(total)
            assert abs(node["mounts"][mount]["used"] - used) < 0.05 * total
        assert node["storage_total"] == float(sum(t for _, t in here.mounts.values()))
        assert 0.0 <= node["cpu"] <= 100.0

        def charted() -> list[dict[str, Any]] | None:
            reply = client.get(f"/api/v1/nodes/{node_id}/metrics", params={"interval": "1h"})
            shown = reply.json()
            return shown if len(shown[0]["data"]) >= 2 else None

        shown = {s["name"]: s for s in until("two passes in the node's hour", charted)}
        assert shown["memory"]["data"][-1][3] == float(memory.total)
        assert all(0.0 <= row[1] <= 100.0 for row in shown["cpu"]["data"])
        assert shown["network"]["data"][-1][1] >= 0.0
        families = scrape(client)
        (total,) = [
            s
            for s in families["cloudenv_node_memory_total_bytes"]
            if s.labels["node_id"] == node_id
        ]
        assert total.value == float(memory.total)
