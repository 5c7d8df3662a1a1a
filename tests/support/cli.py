"""`hookyard ...` run in-process against one test database, with its output checked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner, Result

from hookyard.cli import runtime as runtimes
from hookyard.cli.main import app
from hookyard.config import Settings


class Cli:
    """Runs `hookyard ...` in-process against one database and data directory."""

    def __init__(self, database_url: str, data_dir: Path, **env: str) -> None:
        self.env = {"HOOKYARD_DATABASE_URL": database_url, "HOOKYARD_DATA_DIR": str(data_dir)}
        self.env.update({f"HOOKYARD_{name.upper()}": value for name, value in env.items()})
        self.settings = Settings(database_url=database_url, data_dir=data_dir)
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), env=self.env)

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def fails(self, *args: str, says: str) -> Result:
        result = self(*args)
        assert result.exit_code != 0, result.output
        assert says in result.stderr, result.stderr
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.output
        return result

    def company(self, name: str = "Acme Paving") -> str:
        company_id: str = self.json("companies", "create", name)["id"]
        return company_id

    def unit(self, company_id: str, code: str) -> str:
        unit_id: str = self.json(
            "business-units", "create", "--company", company_id, "--code", code
        )["id"]
        return unit_id

    def token_status(self, client_id: str, secret: str) -> int:
        return asyncio.run(_token_status(self.settings, client_id, secret))


async def _token_status(settings: Settings, client_id: str, secret: str) -> int:
    wired = runtimes.build(settings)
    transport = httpx.ASGITransport(app=wired.app())
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            form = {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            }
            response = await client.post("/identity/connect/token", data=form)
            return response.status_code
    finally:
        await wired.close()
