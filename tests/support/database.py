"""Pre-initialized databases for the tests: the schema is migrated and the deployment set
up once per run into a template, and each test gets its own copy of it.

Why copies rather than one transaction rolled back per test: the app commits inside
requests, on TestClient's worker thread, and the agent commits on its own sessions, so a
test's writes span many connections and commits; a savepoint wrapped around all of that
would have to be shared across threads. A copy is isolated by construction. On SQLite it
is a file copy (a few hundred KB); on PostgreSQL, ``CREATE DATABASE ... TEMPLATE``.

Argon2 is deliberately slow (about a second per hash on this machine under load); unit
tests sign in hundreds of times, so they hash with ``CHEAP_HASHER`` instead (see
``cheap_password_hashes``). Production parameters are pinned by
``tests/unit/services/test_auth.py``.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from argon2 import PasswordHasher

from cloudenv.services import auth
from cloudenv.services.setup import SetupResult

#: argon2id at its cheapest (the library's minimums): the hash format and the code paths
#: stay those of production, only the work factor drops.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

#: Builds a deployment on an empty database: migrate, then ``setup.initialize`` with the
#: default pool under ``data_dir``. Returns what set-up created.
Initializer = Callable[[str, Path], SetupResult]

SQLITE_PREFIX = "sqlite:///"


def cheap_password_hashes() -> AbstractContextManager[None]:
    """Hash passwords with ``CHEAP_HASHER`` inside the block, then as before."""
    return auth.hasher_for_tests(CHEAP_HASHER)


@dataclass(frozen=True)
class Template:
    """A database holding a freshly initialized deployment, never used by a test itself."""

    url: str
    setup: SetupResult
    pool_path: str  # the default pool's directory in the template; each copy gets its own


class Templates:
    """One template per backend (per PostgreSQL server), built on first use."""

    def __init__(self, initializer: Initializer) -> None:
        self._initializer = initializer
        self._built: dict[str, Template] = {}
        self._lock = threading.Lock()
        self._root: Path | None = None

    def clone_into(self, database_url: str) -> Template:
        """Make the empty database at ``database_url`` a copy of the template; returns the
        template, whose IDs the copy shares."""
        if database_url.startswith(SQLITE_PREFIX):
            template = self._sqlite()
            _copy_sqlite(template.url, database_url)
        else:
            admin_url, name = database_url.rsplit("/", 1)
            template = self._postgres(admin_url)
            _clone_postgres(admin_url, template.url.rsplit("/", 1)[1], name)
        return template

    def _sqlite(self) -> Template:
        with self._lock:
            if "sqlite" not in self._built:
                data_dir = self._scratch() / "sqlite"
                data_dir.mkdir()
                url = f"{SQLITE_PREFIX}{data_dir / 'template.db'}"
                self._built["sqlite"] = self._build(url, data_dir)
                _checkpoint(url)
            return self._built["sqlite"]

    def _postgres(self, admin_url: str) -> Template:
        with self._lock:
            if admin_url not in self._built:
                name = "cloudenv_template_" + uuid.uuid4().hex[:8]
                with psycopg.connect(admin_url + "/postgres", autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
                data_dir = self._scratch() / name
                data_dir.mkdir()
                self._built[admin_url] = self._build(f"{admin_url}/{name}", data_dir)
            return self._built[admin_url]

    def _build(self, url: str, data_dir: Path) -> Template:
        with cheap_password_hashes():
            result = self._initializer(url, data_dir)
        return Template(url, result, str(data_dir / "pools" / "default"))

    def _scratch(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="cloudenv-test-templates-"))
            atexit.register(shutil.rmtree, self._root, ignore_errors=True)
        return self._root


def _checkpoint(url: str) -> None:
    """Fold the write-ahead log into the main file, so the file alone is the database."""
    with sqlite3.connect(url.removeprefix(SQLITE_PREFIX)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _copy_sqlite(template_url: str, url: str) -> None:
    target = Path(url.removeprefix(SQLITE_PREFIX))
    if target.exists() and target.stat().st_size:
        raise AssertionError(f"{target} already holds a database; a copy needs an empty one")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_url.removeprefix(SQLITE_PREFIX), target)


def _clone_postgres(admin_url: str, template: str, name: str) -> None:
    """Replace the (empty) database ``name`` by a copy of ``template``; its URL stays."""
    with psycopg.connect(admin_url + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
