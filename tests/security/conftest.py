"""Security tests: outside a network namespace, nothing may leave loopback.

Tests not marked `netns` get a tripwire: a socket that tries to connect or send to anything but
127.0.0.0/8 or ::1 fails the test, so a classifier test that names 10.0.0.5 can never reach it.
Tests that must send to other addresses run in the namespace (see `tests/security/netns.py`):
the `namespace` fixture makes one per test run and removes it; outside CI it skips when there is
no root or no `ip`, in CI (CI=true) it fails.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security import netns
from tests.security.ssrf_cases import LISTENED_ADDRESSES, LISTENED_IPV6
from tests.support import databases


def _loopback_only(original: Any) -> Any:
    def guarded(self: socket.socket, address: Any, *args: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
            if not host.is_loopback:
                raise AssertionError(f"test tried to reach {host} outside a network namespace")
        return original(self, address, *args)

    return guarded


@pytest.fixture(autouse=True)
def loopback_tripwire(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("netns") is not None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _loopback_only(socket.socket.connect))
        patch.setattr(socket.socket, "connect_ex", _loopback_only(socket.socket.connect_ex))
        yield


@pytest.fixture(scope="session")
def namespace() -> Iterator[netns.Namespace]:
    """A network namespace with only `lo` up, made for this test run and removed after it."""
    problem = netns.problem()
    if problem is not None:
        if databases.in_ci():
            pytest.fail(f"network namespace tests must run in CI: {problem}")
        pytest.skip(f"network namespaces unavailable: {problem}")
    netns.remove_stale()
    created = netns.create(LISTENED_ADDRESSES, LISTENED_IPV6)
    try:
        yield created
    finally:
        netns.remove(created)


@pytest.fixture(scope="session")
def ssrf_results(namespace: netns.Namespace) -> dict[str, Any]:
    """The probe's results: the whole SSRF matrix, run once inside the namespace."""
    return namespace.run_module("tests.security.probe")
