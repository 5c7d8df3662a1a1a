"""Per-(client, callback url) sequence numbers at ingest: the pure part every backend shares.

An ingest counts its new deliveries per (client, url), adds each count to that pair's counter
in `callback_sequences` (one upsert per pair, in sorted order so two transactions lock counters
in the same order and never deadlock) and numbers the deliveries from what the counters say, in
publish order. The counter's row lock is held until commit, so a later transaction for the same
url waits for the earlier one: numbers are gap-free and follow commit order. Ingests for
different urls never wait for each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

Key = tuple[str, str]
"""(client id, callback url)."""


def increments(keys: Sequence[Key]) -> list[tuple[str, str, int]]:
    """(client id, url, how many new deliveries) per pair, sorted: the upserts to run."""
    counted = Counter(keys)
    return [(client, url, count) for (client, url), count in sorted(counted.items())]


def backs(keys: Sequence[Key]) -> list[int]:
    """For each delivery (`keys` in publish order), how many later ones in the batch share its
    (client, url): its number is that pair's counter after the batch less this (`assign`, in
    SQL on PostgreSQL)."""
    remaining = Counter(keys)
    found = []
    for key in keys:
        remaining[key] -= 1
        found.append(remaining[key])
    return found


def assign(keys: Sequence[Key], last: Mapping[Key, int]) -> list[int]:
    """The number of each delivery (`keys` in publish order), given each pair's counter after
    the upsert (`last`, which includes this batch)."""
    return [last[key] - back for key, back in zip(keys, backs(keys), strict=True)]
