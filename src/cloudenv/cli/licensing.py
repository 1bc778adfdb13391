"""``cloudenv license …``: a node's license key (show, set), a cluster's licensing status
(show), the issuers the deployment trusts (trust, issuers, untrust), and, for operators who
run their own issuer, making keys (keygen, issue) without any node: signing is offline.

A key is read from a file, standard input or a hidden prompt when set, never from the
command line (a process list and the shell's history would show it): a key entitles
whoever holds it. Public keys are no secret and may be given inline.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudenv import clock
from cloudenv.api.schemas.licensing import LicenseIssuerCreate, NodeLicenseSet
from cloudenv.cli.client import ApiClient, request_body, segment
from cloudenv.cli.output import fail, print_json, print_record, print_table, say
from cloudenv.errors import InvalidInput
from cloudenv.services.licensing import keys

license_app = typer.Typer(
    help="License keys: show and set a node's, a cluster's status, trusted issuers, and "
    "issuing keys with your own issuer.",
    no_args_is_help=True,
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def read_public_key(value: str) -> str:
    """An issuer's public key given as a file (PEM, or the line keygen wrote) or inline."""
    path = Path(value)
    if "\n" not in value and len(value) < 4096 and path.is_file():
        try:
            return path.read_text()
        except OSError as exc:
            fail(f"Cannot read the public key file {path}: {exc.strerror}.")
    return value


def _read_key(key_file: str | None) -> str:
    if key_file == "-" or (key_file is None and not sys.stdin.isatty()):
        return sys.stdin.read()
    if key_file is None:
        return str(typer.prompt("License key", hide_input=True))
    try:
        return Path(key_file).read_text()
    except OSError as exc:
        fail(f"Cannot read the license key file {key_file}: {exc.strerror}.")


def _show_node(data: dict[str, Any]) -> None:
    print_record(
        {
            "key": data["key"],
            "status": data["status"],
            "valid": data["valid"],
            "expiry": data["expiry"],
            "features": ", ".join(data["features"]) or None,
            "reason": data["reason"],
        }
    )


@license_app.command("show")
def license_show(
    target: Annotated[str, typer.Argument(help="A node (node-…) or a cluster (cls-…).")],
    json_: Json = False,
) -> None:
    """A node's key and its status, or a cluster's status with each of its nodes'."""
    api = ApiClient.from_login()
    if target.startswith("cls-"):
        data = api.get(f"/v1/clusters/{segment(target)}/licensing")
        if json_:
            return print_json(data)
        print_record(data["cluster"], title=f"Cluster {target}")
        rows = [{"node": node_id, **entry} for node_id, entry in data["nodes"].items()]
        print_table(
            rows, [("node", "Node"), ("status", "Status"), ("ok", "OK"), ("expiry", "Expiry")]
        )
        return None
    data = api.get(f"/v1/nodes/{segment(target)}/license")
    if json_:
        return print_json(data)
    _show_node(data)
    return None


@license_app.command("set")
def license_set(
    node_id: str,
    key_file: Annotated[
        str | None,
        typer.Argument(help="File holding the key; - for standard input; asked when left out."),
    ] = None,
    json_: Json = False,
) -> None:
    """Set a node's license key (checked by the node: refused with the reason unless it is
    valid for that node now)."""
    body = request_body(NodeLicenseSet, key=keys.normalize(_read_key(key_file)))
    data = ApiClient.from_login().request("PUT", f"/v1/nodes/{segment(node_id)}/license", json=body)
    if json_:
        return print_json(data)
    say(f"License key set on {node_id}: {data['status']}, expires {data['expiry']}.")
    return None


@license_app.command("trust")
def license_trust(
    public_key: Annotated[
        str, typer.Argument(help="The issuer's public key: a file, or the line itself.")
    ],
    name: Annotated[str, typer.Option(help="What to call it (default: its fingerprint).")] = "",
) -> None:
    """Accept keys signed by this issuer on every node (root organization's administrators)."""
    body = request_body(LicenseIssuerCreate, public_key=read_public_key(public_key), name=name)
    created = ApiClient.from_login().post("/v1/license_issuers", body)
    say(f"Trusted license issuer {created['id']}.")


