"""Node administration: ``init`` (the installer's set-up), ``serve``, ``db``."""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from cloudenv.cli.licensing import read_public_key
from cloudenv.cli.output import console, err_console, fail, say
from cloudenv.config import Settings, default_data_dir, sqlite_url
from cloudenv.errors import CloudenvError, SetupError
from cloudenv.host.hardware import collect_hardware
from cloudenv.host.reach import blocking_directory, qemu_account
from cloudenv.host.requirements import check_requirements
from cloudenv.host.system import collect_host, detect_management_ip, host_addresses
from cloudenv.services import setup
from cloudenv.tls import CertificateFiles, certificate_fingerprint, ensure_node_certificates

EULA_SUMMARY = (
    "cloudenv is free software under the Apache License 2.0. It comes with no warranty; "
    "you run it at your own risk. By continuing you accept these terms."
)

DataDir = Annotated[
    Path, typer.Option("--data-dir", help="The node's data directory.", envvar="CLOUDENV_DATA_DIR")
]


def _certificate_files(settings: Settings) -> CertificateFiles:
    tls = settings.tls
    return CertificateFiles(tls.ca_cert, tls.ca_key, tls.server_cert, tls.server_key)


def _read_password(password_file: Path | None, interactive: bool) -> str:
    if password_file is not None:
        try:
            return password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            fail(f"Cannot read the password file {password_file}: {exc.strerror}.")
    if os.environ.get("CLOUDENV_ADMIN_PASSWORD"):
        return os.environ["CLOUDENV_ADMIN_PASSWORD"]
    if not interactive:
        fail(
            "No administrator password: pass --admin-password-file FILE or set "
            "CLOUDENV_ADMIN_PASSWORD."
        )
    first = typer.prompt(f"Password for {setup.ADMIN_USERNAME}", hide_input=True)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        fail("The two passwords differ; nothing was changed.")
    return str(first)


def _read_license_key(text: str | None, key_file: Path | None, ask: bool) -> str | None:
    """The installer's license key step: given, read from a file, asked (when an issuer to
    check it against was given), or none."""
    if text is not None and key_file is not None:
        fail("Give the license key once: --license-key or --license-key-file.")
    if key_file is not None:
        try:
            return key_file.read_text().strip()
        except OSError as exc:
            fail(f"Cannot read the license key file {key_file}: {exc.strerror}.")
    if text is None and ask:
        text = str(typer.prompt("License key (Enter for none)", default="", show_default=False))
    if text is None or not text.strip():
        return None
    return text.strip()


