"""``cloudenv instance ...`` and ``cloudenv image ...``: virtual machines and their images,
each long action followed to its end with a progress bar."""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel

from cloudenv.api.schemas.compute import (
    CpuTopology,
    InstanceDeploy,
    KernelBoot,
    LxcMetadata,
    NewVolume,
    PowerRequest,
    QemuMetadata,
)
from cloudenv.api.schemas.snapshots import SnapshotCreate
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.output import (
    confirm_destructive,
    fail,
    print_json,
    print_record,
    print_table,
    say,
)
from cloudenv.enums import InstanceType

instance_app = typer.Typer(help="Virtual machines.", no_args_is_help=True)
image_app = typer.Typer(
    help="Images (ISO, disk images, kernels, container root filesystems) on a node.",
    no_args_is_help=True,
)
snapshot_app = typer.Typer(help="Snapshots of an instance.", no_args_is_help=True)
instance_app.add_typer(snapshot_app, name="snapshot")

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("state", "State"),
    ("vcpus", "vCPUs"),
    ("memory", "MB"),
    ("node_id", "Node"),
]


def _node(client: ApiClient, node: str | None) -> str:
    """The given node, or the one the CLI is signed in to."""
    return node or str(client.get("/v1/healthcheck")["id"])


def _default_pool(client: ApiClient, node_id: str) -> str:
    pools = client.get(f"/v1/nodes/{segment(node_id)}/storage/pools")
    if not pools:
        fail(f"Node {node_id} has no storage pool.")
    return str(pools[0]["id"])


def _default(model: type[BaseModel], name: str) -> str:
    """A field's default as the API's schema declares it, for --help."""
    return str(model.model_fields[name].default)


