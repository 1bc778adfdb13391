"""A throwaway PostgreSQL server for the tests: its own data dir, port and socket, started
with the Debian binaries (initdb refuses to run as root, so it runs as ``postgres``).

Set ``CLOUDENV_TEST_POSTGRES_URL`` to use an existing server instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15")]


def _bin_dir() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").is_file():
            return candidate
    raise RuntimeError(
        "PostgreSQL server binaries are missing: run 'make deps' (installs the postgresql package)."
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the admin URL of a fresh server (``postgresql://postgres@127.0.0.1:PORT``)."""
    existing = os.environ.get("CLOUDENV_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    bin_dir = _bin_dir()
    # Not under /root (mode 0700): the postgres user must reach it.
    work = Path(tempfile.mkdtemp(prefix="cloudenv-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(work, "postgres", "postgres")
    work.chmod(0o700)
    data, port = work / "data", _free_port()
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                    "-N",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {work} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(work / "log"),
                    "-w",
                    "-t",
                    "30",
                    "-o",
                    options,
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(work, ignore_errors=True)


def create_database(admin_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = "cloudenv_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url}/{name}"
