"""The business units a caller may list (spec section 2): its company's, limited to the units
its client may see. A token that acts for no company (a partner without `grant_type=company`, a
publishing back end, the operator) is refused (403)."""

from __future__ import annotations

from datetime import datetime

from hookyard import errors, models
from hookyard.store import Store


class BusinessUnits:
    """Lists a caller's business units."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def listed(
        self,
        caller: models.Principal,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[models.BusinessUnit]:
        """The caller's units, oldest first, after the cursor `after`, at most `limit`."""
        if caller.company_id is None:
            raise errors.Forbidden(
                "This token acts for no company; partners use grant_type=company with a CompanyId."
            )
        only = None if models.ALL_BUSINESS_UNITS in caller.business_units else caller.business_units
        return await self._store.tenants.business_units(
            caller.company_id, only, after=after, limit=limit
        )
