"""The start-up key check against the real database, on both dialects: a process whose keys are
not the ones its peers use is refused, a rotation done in the documented steps is not."""

from __future__ import annotations

from hookyard.services import key_check
from hookyard.services.key_check import Ring
from hookyard.store import Store
from tests.support import tenancy


def ring(*kids: str, kind: str = key_check.JWT, fingerprints: dict[str, str] | None = None) -> Ring:
    keys = {kid: (fingerprints or {}).get(kid, f"fp-{kid}") for kid in kids}
    return Ring(kind, keys, "the test")


async def test_the_first_process_records_its_keys_and_its_peers_with_them_start(
    store: Store,
) -> None:
    assert await key_check.verify(store, [ring("a", "b")], record=True) == []
    seen = await store.fingerprints.seen(key_check.JWT)
    assert [(key.kid, key.fingerprint) for key in seen] == [("a", "fp-a"), ("b", "fp-b")]
    assert seen[0].current_since is not None
    assert await key_check.verify(store, [ring("a", "b")], record=True) == []
    assert await key_check.verify(store, [ring("a")], record=False) == []


async def test_a_process_without_the_current_key_is_refused_and_records_nothing(
    store: Store,
) -> None:
    await key_check.verify(store, [ring("a")], record=True)
    (found,) = await key_check.verify(store, [ring("z")], record=True)
    assert found.startswith("this process lacks the JWT signing key a that the others have used")
    assert "docs/deploy.md#keys" in found
    assert [key.kid for key in await store.fingerprints.seen(key_check.JWT)] == ["a"]


async def test_a_key_with_a_known_id_but_another_fingerprint_is_refused(store: Store) -> None:
    await key_check.verify(store, [ring("a")], record=True)
    (found,) = await key_check.verify(store, [ring("a", fingerprints={"a": "other"})], record=True)
    assert "is not the key the database knows by that id" in found


async def test_a_new_current_key_must_first_be_a_previous_key_everywhere(store: Store) -> None:
    await key_check.verify(store, [ring("old")], record=True)
    (found,) = await key_check.verify(store, [ring("new", "old")], record=True)
    assert "add it to every process as a previous key first" in found
    assert await key_check.verify(store, [ring("old", "new")], record=True) == []
    assert await key_check.verify(store, [ring("new", "old")], record=True) == []
    (stale,) = await key_check.verify(store, [ring("old")], record=True)
    assert "lacks the JWT signing key new" in stale
    assert await key_check.verify(store, [ring("new")], record=True) == []


async def test_kinds_are_checked_apart(store: Store) -> None:
    secret = ring("s1", kind=key_check.SECRET)
    assert await key_check.verify(store, [ring("a"), secret], record=True) == []
    assert await key_check.verify(store, [ring("s1", kind=key_check.SECRET)], record=False) == []
    found = await key_check.verify(
        store, [ring("a"), ring("s2", kind=key_check.SECRET)], record=True
    )
    assert len(found) == 1
    assert "secret-sealing key s1" in found[0]


async def test_a_sealing_key_that_still_seals_a_secret_cannot_be_dropped(store: Store) -> None:
    tenant = await tenancy.add_tenant(store)
    kids = store.sealer.kids
    assert kids, "the test store seals with a key of its data directory"
    sealing = Ring(key_check.SECRET, store.sealer.fingerprints, "the test")
    assert await key_check.verify(store, [sealing], record=True) == []
    sealed = store.sealer.seal("whsec_x", "record")
    await tenancy.subscribe(
        store, tenant, "precon", "ProjectCreated", "https://example.com/h", secret=sealed
    )
    newer = Ring(key_check.SECRET, {"newer": "fp-newer", **sealing.keys}, "the test")
    await store.fingerprints.record(key_check.SECRET, newer.keys, "newer")
    without_old = Ring(key_check.SECRET, {"newer": "fp-newer"}, "the test")
    (found,) = await key_check.verify(store, [without_old], record=False)
    assert found.startswith(
        f"stored secrets are still sealed with the secret-sealing key {kids[0]}"
    )
    assert "hookyard keys reseal" in found
