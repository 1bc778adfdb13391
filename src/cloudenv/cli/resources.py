"""Commands on the resource tree: org, datacenter, cluster, node, task."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cloudenv.api.schemas.tenancy import (
    ClusterUpdate,
    DatacenterCreate,
    DatacenterUpdate,
    OrganizationCreate,
    OrganizationUpdate,
)
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.output import confirm_destructive, print_json, print_record, print_table, say

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Confirm = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]

org_app = typer.Typer(help="Organizations (tenants).", no_args_is_help=True)
dc_app = typer.Typer(help="Datacenters.", no_args_is_help=True)
cluster_app = typer.Typer(help="Clusters.", no_args_is_help=True)
node_app = typer.Typer(help="Nodes.", no_args_is_help=True)
task_app = typer.Typer(help="Tasks.", no_args_is_help=True)

DC_COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("organization_id", "Organization"),
    ("location.latitude", "Lat"),
    ("location.longitude", "Long"),
    ("description", "Description"),
]
CLUSTER_COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("datacenter_id", "Datacenter"),
    ("node_count", "Nodes"),
    ("health_status", "Health"),
    ("description", "Description"),
]
NODE_COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("cluster_id", "Cluster"),
    ("ip_address", "IP"),
    ("alive", "Alive"),
    ("last_seen", "Last seen"),
]


def _location(latitude: float | None, longitude: float | None) -> dict[str, Any] | None:
    if latitude is None and longitude is None:
        return None
    return {"latitude": latitude, "longitude": longitude}


@org_app.command("list")
def org_list(json_: Json = False) -> None:
    trees = ApiClient.from_login().get("/v1/organizations")
    if json_:
        return print_json(trees)
    rows = [
        {
            **t["organization"],
            "datacenters": len(t["datacenters"]),
            "clusters": len(t["clusters"]),
            "nodes": len(t["nodes"]),
        }
        for t in trees
    ]
    print_table(
        rows,
        [
            ("id", "ID"),
            ("name", "Name"),
            ("datacenters", "Datacenters"),
            ("clusters", "Clusters"),
            ("nodes", "Nodes"),
            ("description", "Description"),
        ],
    )


@org_app.command("show")
def org_show(organization_id: str, json_: Json = False) -> None:
    tree = ApiClient.from_login().get(f"/v1/organizations/{segment(organization_id)}")
    if json_:
        return print_json(tree)
    print_record(tree["organization"], title="Organization")
    print_table(tree["datacenters"], DC_COLUMNS, title="Datacenters")
    print_table(tree["clusters"], CLUSTER_COLUMNS[:4], title="Clusters")
    print_table(tree["nodes"], NODE_COLUMNS, title="Nodes")


@org_app.command("create")
def org_create(name: str, description: str | None = None, json_: Json = False) -> None:
    body = request_body(OrganizationCreate, name=name, description=description)
    created = ApiClient.from_login().post("/v1/organizations", body)
    print_json(created) if json_ else say(f"Created organization {created['id']}")


@org_app.command("edit")
def org_edit(
    organization_id: str,
    name: str | None = None,
    description: str | None = None,
    json_: Json = False,
) -> None:
    body = request_body(OrganizationUpdate, name=name, description=description)
    tree = ApiClient.from_login().patch(f"/v1/organizations/{segment(organization_id)}", body)
    print_json(tree) if json_ else print_record(tree["organization"], title="Organization")


@org_app.command("delete")
def org_delete(organization_id: str, yes: Confirm = False) -> None:
    confirm_destructive(f"delete organization {organization_id}", yes)
    ApiClient.from_login().delete(f"/v1/organizations/{segment(organization_id)}")
    say(f"Deleted organization {organization_id}")


@dc_app.command("list")
def dc_list(
    organization: Annotated[str | None, typer.Option(help="Organization ID.")] = None,
    json_: Json = False,
) -> None:
    rows = ApiClient.from_login().get("/v1/datacenters", organization_id=organization)
    print_json(rows) if json_ else print_table(rows, DC_COLUMNS)


@dc_app.command("show")
def dc_show(datacenter_id: str, json_: Json = False) -> None:
    detail = ApiClient.from_login().get(f"/v1/datacenters/{segment(datacenter_id)}")
    if json_:
        return print_json(detail)
    print_record(detail["datacenter"], title="Datacenter")
    print_table(detail["clusters"], CLUSTER_COLUMNS, title="Clusters")


@dc_app.command("create")
def dc_create(
    name: str,
    organization: Annotated[str, typer.Option(help="Organization ID.")],
    description: str | None = None,
    latitude: Annotated[float | None, typer.Option(help="-90..90")] = None,
    longitude: Annotated[float | None, typer.Option(help="-180..180")] = None,
    json_: Json = False,
) -> None:
    body = request_body(
        DatacenterCreate,
        name=name,
        description=description,
        organization_id=organization,
        location=_location(latitude, longitude),
    )
    created = ApiClient.from_login().post("/v1/datacenters", body)
    print_json(created) if json_ else say(f"Created datacenter {created['id']}")


@dc_app.command("edit")
def dc_edit(
    datacenter_id: str,
    name: str | None = None,
    description: str | None = None,
    latitude: Annotated[float | None, typer.Option(help="-90..90")] = None,
    longitude: Annotated[float | None, typer.Option(help="-180..180")] = None,
    json_: Json = False,
) -> None:
    body = request_body(
        DatacenterUpdate,
        name=name,
        description=description,
        location=_location(latitude, longitude),
    )
    updated = ApiClient.from_login().patch(f"/v1/datacenters/{segment(datacenter_id)}", body)
    print_json(updated) if json_ else print_record(updated, title="Datacenter")


@dc_app.command("delete")
def dc_delete(datacenter_id: str, yes: Confirm = False) -> None:
    confirm_destructive(f"delete datacenter {datacenter_id}", yes)
    ApiClient.from_login().delete(f"/v1/datacenters/{segment(datacenter_id)}")
    say(f"Deleted datacenter {datacenter_id}")


@cluster_app.command("list")
def cluster_list(
    datacenter: Annotated[str | None, typer.Option(help="Datacenter ID.")] = None,
    json_: Json = False,
) -> None:
    rows = ApiClient.from_login().get("/v1/clusters", datacenter_id=datacenter)
    print_json(rows) if json_ else print_table(rows, CLUSTER_COLUMNS)


@cluster_app.command("show")
def cluster_show(cluster_id: str, json_: Json = False) -> None:
    client = ApiClient.from_login()
    cluster = client.get(f"/v1/clusters/{segment(cluster_id)}")["cluster"]
    hardware = client.get(f"/v1/clusters/{segment(cluster_id)}/hardware")
    if json_:
        return print_json({"cluster": cluster, "hardware": hardware})
    print_record(cluster, title="Cluster")
    print_record(hardware, title="Capacity")


@cluster_app.command("edit")
def cluster_edit(
    cluster_id: str, name: str | None = None, description: str | None = None, json_: Json = False
) -> None:
    body = request_body(ClusterUpdate, name=name, description=description)
    updated = ApiClient.from_login().patch(f"/v1/clusters/{segment(cluster_id)}", body)
    print_json(updated) if json_ else print_record(updated["cluster"], title="Cluster")


@node_app.command("list")
def node_list(json_: Json = False) -> None:
    trees = ApiClient.from_login().get("/v1/organizations")
    rows = [node for tree in trees for node in tree["nodes"]]
    print_json(rows) if json_ else print_table(rows, NODE_COLUMNS)


@node_app.command("show")
def node_show(node_id: str, json_: Json = False) -> None:
    client = ApiClient.from_login()
    detail = client.get(f"/v1/nodes/{segment(node_id)}")
    hardware = client.get(f"/v1/nodes/{segment(node_id)}/hardware")
    if json_:
        return print_json({**detail, "hardware": hardware})
    print_record(
        {
            **detail["node"],
            "hostname": detail["hostname"],
            **detail["os"],
            "uptime_s": detail["time"]["uptime"],
            "version": detail["pce_version"],
        },
        title="Node",
    )
    cpu = hardware["cpu"]
    print_record(
        {
            "cpu": cpu["brand"],
            "vcpus": hardware["vcpus"],
            "sockets": cpu["sockets"],
            "virtualization": cpu["virtualization"],
            "memory_mb": sum(b["data"]["size"] for b in hardware["memory"]),
            "disks": ", ".join(f"{d['device']} {d['size']} GB" for d in hardware["disks"]),
        },
        title="Hardware",
    )


@node_app.command("refresh")
def node_refresh(node_id: str) -> None:
    """Re-read the node's hardware facts (a task; waits with a progress bar)."""
    client = ApiClient.from_login()
    task = client.wait_task(client.post(f"/v1/nodes/{segment(node_id)}/facts/refresh")["task_id"])
    say(f"Task {task['id']} {task['status']}.")


@task_app.command("show")
def task_show(task_id: str, json_: Json = False) -> None:
    task = ApiClient.from_login().get(f"/v1/tasks/{segment(task_id)}")
    if json_:
        return print_json(task)
    print_record({k: v for k, v in task.items() if k != "log"}, title="Task")
    for line in task["log"]:
        say(f"{line['time']}  {line['message']}")


@task_app.command("wait")
def task_wait(task_id: str) -> None:
    task = ApiClient.from_login().wait_task(task_id)
    say(f"Task {task['id']} {task['status']}.")
