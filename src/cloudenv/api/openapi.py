"""Print the API's OpenAPI document: ``python -m cloudenv.api.openapi``.

The committed ``docs/openapi.json`` must equal this output (``make check-openapi``), so
an API change is always a reviewed change of the document clients are generated from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from cloudenv.api.app import create_app
from cloudenv.config import Settings


def document() -> dict[str, object]:
    settings = Settings(
        data_dir=Path("/nonexistent"),
        node_id="node-openapi",
        database_url="sqlite://",
        management_ip="127.0.0.1",
    )
    return create_app(settings, sessionmaker()).openapi()


if __name__ == "__main__":
    json.dump(document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
