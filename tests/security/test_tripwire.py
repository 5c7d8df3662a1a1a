"""The loopback tripwire itself: a test outside the namespace cannot reach another address."""

from __future__ import annotations

import socket

import pytest


def test_connecting_to_a_private_address_outside_the_namespace_fails_the_test() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(AssertionError, match="outside a network namespace"),
    ):
        sock.connect(("10.0.0.5", 9))


def test_loopback_stays_reachable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
