"""The README's walk-through, run word for word against `hookyard demo` (what `make run` runs)
with a real `hookyard listen`: only the two ports are changed, to free ones. The demo prints
and serves the same text (`hookyard/walkthrough.md`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hookyard import walkthrough
from tests.support import server
from tests.support.processes import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
DEADLINE = 60.0


def readme_walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("<!-- walkthrough:start -->\n", 1)[1].split("<!-- walkthrough:end -->")[0]


def test_the_readme_shows_the_walkthrough_the_demo_prints() -> None:
    assert readme_walkthrough() == walkthrough.markdown()


def _ported(command: str, api_port: int, hook_port: int) -> str:
    return command.replace("127.0.0.1:8000", f"127.0.0.1:{api_port}").replace(
        "8080", str(hook_port)
    )


def _wait_for(
    check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if check():
            return
        if process.poll() is not None:
            raise AssertionError(f"{what}: the listener exited:\n{log.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen in {DEADLINE}s:\n{log.read_text()}")


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
    except httpx.TransportError:
        return False
    return True


def test_the_readme_walkthrough_runs_word_for_word(tmp_path: Path) -> None:
    blocks = BLOCK.findall(readme_walkthrough())
    (listen,) = [block for block in blocks if "hookyard listen" in block]
    steps = [block for block in blocks if block is not listen]
    api_port, hook_port = free_port(), free_port()
    # The README runs from the repository's root: `.venv/bin/hookyard` and `.hookyard/`.
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = server.environment(tmp_path / ".hookyard", allow_private_callbacks="true")
    log = tmp_path / "listen.txt"
    with server.hookyard(["demo"], env, tmp_path, port=api_port), log.open("wb") as out:
        listener = subprocess.Popen(
            ["bash", "-c", "exec " + _ported(listen, api_port, hook_port).strip()],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            hook = f"http://127.0.0.1:{hook_port}/hook"
            _wait_for(lambda: _answers(hook), "the listener answering", listener, log)
            script = "set -euo pipefail\n" + "\n".join(
                f"echo '--- step {n}'\n{_ported(step, api_port, hook_port)}"
                for n, step in enumerate(steps)
            )
            ran = subprocess.run(
                ["bash", "-c", script],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert ran.returncode == 0, ran.stderr
            _wait_for(lambda: "ProjectCreated" in log.read_text(), "a delivery", listener, log)
        finally:
            listener.terminate()
            listener.wait(timeout=15)
    outputs = dict(
        (int(part.split("\n", 1)[0]), part.split("\n", 1)[1])
        for part in ran.stdout.split("--- step ")[1:]
    )
    assert json.loads(outputs[1])["results"][0]["code"] == "DEMO-EAST"
    assert "secretKey" in json.loads(outputs[2])
    listed, _ = json.JSONDecoder().raw_decode(outputs[3])  # the GET, then the PUT's answer
    assert sorted(record["eventType"] for record in listed) == ["ProjectChanged", "ProjectCreated"]
    assert "eventId" in json.loads(outputs[4])
    assert outputs[5] == ""
