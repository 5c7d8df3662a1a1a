"""`hookyard check` and the key commands, in-process on both databases: a ready host exits 0
with one `ok:` line per check; each problem is one line with its fix, and the exit code is 1;
the check changes nothing."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hookyard import secretbox
from hookyard.cli import startup
from hookyard.cli.main import app
from hookyard.config import Settings
from hookyard.services import key_check, keys
from hookyard.store import Store


def check(env: dict[str, str]) -> Result:
    return CliRunner().invoke(app, ["check"], env={"HOOKYARD_LOG_LEVEL": "INFO", **env})


def problems(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("problem: ")]


def key_files(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "jwt.keys").write_text(keys.new_key_text() + "\n")
    (directory / "secret.keys").write_text(base64.b64encode(secretbox.new_key()).decode())
    return {
        "HOOKYARD_JWT_KEYS_FILE": str(directory / "jwt.keys"),
        "HOOKYARD_SECRET_KEY_FILE": str(directory / "secret.keys"),
    }


async def seen(database_url: str) -> list[str]:
    store = Store(database_url)
    try:
        return [
            k.kid
            for kind in (key_check.JWT, key_check.SECRET)
            for k in await store.fingerprints.seen(kind)
        ]
    finally:
        await store.close()


def test_a_ready_host_passes_and_the_check_records_and_makes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    env = {"HOOKYARD_DATABASE_URL": database_url, "HOOKYARD_DATA_DIR": str(tmp_path / "data")}
    result = check(env)
    assert result.exit_code == 0, result.output
    assert problems(result) == []
    assert "ok: database" in result.stdout
    assert "ok: schema: up to date" in result.stdout
    assert "ok: clock:" in result.stdout
    assert not (tmp_path / "data" / "jwt").exists()
    assert asyncio.run(seen(database_url)) == []


def test_other_keys_than_the_database_has_seen_are_a_problem_with_the_fix(
    database_url: str, tmp_path: Path
) -> None:
    first = key_files(tmp_path / "first")
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        jwt_keys_file=Path(first["HOOKYARD_JWT_KEYS_FILE"]),
        secret_key_file=Path(first["HOOKYARD_SECRET_KEY_FILE"]),
    )
    assert asyncio.run(startup.key_problems(settings, ("jwt", "secret"), record=True)) == []
    base = {"HOOKYARD_DATABASE_URL": database_url, "HOOKYARD_DATA_DIR": str(tmp_path / "data")}
    assert check({**base, **first}).exit_code == 0
    result = check({**base, **key_files(tmp_path / "second")})
    assert result.exit_code == 1
    found = problems(result)
    assert len(found) == 2
    assert "lacks the JWT signing key" in found[0]
    assert "lacks the secret-sealing key" in found[1]
    assert result.stderr == "error: 2 problem(s) found; fix each as its line says\n"


def test_an_unmigrated_database_says_run_migrate(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    (tmp_path / "empty.db").touch()
    result = check({"HOOKYARD_DATABASE_URL": url, "HOOKYARD_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    (found,) = problems(result)
    assert "the database has no schema" in found
    assert found.endswith("run `hookyard migrate`")


def test_a_missing_sqlite_file_is_a_problem_and_is_not_created(tmp_path: Path) -> None:
    result = check({"HOOKYARD_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 1
    (found,) = problems(result)
    assert f"there is no SQLite file at {tmp_path / 'data' / 'hookyard.db'}" in found
    assert not (tmp_path / "data").exists()


def test_an_unreachable_database_is_one_problem_line(tmp_path: Path) -> None:
    url = "postgresql://hookyard@127.0.0.1:9/hookyard"
    result = check({"HOOKYARD_DATABASE_URL": url, "HOOKYARD_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    (found,) = problems(result)
    assert found.startswith(
        "problem: database postgresql://hookyard@127.0.0.1:9/hookyard cannot be reached"
    )
    assert found.endswith("start it, or correct HOOKYARD_DATABASE_URL")
    assert "Traceback" not in result.output


def test_a_bad_setting_is_a_problem_naming_the_variable(tmp_path: Path) -> None:
    result = check({"HOOKYARD_TOKEN_TTL_SECONDS": "5", "HOOKYARD_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    (found,) = problems(result)
    assert found.startswith("problem: HOOKYARD_TOKEN_TTL_SECONDS: ")


@pytest.mark.parametrize("kind", ["jwt", "secret"])
def test_keys_generate_prints_a_key_the_settings_accept(kind: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["keys", "generate", kind])
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    path = tmp_path / "keys"
    path.write_text(result.stdout)
    if kind == "jwt":
        assert keys.configured_ring(Settings(jwt_keys_file=path)) is not None
    else:
        assert secretbox.parse_keys(line)


def test_keys_generate_refuses_another_kind() -> None:
    result = CliRunner().invoke(app, ["keys", "generate", "rsa"])
    assert result.exit_code == 2
    assert result.stderr == "error: KIND must be jwt or secret, not 'rsa'\n"


def test_forgetting_a_lost_jwt_key_lets_a_process_with_new_keys_start(
    database_url: str, tmp_path: Path
) -> None:
    lost = key_files(tmp_path / "lost")
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        jwt_keys_file=Path(lost["HOOKYARD_JWT_KEYS_FILE"]),
    )
    assert asyncio.run(startup.key_problems(settings, ("jwt",), record=True)) == []
    (kid,) = asyncio.run(seen(database_url))
    env = {"HOOKYARD_DATABASE_URL": database_url, "HOOKYARD_DATA_DIR": str(tmp_path / "data")}
    forgot = CliRunner().invoke(app, ["keys", "forget", "jwt", kid], env=env)
    assert forgot.exit_code == 0, forgot.output
    assert forgot.stdout == f"forgot jwt key {kid}\n"
    assert asyncio.run(seen(database_url)) == []