@license_app.command("issuers")
def license_issuers(json_: Json = False) -> None:
    """The issuers whose keys the deployment accepts."""
    listed = ApiClient.from_login().get("/v1/license_issuers")
    if json_:
        return print_json(listed)
    print_table(
        listed,
        [("id", "ID"), ("name", "Name"), ("fingerprint", "Fingerprint"), ("creation", "Since")],
    )
    return None


@license_app.command("untrust")
def license_untrust(issuer_id: str) -> None:
    """Stop accepting an issuer's keys: nodes whose key it signed turn missing."""
    ApiClient.from_login().delete(f"/v1/license_issuers/{segment(issuer_id)}")
    say(f"License issuer {issuer_id} is no longer trusted.")


@license_app.command("keygen")
def license_keygen(
    private_key_file: Annotated[
        Path, typer.Argument(help="Where to write the new private key (PEM, mode 0600).")
    ],
    force: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Make an issuer key pair, for operators who issue their own keys. The public key goes
    next to it (FILE.pub); give that to 'cloudenv license trust' or 'cloudenv init
    --trust-issuer'. Keep the private key off the nodes."""
    public_file = private_key_file.with_name(private_key_file.name + ".pub")
    if not force and (private_key_file.exists() or public_file.exists()):
        fail(f"{private_key_file} or {public_file} exists; nothing was changed (--force).")
    private = keys.generate_issuer()
    try:
        descriptor = os.open(private_key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(keys.private_key_pem(private))
        os.chmod(private_key_file, 0o600)
        public_file.write_text(keys.public_key_text(private.public_key()) + "\n")
    except OSError as exc:
        fail(f"Cannot write {exc.filename}: {exc.strerror}.")
    say(f"Private key: {private_key_file} (keep it secret).")
    say(f"Public key ({public_file}): {keys.public_key_text(private.public_key())}")
    say(f"Fingerprint: {keys.fingerprint(private.public_key())}")


def _expiry(days: int | None, expires: str | None) -> datetime:
    if days is not None and expires is not None:
        fail("Give the expiry once: --days or --expires.")
    if expires is not None:
        try:
            when = datetime.fromisoformat(expires)
        except ValueError:
            fail(f"--expires {expires!r} is not a date (2027-12-31) or an RFC 3339 time.")
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return clock.now() + timedelta(days=365 if days is None else days)


@license_app.command("issue")
def license_issue(
    issuer_key: Annotated[
        Path, typer.Option(help="The issuer's private key (from 'cloudenv license keygen').")
    ],
    node: Annotated[str, typer.Option(help="The node's ID, or * for any node.")],
    days: Annotated[
        int | None, typer.Option(min=1, help="Valid for this many days (default 365).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="Or until this date (2027-12-31) or time (UTC if no zone).")
    ] = None,
    feature: Annotated[
        list[str] | None, typer.Option(help="A feature the key entitles; repeat for several.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the key to this file (mode 0600), not stdout.")
    ] = None,
) -> None:
    """Sign a license key with your issuer's private key (offline: no node is asked)."""
    try:
        private = keys.load_private_key(issuer_key.read_bytes())
    except OSError as exc:
        fail(f"Cannot read the issuer key {issuer_key}: {exc.strerror}.")
    except keys.KeyFormatError as exc:
        fail(f"{issuer_key} is {exc}: give the file 'cloudenv license keygen' wrote.")
    except TypeError:
        fail(f"{issuer_key} is encrypted; give an unencrypted PEM private key.")
    try:
        key = keys.issue(private, node=node, expiry=_expiry(days, expires), features=feature or ())
    except InvalidInput as exc:
        fail(exc.message)
    if out is None:
        typer.echo(key)
        return
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as written:
            written.write(key + "\n")
    except OSError as exc:
        fail(f"Cannot write {out}: {exc.strerror}.")
    claims = keys.read_claims(key)
    say(
        f"Wrote license key {claims.id} for {node} to {out}, valid until "
        f"{clock.rfc3339(claims.expiry)}."
    )
