"""A tiny authoritative DNS server for the network namespace: A and AAAA answers from a table.

It listens on 127.0.0.1:53 inside the namespace (where `/etc/netns/NAME/resolv.conf` points the
C library at it), answers with TTL 0, records every query, and can hand out a different answer for
each successive A query of one name (the DNS-rebinding "flip").
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

TYPE_A = 1
TYPE_AAAA = 28
CLASS_IN = 1


@dataclass
class Zone:
    """What the server answers: fixed records, and names whose A answer changes per query."""

    records: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    flips: dict[str, list[str]] = field(default_factory=dict)
    queries: list[tuple[str, int]] = field(default_factory=list)

    def answer(self, name: str, qtype: int) -> list[str] | None:
        """The addresses for this query, or None for NXDOMAIN."""
        self.queries.append((name, qtype))
        if name in self.flips:
            if qtype != TYPE_A:
                return []
            turn = sum(1 for asked, kind in self.queries if asked == name and kind == TYPE_A)
            answers = self.flips[name]
            return [answers[min(turn, len(answers)) - 1]]
        if name not in self.records:
            return None
        a, aaaa = self.records[name]
        return list(a if qtype == TYPE_A else aaaa if qtype == TYPE_AAAA else [])

    def count(self, name: str, qtype: int = TYPE_A) -> int:
        return sum(1 for asked, kind in self.queries if asked == name and kind == qtype)


def parse_question(packet: bytes) -> tuple[int, str, int, int]:
    """(id, name, qtype, end of the question section) of a query."""
    (query_id,) = struct.unpack_from("!H", packet, 0)
    offset, labels = 12, []
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii").lower())
        offset += 1 + length
    qtype, _ = struct.unpack_from("!HH", packet, offset + 1)
    return query_id, ".".join(labels), qtype, offset + 5


def build_reply(packet: bytes, addresses: Sequence[str] | None) -> bytes:
    query_id, _, qtype, end = parse_question(packet)
    flags = 0x8403 if addresses is None else 0x8400  # QR, AA, NXDOMAIN or NOERROR
    answers = [
        a
        for a in addresses or []
        if ipaddress.ip_address(a).version == (4 if qtype == TYPE_A else 6)
    ]
    header = struct.pack("!HHHHHH", query_id, flags, 1, len(answers), 0, 0)
    body = b"".join(_record(qtype, address) for address in answers)
    return header + packet[12:end] + body


def _record(qtype: int, address: str) -> bytes:
    data = ipaddress.ip_address(address).packed
    return struct.pack("!HHHIH", 0xC00C, qtype, CLASS_IN, 0, len(data)) + data


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            _, name, qtype, _ = parse_question(data)
        except (IndexError, struct.error, UnicodeDecodeError):
            return
        assert self.transport is not None
        self.transport.sendto(build_reply(data, self.zone.answer(name, qtype)), addr)


async def serve(zone: Zone, host: str = "127.0.0.1", port: int = 53) -> asyncio.DatagramTransport:
    """Start answering; close the returned transport to stop."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Protocol(zone), local_addr=(host, port)
    )
    return transport
