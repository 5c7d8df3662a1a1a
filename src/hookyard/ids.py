"""Identifiers: GUIDs where HCSS shows them, prefixed sortable ids for Hookyard's own records.

A prefixed id (`evt_`, `dlv_`, `att_`) says in a log line what it names; its body is a ULID
(48-bit millisecond time, 80 random bits, Crockford base32), so ids sort by creation time.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

EVENT = "evt"
DELIVERY = "dlv"
ATTEMPT = "att"
CLIENT = "hyc"
PARTNER = "ptn"
APPROVAL = "apr"


def guid() -> str:
    """A random GUID in the lower-case 8-4-4-4-12 form HCSS uses."""
    return str(uuid.uuid4())


def ulid() -> str:
    """A 26-character ULID: sortable by time, unique by 80 random bits.

    The bits come from `random` (Mersenne Twister, seeded from the OS at start and again in a
    forked child), not `secrets`: an id must be unique, not unguessable (every read of it is
    authorised by the caller's company), and `secrets` is a system call per id, which showed in
    the worker's profile at thousands of attempt ids a second."""
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def prefixed(prefix: str) -> str:
    """A prefixed id such as `dlv_01J...`."""
    return f"{prefix}_{ulid()}"


def is_guid(text: str) -> bool:
    """Whether `text` is a GUID in any of the forms `uuid.UUID` accepts in 36 characters."""
    if len(text) != 36:
        return False
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def normalise_guid(text: str) -> str:
    """The canonical lower-case form of a GUID; raises ValueError for anything else."""
    if not is_guid(text):
        raise ValueError(f"{text!r} is not a GUID")
    return str(uuid.UUID(text))


def key_id() -> str:
    """A key id that sorts by creation time to the nanosecond: 16 hex digits of time, 4 random."""
    return f"{time.time_ns():016x}{secrets.token_hex(2)}"
