"""Write the OpenAPI document the app serves to docs/reference/openapi.json (`make openapi`).

The document does not depend on the database or the keys, so the app is built on a throwaway
data directory with the default settings (any HOOKYARD_* variable of the caller is ignored).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from hookyard.cli import runtime
from hookyard.config import Settings

DEFAULT_TARGET = Path(__file__).resolve().parent.parent / "docs" / "reference" / "openapi.json"


def render(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, indent 2, a final newline."""
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


def served_document() -> dict[str, Any]:
    for name in [name for name in os.environ if name.startswith("HOOKYARD_")]:
        del os.environ[name]
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory)
        settings = Settings(data_dir=data, database_url=f"sqlite+aiosqlite:///{data / 'x.db'}")
        document: dict[str, Any] = runtime.build(settings).app().openapi()
        return document


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else DEFAULT_TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(served_document()))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
