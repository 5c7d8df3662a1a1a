"""Private network namespaces for tests that name non-loopback addresses.

`create()` makes a namespace with only `lo` up (a unique name per test run), gives `lo` the extra
addresses the SSRF matrix listens on, and points its resolver at 127.0.0.1 through
`/etc/netns/NAME/resolv.conf` (which `ip netns exec` bind-mounts over /etc/resolv.conf).
Nothing in it can reach any other machine: a packet to anywhere but `lo` gets "network
unreachable". `remove()` deletes it; `remove_stale()` deletes namespaces of test runs that died.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "hookyard-test-"
NETNS_ETC = Path("/etc/netns")
REPO = Path(__file__).resolve().parents[2]


def problem() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Namespace:
    name: str

    def run_module(self, module: str, *args: str, timeout: float = 90) -> dict[str, Any]:
        """Run `python -m module args` inside the namespace; its stdout is one JSON object."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, sys.executable, "-m", module, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{module} failed in {self.name}:\n{done.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def links(self) -> list[str]:
        """Names of the namespace's network interfaces."""
        lines = _ip("-n", self.name, "-o", "link", "show").splitlines()
        return [line.split(":")[1].strip().split("@")[0] for line in lines if line.strip()]


def create(v4: list[str], v6: list[str]) -> Namespace:
    namespace = Namespace(f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}")
    _ip("netns", "add", namespace.name)
    try:
        _ip("-n", namespace.name, "link", "set", "lo", "up")
        for cidr in v4:
            _ip("-n", namespace.name, "addr", "add", cidr, "dev", "lo")
        for cidr in v6:
            _ip("-n", namespace.name, "-6", "addr", "add", cidr, "dev", "lo", "nodad")
        etc = NETNS_ETC / namespace.name
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        if namespace.links() != ["lo"]:
            raise RuntimeError(f"namespace {namespace.name} has links {namespace.links()}")
    except BaseException:
        remove(namespace)
        raise
    return namespace


def remove(namespace: Namespace) -> None:
    subprocess.run(["ip", "netns", "del", namespace.name], capture_output=True, check=False)
    shutil.rmtree(NETNS_ETC / namespace.name, ignore_errors=True)


def listed() -> list[str]:
    """Names of every network namespace on this machine."""
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def remove_stale() -> list[str]:
    """Delete test namespaces whose creating process is gone; their names."""
    removed = []
    for name in listed():
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            remove(Namespace(name))
            removed.append(name)
    return removed


def inside_private_namespace() -> bool:
    """True when this process sees no interface but `lo` (the probe refuses to run otherwise)."""
    return sorted(os.listdir("/sys/class/net")) == ["lo"]


if __name__ == "__main__":
    print("\n".join(remove_stale()) or "no stale test namespaces")
