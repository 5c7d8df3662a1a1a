"""The systemd units under deploy/ pass `systemd-analyze verify` (with this machine's `hookyard`
in place of /opt/hookyard/bin/hookyard, which verify requires to exist) and print nothing: an
unknown or misspelt directive is only a warning to systemd, so any output fails the test.

`make deploy-check` installs the tool (the `systemd` package) when it is absent and it can."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import processes

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")


def test_there_is_a_unit_per_process_kind() -> None:
    assert [unit.name for unit in UNITS] == ["hookyard-api.service", "hookyard-worker@.service"]


@pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is not installed (apt-get install systemd, or `make deploy-check`)",
)
@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_systemd_analyze_verify_finds_nothing_to_say(unit: Path, tmp_path: Path) -> None:
    assert ANALYZE is not None
    text = unit.read_text().replace("/opt/hookyard/bin/hookyard", processes.HOOKYARD[0])
    name = unit.name.replace("@.service", "@1.service")
    copy = tmp_path / unit.name
    copy.write_text(text)
    instance = tmp_path / name
    if instance != copy:
        instance.symlink_to(copy)
    verified = subprocess.run(
        [ANALYZE, "verify", str(instance)], capture_output=True, text=True, timeout=60, check=False
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout + verified.stderr == ""


DOC = DEPLOY.parent / "docs" / "deploy.md"
RUN_BY_TESTS = {
    "hookyard keys generate jwt > /etc/hookyard/jwt.keys": "tests/e2e/test_many_hosts.py",
    "hookyard keys generate secret > /etc/hookyard/secret.keys": "tests/e2e/test_many_hosts.py",
    "hookyard check": "tests/cli/test_check.py",
    "hookyard api --host 127.0.0.1 --port 8000 --processes 2": "tests/e2e/test_api_processes.py",
}
NEEDS_SYSTEMD = ("cp deploy/", "systemctl ")


def _shell_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _exec_start(unit: str) -> str:
    lines: list[str] = re.findall(r"^ExecStart=(.+)$", (DEPLOY / unit).read_text(), re.MULTILINE)
    (line,) = lines
    return line.replace("/opt/hookyard/bin/", "")


def test_every_command_in_the_deploy_guide_is_run_by_a_test() -> None:
    """The `hookyard api` line is the unit's ExecStart (which the many-host test runs); the key
    and check commands are run where RUN_BY_TESTS says; systemd's own commands need systemd as
    PID 1, which tests do not have (the units are checked by verify above)."""
    lines = _shell_lines()
    assert _exec_start("hookyard-api.service") in lines
    for line in lines:
        known = line in RUN_BY_TESTS or line == _exec_start("hookyard-api.service")
        assert known or line.startswith(NEEDS_SYSTEMD), f"docs/deploy.md runs {line!r} untested"
    for command, test in RUN_BY_TESTS.items():
        assert command in lines
        assert (DEPLOY.parent / test).exists()
