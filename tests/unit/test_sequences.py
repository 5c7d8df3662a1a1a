"""Sequence numbers at ingest: per (client, url), gap-free and in publish order across batches."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hookyard.store import sequences

keys = st.tuples(st.sampled_from(["c1", "c2"]), st.sampled_from(["u1", "u2", "u3"]))


@given(st.lists(st.lists(keys, max_size=30), max_size=10))
def test_batches_number_every_pair_from_1_without_gaps_in_order(
    batches: list[list[sequences.Key]],
) -> None:
    counters: dict[sequences.Key, int] = {}
    numbered: dict[sequences.Key, list[int]] = {}
    for batch in batches:
        for client, url, count in sequences.increments(batch):
            counters[(client, url)] = counters.get((client, url), 0) + count
        for key, number in zip(batch, sequences.assign(batch, counters), strict=True):
            numbered.setdefault(key, []).append(number)
    for key, numbers in numbered.items():
        assert numbers == list(range(1, counters[key] + 1)), key


@given(st.lists(keys, max_size=30))
def test_the_upserts_come_sorted_once_per_pair(batch: list[sequences.Key]) -> None:
    upserts = sequences.increments(batch)
    assert [(c, u) for c, u, _ in upserts] == sorted(set(batch))
    assert sum(n for _, _, n in upserts) == len(batch)


@given(st.lists(keys, max_size=30))
def test_back_counts_down_to_0_over_each_pairs_deliveries_in_order(
    batch: list[sequences.Key],
) -> None:
    """PostgreSQL numbers in SQL as the counter after the batch less `back` (and `assign` is that
    in Python): each pair's deliveries must get back = count - 1, ..., 1, 0 in publish order."""
    found: dict[sequences.Key, list[int]] = {}
    for key, back in zip(batch, sequences.backs(batch), strict=True):
        found.setdefault(key, []).append(back)
    for key, backs in found.items():
        assert backs == list(range(batch.count(key) - 1, -1, -1)), key
