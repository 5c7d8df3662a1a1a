"""Make a benchmark tenant with the `hookyard` CLI commands, in one process (one import, not three).

`python -m benchmarks.tenant_cli NAME` runs `hookyard companies create NAME --json`,
`hookyard business-units create --company ID --code BENCH --json` and
`hookyard clients create --company ID --scopes "precon:read events:publish" --json` through the
CLI's own Typer app, with the HOOKYARD_* environment of the deployment, and prints one JSON line.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any

from hookyard.cli.main import app


def call(*args: str) -> Any:
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        app([*args, "--json"], standalone_mode=False)
    return json.loads(captured.getvalue())


def main() -> None:
    company = call("companies", "create", sys.argv[1])["id"]
    unit = call("business-units", "create", "--company", company, "--code", "BENCH")["id"]
    scopes = "precon:read events:publish"
    client = call("clients", "create", "--company", company, "--scopes", scopes)
    print(json.dumps({"company_id": company, "business_unit_id": unit, **client}))


if __name__ == "__main__":
    main()
