"""What a published event names must exist: its `companyId`, and the business unit a product's
subscriptions are partitioned by (Pre-Con's `businessUnitId`) in that company. An event that
names neither could match no subscription and would be accepted to go nowhere.

Lookups that found a tenant are kept for a minute (`TtlCache`): a product back end publishes for
the same few companies all day, and a company or business unit is never deleted, only created.
Lookups that found nothing are not kept, so a tenant created a moment ago is accepted at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from hookyard import ttlcache
from hookyard.store import Store

GUID_FIELDS = ("companyId", "businessUnitId", "jobId")
KEEP_SECONDS = 60.0


def guid_problem(value: str) -> str | None:
    """Why `value` is not a GUID an event may name, or None."""
    try:
        parsed = uuid.UUID(value) if len(value) == 36 else None
    except ValueError:
        parsed = None
    if parsed is None:
        return "must be a GUID (8-4-4-4-12 hex digits)"
    if parsed.int == 0:
        return "must not be the zero GUID"
    return None


class KnownTenants:
    """Checks, with a cache, that companies and business units exist."""

    def __init__(self, store: Store, *, seconds: float = KEEP_SECONDS) -> None:
        self._store = store
        self._units: ttlcache.TtlCache[str, str] = ttlcache.TtlCache(seconds)
        self._companies: ttlcache.TtlCache[str, bool] = ttlcache.TtlCache(seconds)

    async def problems(self, named: Sequence[tuple[str, str, str | None]]) -> dict[str, list[str]]:
        """For each (prefix, companyId, businessUnitId or None), what does not exist, by field."""
        found: dict[str, list[str]] = {}
        for prefix, company_id, unit_id in named:
            if unit_id is not None:
                message = await self._unit_problem(company_id, unit_id)
                if message:
                    found[f"{prefix}businessUnitId"] = [message]
            elif not await self._company_exists(company_id):
                found[f"{prefix}companyId"] = [_no_company(company_id)]
        return found

    async def _company_exists(self, company_id: str) -> bool:
        hit, _ = self._companies.get(company_id)
        if hit:
            return True
        stamp = self._companies.stamp()
        if await self._store.tenants.company(company_id) is None:
            return False
        self._companies.put(company_id, True, stamp)
        return True

    async def _unit_problem(self, company_id: str, unit_id: str) -> str | None:
        hit, owner = self._units.get(unit_id)
        if not hit:
            stamp = self._units.stamp()
            unit = await self._store.tenants.business_unit(unit_id)
            if unit is None:
                if not await self._company_exists(company_id):
                    return f"{_no_company(company_id)}, nor business unit {unit_id}"
                return (
                    f"there is no business unit {unit_id} in company {company_id}; "
                    "create it first (hookyard business-units create)"
                )
            owner = unit.company_id
            self._units.put(unit_id, owner, stamp)
        if owner != company_id:
            return f"business unit {unit_id} belongs to another company than {company_id}"
        return None


def _no_company(company_id: str) -> str:
    return f"there is no company {company_id}; create it first (hookyard companies create)"


def named_tenants(
    events: Iterable[tuple[str, str, str | None]],
) -> list[tuple[str, str, str | None]]:
    """The (prefix, companyId, business unit or None) of `events`, each pair once."""
    seen: dict[tuple[str, str | None], str] = {}
    for prefix, company_id, unit_id in events:
        seen.setdefault((company_id, unit_id), prefix)
    return [(prefix, company, unit) for (company, unit), prefix in seen.items()]