@instance_app.command("deploy")
def deploy(
    name: str,
    node: Annotated[str | None, typer.Option(help="Node ID (default: the signed-in node).")] = None,
    cluster: Annotated[
        str | None, typer.Option(help="Cluster ID: the server picks a node.")
    ] = None,
    cores: Annotated[
        int | None, typer.Option(help=f"Default {_default(CpuTopology, 'cores')}.")
    ] = None,
    sockets: Annotated[
        int | None, typer.Option(help=f"Default {_default(CpuTopology, 'sockets')}.")
    ] = None,
    memory: Annotated[
        int | None, typer.Option(help=f"MB (default {_default(InstanceDeploy, 'memory')}).")
    ] = None,
    disk: Annotated[int, typer.Option(help="GB of a new root volume (0: none).")] = 10,
    pool: Annotated[str | None, typer.Option(help="Pool of the new volume.")] = None,
    iso: Annotated[str | None, typer.Option(help="Boot this ISO image (CD-ROM).")] = None,
    image: Annotated[
        str | None, typer.Option(help="Copy this disk image into the root volume.")
    ] = None,
    kernel: Annotated[str | None, typer.Option(help="Boot this kernel image directly.")] = None,
    initrd: Annotated[str | None, typer.Option(help="...with this initrd image.")] = None,
    cmdline: Annotated[str | None, typer.Option(help="...and this kernel command line.")] = None,
    firmware: Annotated[
        str | None,
        typer.Option(help=f"bios or efi (default {_default(QemuMetadata, 'firmware')})."),
    ] = None,
    machine: Annotated[
        str | None,
        typer.Option(help=f"pc or q35 (default {_default(QemuMetadata, 'machine_type')})."),
    ] = None,
    autostart: Annotated[
        bool | None,
        typer.Option(
            "--autostart/--no-autostart",
            help=f"Start with the node (default {_default(InstanceDeploy, 'autostart')}).",
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Follow the deploy task.")] = True,
    container: Annotated[
        str | None,
        typer.Option(help="Deploy a container (LXC) of this container image instead of a VM."),
    ] = None,
    privileged: Annotated[
        bool, typer.Option(help="A privileged container: root inside is the node's root.")
    ] = False,
) -> None:
    """Deploy a virtual machine, or with --container a container. Unset options take the
    API's defaults."""
    client = ApiClient.from_login()
    destination = {"cluster_id": cluster} if cluster else {"node_id": _node(client, node)}
    if container:
        if iso or image or kernel:
            fail("A container boots its container image: leave --iso, --image and --kernel out.")
        kind = InstanceType.LXC
        metadata = request_body(LxcMetadata, _type="lxc", privileged=privileged or None)
    else:
        kind = InstanceType.QEMU
        volumes = None
        if disk:
            node_id = destination.get("node_id") or _node(client, None)
            pool_id = pool or _default_pool(client, node_id)
            volumes = [request_body(NewVolume, storage_pool_id=pool_id, size=disk)]
        boot = (
            request_body(KernelBoot, kernel=kernel, initrd=initrd, cmdline=cmdline)
            if kernel
            else None
        )
        metadata = request_body(
            QemuMetadata,
            _type="qemu",
            firmware=firmware,
            machine_type=machine,
            new_volumes=volumes,
            kernel_boot=boot,
        )
    body = request_body(
        InstanceDeploy,
        destination=destination,
        name=name,
        type=int(kind),
        memory=memory,
        cpu=request_body(CpuTopology, sockets=sockets, cores=cores) if sockets or cores else None,
        autostart=autostart,
        metadata=metadata,
        image=container or iso or image,
    )
    task_id = client.post("/v2/instances", body)["task_id"]
    if not wait:
        say(f"Deploying: task {task_id}")
        return
    task = client.wait_task(task_id)
    say(f"Instance {task['target_id']} is running.")


@instance_app.command("list")
def list_instances(
    node: Annotated[str | None, typer.Option(help="Node ID (default: the signed-in node).")] = None,
    cluster: Annotated[str | None, typer.Option(help="Cluster ID.")] = None,
    json_: Json = False,
) -> None:
    client = ApiClient.from_login()
    params = {"cluster_id": cluster} if cluster else {"node_id": _node(client, node)}
    rows = client.get("/v1/instances", **params)
    print_json(rows) if json_ else print_table(rows, COLUMNS)


@instance_app.command("show")
def show(instance_id: str, json_: Json = False) -> None:
    instance = ApiClient.from_login().get(f"/v1/instances/{segment(instance_id)}")["instance"]
    print_json(instance) if json_ else print_record(instance, title="Instance")


def _power(instance_id: str, action: str, timeout: int | None = None) -> None:
    client = ApiClient.from_login()
    path = f"/v1/instances/{segment(instance_id)}"
    body = request_body(PowerRequest, action=action, timeout=timeout)
    client.wait_task(client.post(f"{path}/power", body)["task_id"])
    state = client.get(path)["instance"]["state"]
    say(f"Instance {instance_id} is {state}.")


@instance_app.command("start")
def start(instance_id: str) -> None:
    _power(instance_id, "start")


@instance_app.command("stop")
def stop(
    instance_id: str,
    timeout: Annotated[
        int | None,
        typer.Option(
            help="Seconds to wait for the guest; then use kill "
            f"(default {_default(PowerRequest, 'timeout')})."
        ),
    ] = None,
) -> None:
    """Shut the guest down (ACPI)."""
    _power(instance_id, "stop", timeout)


@instance_app.command("restart")
def restart(
    instance_id: str,
    timeout: Annotated[
        int | None,
        typer.Option(help=f"Seconds to wait (default {_default(PowerRequest, 'timeout')})."),
    ] = None,
) -> None:
    _power(instance_id, "restart", timeout)


@instance_app.command("kill")
def kill(instance_id: str) -> None:
    """Force Stop: power off at once (unsaved data in the guest is lost)."""
    _power(instance_id, "kill")


@instance_app.command("destroy")
def destroy(
    instance_id: str,
    volumes: Annotated[bool, typer.Option("--volumes", help="Delete its volumes too.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Destroy a stopped instance (asks for the word DESTROY)."""
    confirm_destructive(f"destroy instance {instance_id}", yes)
    client = ApiClient.from_login()
    reply = client.delete(
        f"/v1/instances/{segment(instance_id)}", confirm="DESTROY", destroy_volumes=volumes
    )
    client.wait_task(reply["task_id"])
    say(f"Destroyed {instance_id}.")


@instance_app.command("console")
def console(instance_id: str) -> None:
    """Attach to the serial console (leave with Ctrl-])."""
    from cloudenv.cli.console import attach_serial

    attach_serial(ApiClient.from_login(), instance_id)


@snapshot_app.command("create")
def snapshot_create(instance_id: str, name: str, description: str | None = None) -> None:
    client = ApiClient.from_login()
    body = request_body(SnapshotCreate, name=name, description=description)
    client.wait_task(
        client.post(f"/v1/instances/{segment(instance_id)}/snapshots", body)["task_id"]
    )
    say(f"Snapshot {name} of {instance_id} taken.")


@snapshot_app.command("list")
def snapshot_list(instance_id: str, json_: Json = False) -> None:
    rows = ApiClient.from_login().get(f"/v1/instances/{segment(instance_id)}/snapshots")
    print_json(rows) if json_ else print_table(
        rows,
        [
            ("name", "Name"),
            ("status", "Status"),
            ("creation", "Taken"),
            ("description", "Description"),
        ],
    )


@snapshot_app.command("revert")
def snapshot_revert(instance_id: str, name: str) -> None:
    client = ApiClient.from_login()
    path = f"/v1/instances/{segment(instance_id)}/snapshots/{segment(name)}/revert"
    client.wait_task(client.post(path)["task_id"])
    say(f"{instance_id} reverted to {name}.")


@snapshot_app.command("delete")
def snapshot_delete(
    instance_id: str, name: str, yes: Annotated[bool, typer.Option("--yes", "-y")] = False
) -> None:
    confirm_destructive(f"delete snapshot {name} of {instance_id}", yes)
    client = ApiClient.from_login()
    path = f"/v1/instances/{segment(instance_id)}/snapshots/{segment(name)}"
    client.wait_task(client.delete(path, confirm="DESTROY")["task_id"])
    say(f"Snapshot {name} deleted.")


@image_app.command("upload")
def image_upload(
    path: Path,
    name: Annotated[str | None, typer.Option(help="Default: the file's name.")] = None,
    node: str | None = None,
    pool: str | None = None,
    format: Annotated[
        str | None,
        typer.Option(
            help="iso, qcow2, raw, kernel, initrd (virtual machines); rootfs (a container's "
            "root filesystem tarball), oci (an OCI image layout: a tar, or a directory, which "
            "is sent as a tar). Default: told from the name."
        ),
    ] = None,
) -> None:
    """Upload an image file (streamed) and wait until it is in the pool."""
    if path.is_dir():
        if not (path / "oci-layout").is_file():
            fail(f"{path} is a directory without an oci-layout file: not an OCI image layout.")
        with tempfile.TemporaryDirectory(prefix="cloudenv-layout-") as scratch:
            packed = Path(scratch) / f"{path.name}.oci.tar"
            _tar_layout(path, packed)
            _upload(packed, name or path.name, node, pool, "oci")
        return
    if not path.is_file():
        fail(f"{path} is not a file.")
    _upload(path, name or path.name, node, pool, format)


def _tar_layout(layout: Path, out: Path) -> None:
    """The layout directory as a tar: its regular files and directories only (the node
    refuses links in a layout anyway)."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for item in sorted(layout.rglob("*")):
            if item.is_symlink() or not (item.is_file() or item.is_dir()):
                fail(f"{item} is neither a plain file nor a directory; a layout holds only those.")
            tar.add(item, arcname=str(item.relative_to(layout)), recursive=False)


def _upload(path: Path, name: str, node: str | None, pool: str | None, fmt: str | None) -> None:
    client = ApiClient.from_login()
    node_id = _node(client, node)
    params = {"storage_pool_id": pool or _default_pool(client, node_id), "name": name}
    if fmt:
        params["format"] = fmt
    with path.open("rb") as handle:
        reply = client.request(
            "POST",
            f"/v1/nodes/{segment(node_id)}/images/images",
            params=params,
            content=handle,
            headers={"Content-Length": str(path.stat().st_size)},
        )
    client.wait_task(reply["task_id"])
    say(f"Image {params['name']} is available on node {node_id}.")


@image_app.command("list")
def image_list(node: str | None = None, json_: Json = False) -> None:
    client = ApiClient.from_login()
    rows = client.get(f"/v1/nodes/{segment(_node(client, node))}/images/images")
    if json_:
        print_json(rows)
        return
    for row in rows:  # the table says which kind of instance an image is for
        known = row.get("type") in {t.value for t in InstanceType}
        row["kind"] = InstanceType(row["type"]).name.lower() if known else row.get("type")
    print_table(
        rows,
        [
            ("name", "Name"),
            ("kind", "For"),
            ("format", "Format"),
            ("size", "MB"),
            ("status", "Status"),
            ("storage_pool_id", "Pool"),
        ],
    )


@image_app.command("delete")
def image_delete(
    name: str, node: str | None = None, yes: Annotated[bool, typer.Option("--yes", "-y")] = False
) -> None:
    confirm_destructive(f"delete image {name}", yes)
    client = ApiClient.from_login()
    path = f"/v1/nodes/{segment(_node(client, node))}/images/images/{segment(name)}"
    client.wait_task(client.delete(path)["task_id"])
    say(f"Image {name} deleted.")
