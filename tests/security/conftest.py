"""Security tests: outside a network namespace, nothing may leave loopback.

Tests not marked `netns` get a tripwire: a socket that tries to connect or send to anything but
127.0.0.0/8 or ::1 fails the test, so a classifier test that names 10.0.0.5 can never reach it.
Tests that must send to other addresses run in the namespace (see `tests/security/netns.py`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


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
