"""``cloudenv login`` / ``logout`` / ``whoami``: sign in to a node and pin its certificate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from cloudenv.api.schemas.auth import LoginRequest
from cloudenv.cli.client import (
    ApiClient,
    Login,
    config_dir,
    error_message,
    forget_login,
    host_port,
    load_login,
    request_body,
    save_login,
)
from cloudenv.cli.output import fail, print_record, private_dir, say, warn
from cloudenv.tls import certificate_fingerprint, fetch_server_certificates


def _pin_certificate(url: str, fingerprint: str | None, yes: bool) -> Path:
    """Trust on first use, like SSH; an expected fingerprint is always checked."""
    host, port = host_port(url)
    try:
        peer = fetch_server_certificates(host, port)
    except OSError as exc:
        fail(f"Cannot reach {host}:{port}: {exc}.")
    seen = certificate_fingerprint(peer.leaf)
    if fingerprint is not None and fingerprint.replace(":", "").upper() != seen.replace(":", ""):
        fail(
            f"The certificate of {host}:{port} has fingerprint {seen}, not the expected "
            f"{fingerprint}; refusing to connect."
        )
    path = config_dir() / "servers" / f"{host.replace(':', '_')}_{port}.pem"
    pinned = path.read_bytes() if path.is_file() else None
    if pinned is not None and pinned in (peer.leaf, peer.to_pin):
        return path  # already trusted, same certificate
    if pinned is not None:
        warn(
            f"WARNING: the certificate of {host}:{port} CHANGED since you last signed in. "
            f"New fingerprint: {seen}"
        )
    if fingerprint is None and not yes:
        say(
            f"The node {host}:{port} presents a certificate with SHA-256 fingerprint\n"
            f"  {seen}\nCompare it with the one 'cloudenv init' printed on the node."
        )
        if not sys.stdin.isatty() or not typer.confirm("Trust this certificate?"):
            fail("Certificate not trusted; pass --fingerprint or --yes to accept it.")
    private_dir(path.parent)
    path.write_bytes(peer.to_pin)
    return path


def login(
    url: Annotated[str, typer.Option(help="https://<node>:5007")],
    username: Annotated[str, typer.Option(help="User name.")] = "pceadmin",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    fingerprint: Annotated[
        str | None, typer.Option(help="Expected SHA-256 fingerprint of the node's certificate.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Trust the certificate shown.")] = False,
    otp: Annotated[
        str | None,
        typer.Option(help="One-time code (or recovery code), for a user with a second factor."),
    ] = None,
) -> None:
    """Sign in to a node and remember the session for later commands. A user with a second
    factor is asked for the one-time code (with --password-stdin, it is the next line)."""
    cert_file = _pin_certificate(url, fingerprint, yes)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"Password for {username}", hide_input=True)
    api = ApiClient.connect(url, cert_file)
    result = _sign_in(api, username, password, otp)
    if result is None:  # the node asks for the second factor
        code = sys.stdin.readline().strip() if password_stdin else typer.prompt("One-time code")
        result = _sign_in(api, username, password, code)
        if result is None:
            fail("The node still asks for a one-time code; nothing was saved.")
    save_login(Login(url=url, token=result["token"], username=username, cert_file=str(cert_file)))
    say(f"Signed in to {url} as {username}.")
    if result["user"].get("must_enroll_mfa"):
        warn(
            "Your organization requires a one-time code at sign-in: enroll an authenticator "
            "(in the web interface's user settings) before anything else."
        )


def _sign_in(
    api: ApiClient, username: str, password: str, otp: str | None
) -> dict[str, Any] | None:
    """The login reply; None when the node answers that a one-time code is needed."""
    body = request_body(LoginRequest, username=username, password=password, otp=otp or None)
    try:
        response = api.http.post("/v1/auth/login", json=body)
    except httpx.ConnectError as exc:
        fail(f"Cannot reach {api.http.base_url}: {exc}.")
    if response.status_code == 401 and not otp and _field(response) == "otp":
        return None
    if response.status_code >= 400:
        fail(error_message(response))
    result: dict[str, Any] = response.json()
    return result


def _field(response: httpx.Response) -> str | None:
    try:
        field = response.json().get("field")
    except ValueError:
        return None
    return field if isinstance(field, str) else None


def logout() -> None:
    """End the session on the node and forget it here."""
    ApiClient.from_login().post("/v1/auth/logout")
    forget_login()
    say("Signed out.")


def whoami() -> None:
    """Show who the saved session belongs to."""
    login_ = load_login()
    me = ApiClient.from_login().get("/v1/auth/me")
    print_record({"url": login_.url, **me})
