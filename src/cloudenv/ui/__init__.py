"""The web UI: a Vite build of ``frontend/`` that every node serves at ``/``.

The build lands in ``static/`` next to this file (``make ui``; never committed), so an
installed package carries it. ``CLOUDENV_UI_DIR`` serves another build instead (a
developer's, or a test's), read when the app is built.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where ``npm run build`` in ``frontend/`` writes the UI.
BUILD_DIR = Path(__file__).resolve().parent / "static"
#: Overrides BUILD_DIR when set (a directory holding an index.html).
UI_DIR_ENV = "CLOUDENV_UI_DIR"


def ui_dir() -> Path:
    """The directory the web UI is served from."""
    override = os.environ.get(UI_DIR_ENV)
    return Path(override) if override else BUILD_DIR