def init(
    data_dir: DataDir = default_data_dir(),
    accept_eula: Annotated[bool, typer.Option("--accept-eula", help="Accept the licence.")] = False,
    organization: Annotated[str | None, typer.Option(help="Root organization name.")] = None,
    timezone: Annotated[str | None, typer.Option(help="tz database name.")] = None,
    admin_password_file: Annotated[
        Path | None,
        typer.Option(help="File holding pceadmin's password (or set CLOUDENV_ADMIN_PASSWORD)."),
    ] = None,
    management_ip: Annotated[str | None, typer.Option(help="Detected when not given.")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL URL; default: SQLite in the data dir.")
    ] = None,
    ignore_requirements: Annotated[
        bool,
        typer.Option(
            help="Set up even if the host fails a hard requirement, or QEMU can't reach the "
            "data dir (test machines only)."
        ),
    ] = False,
    trust_issuer: Annotated[
        list[str] | None,
        typer.Option(
            help="Trust this license issuer's public key (a file, or the line 'cloudenv "
            "license keygen' printed); repeat for several. None is trusted by default."
        ),
    ] = None,
    license_key: Annotated[
        str | None,
        typer.Option(
            help="This node's license key (optional: cloudenv works without one). A key "
            "issued for a node ID gives the new node that ID."
        ),
    ] = None,
    license_key_file: Annotated[
        Path | None, typer.Option(help="File holding this node's license key.")
    ] = None,
) -> None:
    """Set up this host as the first node of a new deployment (the installer's steps)."""
    interactive = sys.stdin.isatty()
    data_dir = data_dir.resolve()
    if Settings.is_initialized(data_dir):
        fail(
            f"{data_dir} is already initialized; nothing was changed. "
            "Use another --data-dir to set up a new deployment."
        )
    if not accept_eula:
        console.print(EULA_SUMMARY)
        if not interactive or not typer.confirm("Do you accept the licence?"):
            fail("The licence was not accepted (--accept-eula); nothing was changed.")
    detected_ip = detect_management_ip()
    if management_ip is None:
        management_ip = (
            typer.prompt("Management IP", default=detected_ip) if interactive else detected_ip
        )
    try:
        ipaddress.ip_address(management_ip)
    except ValueError:
        fail(f"{management_ip!r} is not an IP address (--management-ip).")
    if organization is None:
        if not interactive:
            fail("Name the root organization with --organization NAME.")
        organization = str(typer.prompt("Root organization name"))
    if timezone is None:
        timezone = str(typer.prompt("Timezone", default="Etc/UTC")) if interactive else "Etc/UTC"
    password = _read_password(admin_password_file, interactive)
    issuers = tuple(("", read_public_key(value)) for value in trust_issuer or ())
    key = _read_license_key(license_key, license_key_file, interactive and bool(issuers))

    hardware, host = collect_hardware(), collect_host()
    findings = check_requirements(hardware, host["os"]["architecture"])
    for finding in findings:
        style = "red" if finding.level == "error" else "yellow"
        err_console.print(
            f"[{style}]{finding.level.upper()}:[/] {finding.message}", highlight=False
        )
    if any(f.level == "error" for f in findings) and not ignore_requirements:
        fail("This host does not meet cloudenv's requirements; nothing was changed.")

    node_id = setup.node_id_for(key)
    settings = Settings(
        data_dir=data_dir,
        node_id=node_id,
        database_url=database_url or sqlite_url(data_dir),
        management_ip=management_ip,
        timezone=timezone,
    )
    request = setup.SetupRequest(
        organization_name=organization,
        timezone=timezone,
        admin_password=password,
        node_id=node_id,
        node_name=host["hostname"] or socket.gethostname(),
        management_ip=management_ip,
        hardware=hardware,
        host=host,
        default_pool_path=str(settings.default_pool_path),
        trusted_issuers=issuers,
        license_key=key,
    )
    try:
        setup.validate(request)
    except CloudenvError as exc:
        fail(f"{exc.message} Nothing was changed.")
    _check_reach(settings, ignore_requirements)
    created_dir = not data_dir.exists()
    try:
        _create_deployment(settings, request)
    except BaseException as exc:
        _undo(data_dir, created_dir)
        if isinstance(exc, CloudenvError):
            fail(f"{exc.message}")
        raise
    fingerprint = certificate_fingerprint(settings.tls.server_cert.read_bytes())
    say(f"Initialized {data_dir}: organization {organization}, node {node_id}.")
    say(f"Start it with: cloudenv serve --data-dir {data_dir}")
    say(f"Then sign in at https://{management_ip}:5007 as {setup.ADMIN_USERNAME}.")
    say(f"Certificate SHA-256 fingerprint: {fingerprint}")


def _check_reach(settings: Settings, ignore_requirements: bool) -> None:
    """Refuse a data dir whose default pool QEMU's user could not reach: every deploy would
    fail late with "Cannot access storage file". The data dir itself is made 0711 below, so
    only what lies above it (and anything already inside it) can block."""
    blocked = blocking_directory(
        settings.default_pool_path, qemu_account(), will_open=frozenset({settings.data_dir})
    )
    if blocked is None:
        return
    message = f"{blocked.describe()}; {blocked.fix} or choose another --data-dir."
    if not ignore_requirements:
        fail(f"{message} Nothing was changed.")
    err_console.print(f"[yellow]WARNING:[/] {message}", highlight=False)


