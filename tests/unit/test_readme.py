"""README.md's commands work: each is a make target (proved by ``make -n``, as running
``make run``/``make test`` inside the test suite would install and serve for real), the
unattended password line, or a ``cloudenv`` command run by
tests/integration/test_readme_commands.py; its example password passes the strength rule."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from cloudenv.services.iam.passwords import check_password
from cloudenv.services.setup import ADMIN_USERNAME
from tests.readme import README, kind_of, readme_commands

pytestmark = pytest.mark.unit


def test_every_readme_command_is_one_the_tests_run() -> None:
    commands = readme_commands()
    assert len(commands) >= 15
    unknown = [c for c in commands if kind_of(c) == "unknown"]
    assert not unknown, f"README commands no test runs: {unknown}"


def test_the_unattended_password_passes_the_strength_rule() -> None:
    (line,) = [c for c in readme_commands() if kind_of(c) == "password"]
    password = shlex.split(line)[1]
    check_password(password, ADMIN_USERNAME)


def test_every_make_command_names_real_targets_and_variables(tmp_path: Path) -> None:
    for command in (c for c in readme_commands() if kind_of(c) == "make"):
        args = shlex.split(command)[1:]
        if "run" in args and not any(a.startswith("DATA_DIR=") for a in args):
            args.append(f"DATA_DIR={tmp_path}")  # never the host's /var/lib/cloudenv
        result = subprocess.run(
            ["make", "-n", *args],
            cwd=README.parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (command, result.stderr)
        if "run" in args:
            assert f'cloudenv serve --data-dir "{tmp_path}"' in result.stdout, result.stdout
            flags = next((a for a in args if a.startswith("INIT_FLAGS=")), None)
            if flags:
                assert flags.removeprefix("INIT_FLAGS=") in result.stdout, result.stdout
