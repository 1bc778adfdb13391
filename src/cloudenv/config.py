"""Node settings: where the data dir is, which database, which node this is.

``cloudenv init`` writes ``config.json`` into the data dir; ``cloudenv serve`` and the
admin commands read it back. Nothing here talks to the database.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from cloudenv.errors import SetupError

DEFAULT_PORT = 5007
DEFAULT_DATA_DIR = Path("/var/lib/cloudenv")
CONFIG_FILE = "config.json"
DATABASE_FILE = "cloudenv.db"


def default_data_dir() -> Path:
    """``$CLOUDENV_DATA_DIR`` or ``/var/lib/cloudenv``."""
    return Path(os.environ.get("CLOUDENV_DATA_DIR", str(DEFAULT_DATA_DIR)))


def sqlite_url(data_dir: Path) -> str:
    """The embedded default database: a SQLite file in the data dir."""
    return f"sqlite:///{(data_dir / DATABASE_FILE).resolve()}"


@dataclass(frozen=True)
class TLSPaths:
    """The node's self-signed CA and the server certificate it signs."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def in_dir(cls, data_dir: Path) -> TLSPaths:
        tls = data_dir / "tls"
        return cls(tls / "ca.pem", tls / "ca.key", tls / "server.pem", tls / "server.key")


@dataclass(frozen=True)
class Settings:
    """Everything a node needs to start; persisted as the data dir's config.json."""

    data_dir: Path
    node_id: str
    database_url: str
    management_ip: str
    timezone: str = "Etc/UTC"
    bind: str = "0.0.0.0"  # noqa: S104 - a node serves its management network
    port: int = DEFAULT_PORT
    session_hours: int = 12
    accelerator: str = "auto"  # auto | kvm | tcg
    #: Audit rows older than this are deleted by the node's agent (hourly); 0 keeps every
    #: row. A year by default: what common compliance rules ask to keep, and a bound on a
    #: table that gains a row per change.
    audit_retention_days: int = 365
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def default_pool_path(self) -> Path:
        """The default storage pool's directory. The data dir is 0711 so that QEMU, which
        runs as its own user, can reach disks in here without listing anything."""
        return self.data_dir / "pools" / "default"

    @property
    def tls(self) -> TLSPaths:
        return TLSPaths.in_dir(self.data_dir)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced (command-line flags win over the file)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]

    def save(self) -> None:
        data = asdict(self)
        data.pop("data_dir")
        path = self.data_dir / CONFIG_FILE
        path.write_text(json.dumps(data, indent=2) + "\n")
        path.chmod(0o600)

    @classmethod
    def load(cls, data_dir: Path) -> Settings:
        path = data_dir / CONFIG_FILE
        if not path.is_file():
            raise SetupError(
                f"{data_dir} is not an initialized cloudenv data dir (no {CONFIG_FILE}); "
                f"run 'cloudenv init --data-dir {data_dir}' first."
            )
        data = json.loads(path.read_text())
        return cls(data_dir=data_dir, **data)

    @staticmethod
    def is_initialized(data_dir: Path) -> bool:
        return (data_dir / CONFIG_FILE).is_file()
