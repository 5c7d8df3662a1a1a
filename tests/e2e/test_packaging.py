"""`pip install hookyard` is the receiver toolkit alone; `hookyard[server]` is the server. Both
are built (wheel and sdist, checked by twine) and installed into fresh venvs here: the wheel from
disk, the server's dependencies from uv's cache or PyPI."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
UV = str(Path(sys.executable).with_name("uv"))
SERVER_PACKAGES = (
    "sqlalchemy", "fastapi", "starlette", "pydantic", "aiohttp", "uvicorn", "typer",
    "alembic", "asyncpg", "aiosqlite", "structlog", "jwt", "argon2", "orjson",
)  # fmt: skip
RECEIVER_CHECK = f"""
import sys
import time
import hookyard.receiver as receiver
from hookyard import signing
secret = signing.generate_secret()
body = b'{{"companyId": "c", "eventType": "EmployeeCreated", "businessUnitId": "b", "id": "e"}}'
now = int(time.time())
headers = {{
    "webhook-id": "msg_1",
    "webhook-timestamp": str(now),
    "webhook-signature": signing.sign(secret, "msg_1", now, body),
}}
receiver.verify(secret, headers, body)
loaded = sorted(name for name in {SERVER_PACKAGES!r} if name in sys.modules)
assert not loaded, loaded
print("receiver ok")
"""


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _ok(*args: str, cwd: Path = ROOT) -> str:
    done = _run(*args, cwd=cwd)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _ok(UV, "build", "--quiet", "--sdist", "--wheel", "--out-dir", str(out), str(ROOT))
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("hookyard-*.whl")
    return wheel


def _venv(path: Path) -> Path:
    _ok(UV, "venv", "--quiet", "--python", sys.executable, str(path))
    return path / "bin" / "python"


def test_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    twine = str(Path(sys.executable).with_name("twine"))
    built = sorted([*dist.glob("*.whl"), *dist.glob("*.tar.gz")])
    assert len(built) == 2
    assert "PASSED" in _ok(twine, "check", "--strict", *map(str, built))
    names = zipfile.ZipFile(_wheel(dist)).namelist()
    for packaged in (
        "hookyard/walkthrough.md",
        "hookyard/api/static/swagger-ui/swagger-ui-bundle.js",
        "hookyard/api/static/redoc/redoc.standalone.js",
        "hookyard/store/migrations/versions/0001_initial.py",
        "hookyard/catalog/products.json",
    ):
        assert packaged in names
    metadata = zipfile.ZipFile(_wheel(dist)).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))
    )
    assert b"License-Expression: Apache-2.0" in metadata
    assert b"Provides-Extra: server" in metadata
    assert b"Requires-Dist: fastapi" in metadata  # only under the extra
    assert b'Requires-Dist: fastapi==0.165.0; extra == "server"' in metadata


def test_the_receiver_alone_imports_no_server_package(dist: Path, tmp_path: Path) -> None:
    python = _venv(tmp_path / "receiver")
    _ok(UV, "pip", "install", "--quiet", "--offline", "--python", str(python), str(_wheel(dist)))
    assert _ok(str(python), "-c", RECEIVER_CHECK, cwd=tmp_path).strip() == "receiver ok"
    installed = _ok(UV, "pip", "list", "--python", str(python))
    assert "fastapi" not in installed
    command = _run(str(python.with_name("hookyard")), "version", cwd=tmp_path)
    assert command.returncode == 1
    assert "pip install 'hookyard[server]'" in command.stderr
    assert "Traceback" not in command.stderr


def test_the_server_extra_installs_a_working_command(dist: Path, tmp_path: Path) -> None:
    python = _venv(tmp_path / "server")
    requirement = f"hookyard[server] @ {_wheel(dist).as_uri()}"
    _ok(UV, "pip", "install", "--quiet", "--python", str(python), requirement)
    assert _ok(str(python.with_name("hookyard")), "version", cwd=tmp_path).strip() == "0.1.0"
    _ok(str(python), "-c", "import hookyard.api.app, hookyard.cli.main", cwd=tmp_path)
