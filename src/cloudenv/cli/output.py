"""How the CLI shows things: rich tables for people, ``--json`` for scripts, errors on
stderr with a non-zero exit."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

# No emoji codes: a fingerprint such as "...:AB:..." must print as it is, not as 🆎.
console = Console(emoji=False, highlight=False)
err_console = Console(stderr=True, emoji=False, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` (taken literally, never as markup) on stderr and exit."""
    err_console.print(Text.assemble(("Error: ", "bold red"), message))
    raise typer.Exit(code)


def say(message: str) -> None:
    """Print a message literally (it may hold user data or fingerprints)."""
    console.print(Text(message), soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(Text(message, style="bold yellow"), soft_wrap=True)


def confirm_destructive(what: str, yes: bool, word: str = "DESTROY") -> None:
    """The one confirmation of every destructive command: the user types ``word`` (the
    resource's name or DESTROY); ``--yes`` skips it. Anything else changes nothing."""
    if yes:
        return
    typed = typer.prompt(f"Type {word} to {what}", default="", show_default=False)
    if typed != word:
        fail(f"Not confirmed (you typed {typed!r}, not {word}); nothing was changed.")


def private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents readable by the owner only."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, 0o700)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False))


def print_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], title: str | None = None
) -> None:
    """``columns``: (key in the row, heading). Nested keys as 'a.b'."""
    table = Table(title=title, show_lines=False)
    for _, heading in columns:
        table.add_column(heading)
    for row in rows:
        table.add_row(*(_cell(_dig(row, key)) for key, _ in columns))
    console.print(table)


def print_record(record: dict[str, Any], title: str | None = None) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in record.items():
        table.add_row(key, _cell(value))
    console.print(table)


def _dig(row: dict[str, Any], key: str) -> Any:
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
