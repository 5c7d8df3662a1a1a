"""Failures a user can cause at the CLI end in one `error: ...` line naming what to fix, exit 2
for bad input and 1 otherwise, and no traceback (unless --debug). Real processes, real ports."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.support.server import HOOKYARD

UNREACHABLE = "postgresql://postgres@127.0.0.1:9/hookyard"


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")}
    environment["HOOKYARD_DATA_DIR"] = str(tmp_path / "data")
    environment.update({f"HOOKYARD_{k.upper()}": v for k, v in env.items()})
    return subprocess.run(
        [HOOKYARD, *args],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in done.stderr
    return lines[0]


def test_a_bad_setting_names_its_variable_and_value(tmp_path: Path) -> None:
    done = _run(tmp_path, "migrate", token_ttl_seconds="5")
    assert done.returncode == 2
    line = _one_error_line(done)
    assert "HOOKYARD_TOKEN_TTL_SECONDS='5'" in line
    assert "greater than or equal to 60" in line
    assert "pydantic" not in line
    assert "https://" not in line


def test_a_bad_console_frame_ancestor_stops_serve_in_one_line(tmp_path: Path) -> None:
    # Refused before anything starts: the address (not this machine's) is never tried.
    done = _run(tmp_path, "serve", "--host", "192.0.2.1", console_frame_ancestors="self")
    assert done.returncode == 2
    line = _one_error_line(done)
    assert "HOOKYARD_CONSOLE_FRAME_ANCESTORS='self'" in line
    assert "not a frame ancestor" in line
    assert "'none'" in line


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    done = _run(tmp_path, "migrate", database_url=UNREACHABLE)
    assert done.returncode == 1
    line = _one_error_line(done)
    assert "postgresql://postgres@127.0.0.1:9/hookyard" in line
    assert "HOOKYARD_DATABASE_URL" in line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = _run(tmp_path, "--debug", "migrate", database_url=UNREACHABLE)
    assert done.returncode != 0
    assert "Traceback" in done.stderr


def test_migrate_says_what_it_did(tmp_path: Path) -> None:
    first = _run(tmp_path, "migrate")
    second = _run(tmp_path, "migrate")
    assert first.returncode == second.returncode == 0
    assert first.stdout.startswith("created the schema")
    assert "already up to date" in second.stdout


def test_serve_on_a_busy_port_says_so_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        done = _run(tmp_path, "serve", "--port", port)
    assert done.returncode == 1
    line = _one_error_line(done)
    assert f"port {port} on 127.0.0.1 is already in use" in line
    assert "--port" in line


def test_help_shows_flags_as_flags(tmp_path: Path) -> None:
    done = _run(tmp_path, "companies", "list", "--help")
    assert "--json  Print JSON for scripts." in done.stdout
    assert "<bool>" not in done.stdout


def test_several_api_processes_on_sqlite_are_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    flag = _run(tmp_path, "api", "--port", "9", "--processes", "2")
    variable = _run(tmp_path, "api", "--port", "9", api_processes="3")
    assert flag.returncode == variable.returncode == 2
    line = _one_error_line(flag)
    assert line.startswith("error: --processes 2 needs PostgreSQL: SQLite has one writer.")
    assert "SQLITE_BUSY" in line
    assert "HOOKYARD_DATABASE_URL=postgresql://" in line
    assert _one_error_line(variable).startswith("error: HOOKYARD_API_PROCESSES=3 needs PostgreSQL")
    assert not (tmp_path / "data").exists()  # no database, no keys
