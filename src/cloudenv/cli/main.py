"""The ``cloudenv`` entry point: wires the command groups together."""

from __future__ import annotations

import typer

from cloudenv.cli import (
    admin,
    audit,
    instances,
    licensing,
    network,
    policies,
    pools,
    resources,
    session,
    tokens,
    top,
    users,
    volumes,
)

app = typer.Typer(
    help="cloudenv: administer a node and drive the cloud from the command line.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(admin.init)
app.command()(admin.serve)
app.command("show-ca")(admin.show_ca)
app.add_typer(admin.db_app, name="db")
app.command()(session.login)
app.command()(session.logout)
app.command()(session.whoami)
app.add_typer(resources.org_app, name="org")
app.add_typer(resources.dc_app, name="datacenter")
app.add_typer(resources.cluster_app, name="cluster")
resources.node_app.command("top")(top.node_top)
instances.instance_app.command("top")(top.instance_top)
app.add_typer(resources.node_app, name="node")
app.add_typer(resources.task_app, name="task")
app.add_typer(instances.instance_app, name="instance")
app.add_typer(instances.image_app, name="image")
app.add_typer(volumes.volume_app, name="volume")
app.add_typer(pools.pool_app, name="pool")
app.add_typer(network.vswitch_app, name="vswitch")
app.add_typer(network.portgroup_app, name="portgroup")
app.add_typer(network.nic_app, name="nic")
app.add_typer(policies.policy_app, name="policy")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(audit.quota_app, name="quota")
app.add_typer(users.user_app, name="user")
app.add_typer(tokens.token_app, name="token")
app.add_typer(licensing.license_app, name="license")

if __name__ == "__main__":
    app()
