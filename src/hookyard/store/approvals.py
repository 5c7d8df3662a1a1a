"""Callback host approvals: one row per (client, host) that needs the operator's approval."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from hookyard import models
from hookyard.store import schema
from hookyard.store.database import Database

table = schema.approvals


def _approval(row: RowMapping) -> models.Approval:
    return models.Approval(
        id=row["id"],
        client_id=row["client_id"],
        company_id=row["company_id"],
        product=row["product"],
        host=row["host"],
        callback_url=row["callback_url"],
        status=models.ApprovalStatus(row["status"]),
        requested_at=row["requested_at"],
        last_requested_at=row["last_requested_at"],
        decided_at=row["decided_at"],
        decided_by=row["decided_by"],
        reason=row["reason"],
    )


class ApprovalRepository:
    """Queries over approval requests."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _all(self, statement: Any) -> list[models.Approval]:
        async with self._db.read() as connection:
            result = await connection.execute(statement)
            return [_approval(row) for row in result.mappings().all()]

    async def get(self, approval_id: str) -> models.Approval | None:
        found = await self._all(select(table).where(table.c.id == approval_id))
        return found[0] if found else None

    async def of_host(self, client_id: str, host: str) -> models.Approval | None:
        statement = select(table).where(table.c.client_id == client_id, table.c.host == host)
        found = await self._all(statement)
        return found[0] if found else None

    async def listed(
        self, status: models.ApprovalStatus | None = None, *, limit: int = 1000
    ) -> list[models.Approval]:
        """Requests oldest first, all or those of one status."""
        statement = select(table).order_by(table.c.requested_at, table.c.id).limit(limit)
        if status is not None:
            statement = statement.where(table.c.status == status.value)
        return await self._all(statement)

    async def request(self, approval: models.Approval) -> tuple[models.Approval, bool]:
        """Record a request; when the client already asked for the host, note the new ask on
        that request instead. Returns the stored request and whether it is new."""
        try:
            async with self._db.write() as connection:
                await connection.execute(insert(table), [_row(approval)])
            return approval, True
        except IntegrityError:
            pass
        statement = (
            update(table)
            .where(table.c.client_id == approval.client_id, table.c.host == approval.host)
            .values(
                last_requested_at=approval.last_requested_at,
                callback_url=approval.callback_url,
                product=approval.product,
            )
        )
        async with self._db.write() as connection:
            await connection.execute(statement)
        stored = await self.of_host(approval.client_id, approval.host)
        assert stored is not None
        return stored, False

    async def decide(
        self,
        approval_id: str,
        status: models.ApprovalStatus,
        *,
        by: str,
        reason: str | None,
        at: datetime,
    ) -> models.Approval | None:
        """Approve or reject a request; None when there is no such request."""
        statement = (
            update(table)
            .where(table.c.id == approval_id)
            .values(status=status.value, decided_at=at, decided_by=by, reason=reason)
        )
        async with self._db.write() as connection:
            result = await connection.execute(statement)
        if result.rowcount == 0:
            return None
        return await self.get(approval_id)


def _row(approval: models.Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "client_id": approval.client_id,
        "company_id": approval.company_id,
        "product": approval.product,
        "host": approval.host,
        "callback_url": approval.callback_url,
        "status": approval.status.value,
        "requested_at": approval.requested_at,
        "last_requested_at": approval.last_requested_at,
        "decided_at": approval.decided_at,
        "decided_by": approval.decided_by,
        "reason": approval.reason,
    }
