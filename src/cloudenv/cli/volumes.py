"""``cloudenv volume ...``: volumes on a node's storage pools, each change followed to its
end with a progress bar (``--no-wait`` only queues it)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cloudenv.api.schemas.storage import VolumeCreate, VolumeResize
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.instances import _default_pool, _node
from cloudenv.cli.output import confirm_destructive, print_json, print_record, print_table, say
from cloudenv.enums import VolumeStatus

volume_app = typer.Typer(help="Volumes on a node's storage pools.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Wait = Annotated[bool, typer.Option(help="Follow the task to its end.")]
COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("size", "GB"),
    ("metadata.driver", "Format"),
    ("status", "Status"),
    ("attached_to", "Attached to"),
    ("storage_pool_id", "Pool"),
]


def _words(volume: dict[str, Any]) -> dict[str, Any]:
    """The status as a word ("available") for people; --json keeps the product's integer."""
    try:
        status = VolumeStatus(volume["status"]).name.lower()
    except ValueError:
        status = str(volume["status"])
    return {**volume, "status": status}


def _follow(client: ApiClient, task_id: str, wait: bool, done: str) -> None:
    if not wait:
        say(f"Queued: task {task_id}")
        return
    client.wait_task(task_id)
    say(done)


@volume_app.command("list")
def list_volumes(
    node: Annotated[str | None, typer.Option(help="Node ID (default: the signed-in node).")] = None,
    pool: Annotated[str | None, typer.Option(help="Only this storage pool's volumes.")] = None,
    json_: Json = False,
) -> None:
    client = ApiClient.from_login()
    rows = client.get("/v1/volumes", node_id=_node(client, node), storage_pool_id=pool)
    print_json(rows) if json_ else print_table([_words(v) for v in rows], COLUMNS)


@volume_app.command("show")
def show(volume_id: str, json_: Json = False) -> None:
    volume = ApiClient.from_login().get(f"/v1/volumes/{segment(volume_id)}")
    print_json(volume) if json_ else print_record(_words(volume), title="Volume")


@volume_app.command("create")
def create(
    name: str,
    size: Annotated[float, typer.Option(help="GB (GiB); fractions allowed.")],
    node: Annotated[str | None, typer.Option(help="Node ID (default: the signed-in node).")] = None,
    pool: Annotated[
        str | None, typer.Option(help="Storage pool (default: the node's first).")
    ] = None,
    driver: Annotated[str, typer.Option(help="qcow2 or raw (raw on block pools).")] = "qcow2",
    description: str | None = None,
    wait: Wait = True,
) -> None:
    """Create an empty volume in a pool of the node."""
    client = ApiClient.from_login()
    node_id = _node(client, node)
    body = request_body(
        VolumeCreate,
        node_id=node_id,
        storage_pool_id=pool or _default_pool(client, node_id),
        name=name,
        size=size,
        driver=driver,
        description=description,
    )
    reply = client.post("/v1/volumes", body)
    _follow(client, reply["task_id"], wait, f"Volume {reply['id']} ({name}) is available.")


@volume_app.command("resize")
def resize(
    volume_id: str,
    delta: Annotated[float, typer.Option(help="GiB to add to the current size.")],
    live: Annotated[
        bool,
        typer.Option(
            "--live/--cold",
            help="Live: grow it under its running instance. Cold (default): the volume must "
            "not be in use by a running instance (stop it first).",
        ),
    ] = False,
    wait: Wait = True,
) -> None:
    """Grow a volume. After resizing, grow the filesystem on it inside the instance."""
    client = ApiClient.from_login()
    body = request_body(VolumeResize, delta_gb=delta, live=live)
    reply = client.post(f"/v1/volumes/{segment(volume_id)}/resize", body)
    path = f"/v1/volumes/{segment(volume_id)}"
    if not wait:
        say(f"Queued: task {reply['task_id']}")
        return
    client.wait_task(reply["task_id"])
    say(f"Volume {volume_id} is now {client.get(path)['size']} GB.")


@volume_app.command("destroy")
def destroy(
    volume_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    wait: Wait = True,
) -> None:
    """Delete a volume and its data (asks for the word DESTROY); detach it first."""
    confirm_destructive(f"destroy volume {volume_id} and its data", yes)
    client = ApiClient.from_login()
    reply = client.delete(f"/v1/volumes/{segment(volume_id)}", confirm="DESTROY")
    _follow(client, reply["task_id"], wait, f"Destroyed {volume_id}.")