def _create_deployment(settings: Settings, request: setup.SetupRequest) -> None:
    from cloudenv.store.engine import make_engine, make_session_factory, transaction
    from cloudenv.store.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Traversable, not listable: QEMU runs as its own user and must reach pools/ in here.
    settings.data_dir.chmod(0o711)
    # Pools live below pools/: searchable by QEMU's user, listable by nobody else.
    settings.default_pool_path.parent.mkdir(exist_ok=True)
    settings.default_pool_path.parent.chmod(0o711)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with transaction(make_session_factory(engine)) as db:
            setup.initialize(db, request)
    finally:
        engine.dispose()
    ensure_node_certificates(
        _certificate_files(settings),
        [request.host["hostname"], socket.getfqdn()],
        [settings.management_ip, *host_addresses()],
    )
    database_file = settings.data_dir / "cloudenv.db"
    if database_file.exists():
        database_file.chmod(0o600)
    settings.save()  # last: its presence is what marks the data dir as initialized


def _undo(data_dir: Path, created_dir: bool) -> None:
    """Remove what a failed init wrote, so running it again starts clean."""
    if created_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
        return
    for name in ("cloudenv.db", "cloudenv.db-wal", "cloudenv.db-shm", "tls"):
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def serve(
    data_dir: DataDir = default_data_dir(),
    bind: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTPS port (default 5007).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    request_timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds a connection has for its TLS handshake, then for each request's "
            "headers, before it is closed.",
        ),
    ] = 10.0,
    workers: Annotated[
        int,
        typer.Option(min=1, help="API processes (default: one per core, at most 4)."),
    ] = min(4, os.cpu_count() or 1),
) -> None:
    """Run this node: the HTTPS API on port 5007 and the node agent, until SIGTERM/SIGINT."""
    from cloudenv.api.server import https_options
    from cloudenv.daemon import build, configure_logging
    from cloudenv.daemon import serve as serve_daemon

    try:
        settings = Settings.load(data_dir.resolve()).with_overrides(bind=bind, port=port)
    except SetupError as exc:
        fail(exc.message)
    configure_logging(settings.data_dir, log_level)
    ensure_node_certificates(
        _certificate_files(settings),
        [socket.gethostname()],
        [settings.management_ip, *host_addresses()],
    )
    daemon = build(settings)
    # uvicorn re-raises SIGTERM after its graceful shutdown (exit -15); a service manager
    # must see a clean stop, so end with status 0 once uvicorn hands the signal back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = serve_daemon(
        daemon,
        workers,
        log_level,
        host=settings.bind,
        port=settings.port,
        ssl_certfile=str(settings.tls.server_cert),
        ssl_keyfile=str(settings.tls.server_key),
        **https_options(request_timeout),
    )
    if not started:
        fail(f"Could not serve on {settings.bind}:{settings.port}; see the messages above.")


db_app = typer.Typer(
    help="The node's database: schema version and migrations.", no_args_is_help=True
)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = default_data_dir()) -> None:
    """Migrate the database to this version's schema."""
    from cloudenv.store.engine import make_engine
    from cloudenv.store.migrate import current_revision, upgrade

    engine = make_engine(Settings.load(data_dir.resolve()).database_url)
    upgrade(engine)
    say(f"Database schema at revision {current_revision(engine)}.")


@db_app.command("current")
def db_current(data_dir: DataDir = default_data_dir()) -> None:
    """Show the database's schema revision and this version's newest."""
    from cloudenv.store.engine import make_engine
    from cloudenv.store.migrate import current_revision, head_revision

    engine = make_engine(Settings.load(data_dir.resolve()).database_url)
    say(f"current: {current_revision(engine)}  newest: {head_revision(engine)}")


def show_ca(data_dir: DataDir = default_data_dir()) -> None:
    """Print the node's CA certificate (PEM), to pin it in clients (curl --cacert, Go)."""
    settings = Settings.load(data_dir.resolve())
    sys.stdout.write(settings.tls.ca_cert.read_text())
