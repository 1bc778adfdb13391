"""The commands README.md shows, read from its ``sh`` blocks, so the tests run exactly what a
reader copies (tests/unit/test_readme.py dry-runs the make targets and checks the example
password; tests/integration/test_readme_commands.py runs the rest against a served node)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
CLI_PREFIX = ".venv/bin/cloudenv "


def readme_commands(readme: Path = README) -> list[str]:
    """Every command line of the README's ``sh`` blocks, comments removed, in order."""
    blocks = re.findall(r"^```sh\n(.*?)^```", readme.read_text(), flags=re.S | re.M)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()  # the README's comments
            if command:
                commands.append(command)
    return commands


def kind_of(command: str) -> str:
    """make (a target, dry-run in tests), password (writes the password file), or cloudenv."""
    if command.startswith("make "):
        return "make"
    if command.startswith("echo ") and command.endswith("> /root/pw"):
        return "password"
    if command.startswith(CLI_PREFIX):
        return "cloudenv"
    return "unknown"
