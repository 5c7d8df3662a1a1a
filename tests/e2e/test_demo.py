"""`hookyard demo` as a user runs it (what `make run` calls): a real process on a free port."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import httpx
import jwt
import pytest

from hookyard.cli import demo
from tests.support import server

# Two demo starts, each migrating and seeding: more than the default per-test timeout on a
# loaded 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _printed(output: str, label: str) -> str:
    match = re.search(rf"^\s+{label}:\s+(\S+)$", output, re.MULTILINE)
    assert match, f"{label} not printed:\n{output}"
    return match.group(1)


def _token_from_printed_commands(output: str, workdir: Path) -> str:
    """Run the printed walk-through's first block (it sets TOKEN) where the demo ran."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    BASE="))
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line[4:])
    script = "\n".join([*block, 'printf %s "$TOKEN"'])
    result = subprocess.run(
        ["bash", "-c", script], cwd=workdir, capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout


def _companies(env: dict[str, str], workdir: Path) -> list[dict[str, str]]:
    result = subprocess.run(
        [server.HOOKYARD, "companies", "list", "--json"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    companies: list[dict[str, str]] = json.loads(result.stdout)
    return companies


def test_demo_seeds_once_prints_a_working_walkthrough_and_serves(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = server.environment(data, allow_private_callbacks="true")

    with server.hookyard(["demo"], env, tmp_path) as first:
        output = first.output()
        assert "Seeded a new demo tenant" in output
        assert "Private callbacks are allowed for this demo" in output
        client_id = _printed(output, "client_id")
        secret = _printed(output, "client_secret")
        company_id = _printed(output, "company")

        saved = data / demo.DEMO_FILE
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert json.loads(saved.read_text())["client_secret"] == secret

        access_token = _token_from_printed_commands(output, tmp_path)
        claims = jwt.decode(access_token, options={"verify_signature": False})
        assert claims["client_id"] == client_id
        assert claims["company_id"] == company_id
        assert set(claims["scope"].split()) == set(demo.DEMO_SCOPES)

        units = httpx.get(
            f"{first.base_url}/precon/api/v1/businessUnits",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        assert units.status_code == 200
        assert [u["code"] for u in units.json()["results"]] == ["DEMO-EAST", "DEMO-WEST"]

    with server.hookyard(["demo"], env, tmp_path) as second:
        output = second.output()
        assert f"Reusing the demo tenant {company_id}" in output
        assert "Reusing the demo client" in output
        assert _printed(output, "client_id") == client_id
        assert _printed(output, "client_secret") == secret
        assert _token_from_printed_commands(output, tmp_path)

    assert [c["id"] for c in _companies(env, tmp_path)] == [company_id]


def test_demo_says_when_private_callbacks_are_not_allowed(tmp_path: Path) -> None:
    env = server.environment(tmp_path / "data", allow_private_callbacks="false")
    with server.hookyard(["demo"], env, tmp_path) as running:
        assert "Private callbacks are NOT allowed" in running.output()
