"""Do this process's keys match the ones the database has seen? Checked by every `serve`, `api`
and `worker` at start (and by `hookyard check`), so that a process with other keys than its peers
refuses to start instead of answering 401 to their tokens or failing to open their secrets.

Per kind (`jwt`: token signing keys; `secret`: keys that seal secrets at rest) the database keeps
each key's fingerprint, never the key (`store.fingerprints`). A process's keys match when:

- no key has the id of a key the database has seen with another fingerprint;
- it has the database's current key (the one its peers sign or seal with);
- its own current key is one the database has seen, unless the database has seen none: a new
  current key must first be given to every process as a previous one (docs/deploy.md);
- (sealing keys) every seen key it lacks seals no stored secret any more.

A process whose keys match records the ones not seen before, and its current key as current.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hookyard import clock
from hookyard.store import Store
from hookyard.store.fingerprints import SeenKey

JWT = "jwt"
SECRET = "secret"  # noqa: S105 - the name of a kind of key, not a secret
NAMES = {JWT: "JWT signing key", SECRET: "secret-sealing key"}
GUIDE = "see docs/deploy.md#keys"


@dataclass(frozen=True)
class Ring:
    """A process's keys of one kind: id to fingerprint, the current key first, and where they
    come from (for messages)."""

    kind: str
    keys: Mapping[str, str]
    source: str

    @property
    def current(self) -> str:
        return next(iter(self.keys))


def problems(ring: Ring, seen: list[SeenKey]) -> list[str]:
    """What is wrong with `ring` given the keys the database has `seen` (current first)."""
    name = NAMES[ring.kind]
    found = [
        f"{name} {key.kid} from {ring.source} is not the key the database knows by that id; "
        f"give every process the same key files ({GUIDE})"
        for key in seen
        if key.kid in ring.keys and ring.keys[key.kid] != key.fingerprint
    ]
    current = seen[0] if seen and seen[0].current_since is not None else None
    if current is not None and current.kid not in ring.keys:
        found.append(
            f"this process lacks the {name} {current.kid} that the others have used since "
            f"{clock.isoformat(current.current_since or current.first_seen_at)} (its keys come "
            f"from {ring.source}); give it the same keys as the processes already running "
            f"({GUIDE})"
        )
    elif seen and ring.current not in {key.kid for key in seen}:
        found.append(
            f"this process would use a new {name} {ring.current} (from {ring.source}) that no "
            "other process has: add it to every process as a previous key first, restart them, "
            f"then make it current ({GUIDE})"
        )
    return found


async def sealed_with_missing(store: Store, ring: Ring, seen: list[SeenKey]) -> list[str]:
    """For sealing keys: the seen keys this process lacks that still seal a stored secret."""
    missing = [key.kid for key in seen if key.kid not in ring.keys]
    return [
        f"stored secrets are still sealed with the secret-sealing key {kid}, which this process "
        f"lacks (its keys come from {ring.source}): add it as a previous key, or run "
        "`hookyard keys reseal` where it is present before removing it"
        for kid in missing
        if await store.subscriptions.uses_key(kid)
    ]


async def verify(store: Store, rings: list[Ring], *, record: bool) -> list[str]:
    """Every problem with `rings` (see the module docstring); when there is none and `record`,
    the database notes the keys."""
    found: list[str] = []
    checked: list[tuple[Ring, list[SeenKey]]] = []
    for ring in rings:
        seen = await store.fingerprints.seen(ring.kind)
        found += problems(ring, seen)
        if ring.kind == SECRET:
            found += await sealed_with_missing(store, ring, seen)
        checked.append((ring, seen))
    if record and not found:
        for ring, _seen in checked:
            await store.fingerprints.record(ring.kind, ring.keys, ring.current)
    return found


async def unseen_directory(store: Store, kind: str, directory: str) -> list[str]:
    """A process about to make its first key in `directory` (no key configured, none there) while
    the database has seen keys of `kind`: it would have keys no other process has."""
    seen = await store.fingerprints.seen(kind)
    if not seen:
        return []
    return [
        f"no {NAMES[kind]} is configured and {directory} has none, but the database has seen "
        f"{NAMES[kind]} {seen[0].kid}: copy the key files from a host that has them, or give "
        f"every process the same key file ({GUIDE})"
    ]
