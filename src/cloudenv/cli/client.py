"""The CLI as an API client: where it keeps its login, and how it talks to a node.

``cloudenv login`` pins the node's certificate on first use, like SSH: it shows the
SHA-256 fingerprint, asks (or checks ``--fingerprint``), and stores the PEM beside the
token in ``~/.config/cloudenv/``. Later calls trust that certificate only.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from cloudenv.cli.output import fail, private_dir
from cloudenv.tls import client_ssl_context


def config_dir() -> Path:
    base = os.environ.get("CLOUDENV_CONFIG_DIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config")), "cloudenv"
    )
    return Path(base)


@dataclass
class Login:
    url: str
    token: str
    username: str
    cert_file: str


def save_login(login: Login) -> None:
    directory = config_dir()
    private_dir(directory)
    path = directory / "login.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(login), handle, indent=2)


def load_login() -> Login:
    path = config_dir() / "login.json"
    if not path.is_file():
        fail("Not signed in: run 'cloudenv login --url https://<node>:5007' first.")
    return Login(**json.loads(path.read_text()))


def forget_login() -> None:
    (config_dir() / "login.json").unlink(missing_ok=True)


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        fail(f"{url!r} is not an https:// URL of a node (e.g. https://10.0.0.5:5007).")
    return parts.hostname, parts.port or 5007


class ApiClient:
    """Thin JSON client: raises a clean CLI error with the server's message on failure."""

    def __init__(self, url: str, cert_file: Path, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=url.rstrip("/") + "/api",
            headers=headers,
            verify=client_ssl_context(cert_file),
            timeout=30.0,
        )

    @classmethod
    def from_login(cls) -> ApiClient:
        login = load_login()
        return cls(login.url, Path(login.cert_file), login.token)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            fail(f"Cannot reach {self.http.base_url}: {exc}.")
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            if response.status_code == 401:
                message += " (Sign in again with 'cloudenv login'.)"
            fail(message)
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=body or {})

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def wait_task(self, task_id: str, timeout: float = 3600.0) -> dict[str, Any]:
        """Follow a task with a progress bar until it ends; fail on a failed task."""
        from rich.progress import Progress

        deadline = time.monotonic() + timeout
        with Progress(transient=True) as progress:
            bar = progress.add_task(task_id, total=100)
            while True:
                task: dict[str, Any] = self.get(f"/v1/tasks/{task_id}")
                last = task["log"][-1]["message"] if task["log"] else task["status"]
                progress.update(bar, completed=task["progress"], description=last[:60])
                if task["status"] in ("succeeded", "failed", "cancelled"):
                    break
                if time.monotonic() > deadline:
                    fail(f"Task {task_id} is still {task['status']} after {timeout:.0f} s.")
                time.sleep(0.3)
        if task["status"] in ("failed", "cancelled"):
            fail(f"Task {task_id} {task['status']}: {task['message']}")
        return task
