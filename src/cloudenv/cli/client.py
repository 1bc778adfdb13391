"""The CLI as an API client: where it keeps its login, and how it talks to a node.

``cloudenv login`` pins the node's certificate on first use, like SSH: it shows the
SHA-256 fingerprint, asks (or checks ``--fingerprint``), and stores the PEM beside the
token in ``~/.config/cloudenv/``. Later calls trust that certificate only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

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


def segment(value: str) -> str:
    """One path segment of a URL, percent-encoded: a name such as ``a?b`` or ``x/y`` stays
    one segment instead of starting a query string or a sub-path."""
    return quote(value, safe="")


def request_body(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """A request body validated by the API's own schema, before anything is sent.

    Fields given as None are left out, so the server's schema supplies their defaults: the
    CLI never restates a default (memory, firmware, bus …) the API already defines.
    """
    given = {name: value for name, value in fields.items() if value is not None}
    try:
        body = model.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        fail(f"Not sent: {problems}.")
    return body.model_dump(mode="json", by_alias=True, exclude_unset=True)


class ApiClient:
    """Thin JSON client: raises a clean CLI error with the server's message on failure."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    @classmethod
    def connect(cls, url: str, cert_file: Path, token: str | None = None) -> ApiClient:
        """A client of the node at ``url`` that trusts only its pinned certificate."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return cls(
            httpx.Client(
                base_url=url.rstrip("/") + "/api",
                headers=headers,
                verify=client_ssl_context(cert_file),
                timeout=30.0,
            )
        )

    @classmethod
    def from_login(cls) -> ApiClient:
        login = load_login()
        return cls.connect(login.url, Path(login.cert_file), login.token)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            fail(f"Cannot reach {self.http.base_url}: {exc}.")
        if response.status_code >= 400:
            fail(error_message(response))
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=_query(params))

    def post(self, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        return self.request("POST", path, json=body or {}, params=_query(params))

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=_query(params))

    def wait_task(self, task_id: str, timeout: float = 3600.0) -> dict[str, Any]:
        """Follow a task with a progress bar until it ends; fail on a failed task."""
        from cloudenv.cli.follow import follow_task

        task = follow_task(self, task_id, timeout)
        if task["status"] != "succeeded":
            fail(f"Task {task_id} {task['status']}: {task['message'] or 'no reason given'}")
        return task


def error_message(response: httpx.Response) -> str:
    """The server's ``message`` of an error reply, with what to do after a 401."""
    try:
        message = str(response.json().get("message", response.text))
    except ValueError:
        message = response.text
    if response.status_code == 401:
        message += " (Sign in again with 'cloudenv login'.)"
    return message


def _query(params: dict[str, Any]) -> dict[str, str]:
    """Query parameters for httpx: None leaves one out, booleans are true/false."""
    return {
        name: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for name, value in params.items()
        if value is not None
    }
