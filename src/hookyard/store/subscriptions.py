"""Subscription records: one row per event type (and per filter value, such as a HeavyJob job) of
one callback URL of one client, in one product, company and partition (such as a business unit).

Secret keys are sealed on the way in and opened on the way out by the store's `Sealer`
(`store/sealing.py`: AES-GCM bound to the record id), and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookyard import errors, models
from hookyard.store import schema, sealing
from hookyard.store.database import Database
from hookyard.store.sealing import Sealer

table = schema.subscriptions
DISCONNECTED = "disconnected"
_LIVE = (models.SubscriptionStatus.ACTIVE.value, models.SubscriptionStatus.STOPPED.value)


@dataclass(frozen=True)
class Search:
    """Which records to list: every filter optional; `after` is the last id of the previous
    page (records come in id order, so paging is by key, not offset)."""

    client_id: str | None = None
    company_id: str | None = None
    product: str | None = None
    status: models.SubscriptionStatus | None = None
    after: str | None = None
    limit: int = 100
    companies: tuple[str, ...] | None = None
    """Only records in these companies (None: any); a partner's reach."""

    def clause(self) -> Any:
        conditions = [
            column == wanted
            for column, wanted in (
                (table.c.client_id, self.client_id),
                (table.c.company_id, self.company_id),
                (table.c.product, self.product),
                (table.c.status, self.status.value if self.status else None),
            )
            if wanted is not None
        ]
        if self.status is None:
            conditions.append(table.c.status.in_(_LIVE))
        if self.after is not None:
            conditions.append(table.c.id > self.after)
        if self.companies is not None:
            conditions.append(table.c.company_id.in_(self.companies))
        return and_(*conditions)


@dataclass(frozen=True)
class Owner:
    """Whose records, and where: a client's records in one product, company and partition."""

    client_id: str
    product: str
    company_id: str
    partition_value: str = ""

    @classmethod
    def of(cls, record: models.Subscription) -> Owner:
        """The owner of `record`'s url."""
        return cls(
            record.client_id, record.product, record.company_id, record.partition_value or ""
        )

    def clause(self) -> Any:
        return and_(
            table.c.client_id == self.client_id,
            table.c.product == self.product,
            table.c.company_id == self.company_id,
            table.c.partition_value == self.partition_value,
        )


def _subscription(row: RowMapping, sealer: Sealer, *, secrets: bool = True) -> models.Subscription:
    """The record of `row`; with `secrets` False its secret keys are left sealed (empty), for
    readers that never sign anything and must work even when a secret does not open."""
    return models.Subscription(
        id=row["id"],
        product=row["product"],
        company_id=row["company_id"],
        client_id=row["client_id"],
        partition_value=row["partition_value"] or None,
        filter_value=row["filter_value"] or None,
        event_type=row["event_type"],
        callback_url=row["callback_url"],
        secret_key=sealer.unseal(row["secret_key"], row["id"]) if secrets else "",
        status=models.SubscriptionStatus(row["status"]),
        date_created=row["date_created"],
        status_changed_at=row["status_changed_at"],
        stop_reason=row["stop_reason"],
        previous_secret_key=(
            sealer.unseal_optional(row["previous_secret_key"], row["id"]) if secrets else None
        ),
        previous_secret_until=row["previous_secret_until"],
        auto_reactivate=bool(row["auto_reactivate"]),
        last_probe_at=row["last_probe_at"],
        held_dropped=row["held_dropped"],
    )


def _changeable(record: models.Subscription, sealer: Sealer) -> dict[str, Any]:
    """The columns a save may change on an existing record."""
    return {
        "status": record.status.value,
        "status_changed_at": record.status_changed_at,
        "stop_reason": record.stop_reason,
        "secret_key": sealer.seal(record.secret_key, record.id),
        "previous_secret_key": sealer.seal_optional(record.previous_secret_key, record.id),
        "previous_secret_until": record.previous_secret_until,
        "auto_reactivate": record.auto_reactivate,
    }


def _row(record: models.Subscription, sealer: Sealer) -> dict[str, Any]:
    return {
        "id": record.id,
        "product": record.product,
        "company_id": record.company_id,
        "client_id": record.client_id,
        "partition_value": record.partition_value or "",
        "filter_value": record.filter_value or "",
        "event_type": record.event_type,
        "callback_url": record.callback_url,
        "date_created": record.date_created,
        **_changeable(record, sealer),
    }


class SubscriptionRepository:
    """Queries over subscription records."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer

    async def _all(self, statement: Any) -> list[models.Subscription]:
        async with self._db.read() as connection:
            result = await connection.execute(statement)
            return [_subscription(row, self._sealer) for row in result.mappings().all()]

    async def reseal(self) -> int:
        """Seal every stored secret with the current key; how many records changed."""
        self._sealer.reload()
        columns = (table.c.id, table.c.secret_key, table.c.previous_secret_key)
        changed = 0
        async with self._db.write() as connection:
            for row in (await connection.execute(select(*columns))).all():
                values = self._resealed(row.id, row.secret_key, row.previous_secret_key)
                if values:
                    await connection.execute(
                        update(table).where(table.c.id == row.id).values(**values)
                    )
                    changed += 1
        return changed

    def _resealed(self, record_id: str, secret: str, previous: str | None) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, stored in (("secret_key", secret), ("previous_secret_key", previous)):
            if stored is not None and not self._sealer.is_current(stored):
                values[name] = self._sealer.seal(self._sealer.unseal(stored, record_id), record_id)
        return values

    async def uses_key(self, kid: str) -> bool:
        """Whether any stored secret is sealed with key `kid`."""
        pattern = sealing.sealed_with(kid)
        statement = (
            select(table.c.id)
            .where(table.c.secret_key.like(pattern) | table.c.previous_secret_key.like(pattern))
            .limit(1)
        )
        async with self._db.read() as connection:
            return (await connection.execute(statement)).first() is not None

    async def get(self, subscription_id: str) -> models.Subscription | None:
        found = await self._all(select(table).where(table.c.id == subscription_id))
        return found[0] if found else None

    async def described(self, subscription_id: str) -> models.Subscription | None:
        """`get` without its secret keys (empty): what announcing a record needs (its url,
        owner and state), which works even when its sealed secret does not open."""
        async with self._db.read() as connection:
            found = await connection.execute(select(table).where(table.c.id == subscription_id))
            row = found.mappings().first()
        return _subscription(row, self._sealer, secrets=False) if row else None

    async def listed(self, owner: Owner) -> list[models.Subscription]:
        """The owner's Active and Stopped records, oldest first (what GET lists)."""
        statement = (
            select(table)
            .where(owner.clause(), table.c.status.in_(_LIVE))
            .order_by(table.c.date_created, table.c.callback_url, table.c.event_type, table.c.id)
        )
        return await self._all(statement)

    async def search(self, search: Search) -> list[models.Subscription]:
        """Records matching `search` (Active and Stopped unless a status is named), by id."""
        statement = select(table).where(search.clause()).order_by(table.c.id).limit(search.limit)
        return await self._all(statement)

    async def of_url(self, owner: Owner, url: str) -> list[models.Subscription]:
        """Every record of `url` for the owner, whatever its status."""
        statement = (
            select(table)
            .where(owner.clause(), table.c.callback_url == url)
            .order_by(table.c.date_created, table.c.id)
        )
        return await self._all(statement)

    async def of_client(self, client_id: str) -> list[models.Subscription]:
        """Every record of the client, whatever its product, place or status."""
        statement = (
            select(table)
            .where(table.c.client_id == client_id)
            .order_by(table.c.date_created, table.c.event_type, table.c.filter_value, table.c.id)
        )
        return await self._all(statement)

    async def live(
        self,
        client_id: str | None,
        status: models.SubscriptionStatus | None = None,
        *,
        companies: tuple[str, ...] | None = None,
        limit: int = 500,
    ) -> list[models.Subscription]:
        """Active and Stopped records (or only `status`), of one client or (None) every client
        (in `companies` only, when named), grouped by product, company and partition."""
        statuses = _LIVE if status is None else (status.value,)
        statement = select(table).where(table.c.status.in_(statuses))
        if client_id is not None:
            statement = statement.where(table.c.client_id == client_id)
        if companies is not None:
            statement = statement.where(table.c.company_id.in_(companies))
        statement = statement.order_by(
            table.c.product,
            table.c.company_id,
            table.c.partition_value,
            table.c.callback_url,
            table.c.event_type,
            table.c.id,
        )
        return await self._all(statement.limit(limit))

    async def count_live(self, client_id: str) -> int:
        """How many Active or Stopped records the client has, in every product."""
        async with self._db.read() as connection:
            return await _count_live(connection, client_id)

    async def save(
        self,
        added: Sequence[models.Subscription],
        changed: Sequence[models.Subscription],
        *,
        client_limit: int,
    ) -> None:
        """Insert `added` and write the status and secret columns of `changed`, in one
        transaction; nothing is kept when the client would then have more than `client_limit`
        Active or Stopped records, or when another request made the same records meanwhile."""
        try:
            async with self._db.write() as connection:
                if added:
                    await connection.execute(
                        insert(table), [_row(record, self._sealer) for record in added]
                    )
                if changed:
                    await connection.execute(
                        _update_by_id(), [_by_id(r, self._sealer) for r in changed]
                    )
                await _check_limit(connection, [*added, *changed], client_limit)
        except IntegrityError as exc:
            raise errors.Conflict(
                "Another request changed the subscriptions of this url at the same time; "
                "send the request again."
            ) from exc

    async def delete_url(self, owner: Owner, url: str, at: datetime) -> int:
        """Mark the owner's Active and Stopped records of `url` Deleted; how many there were."""
        statement = (
            update(table)
            .where(owner.clause(), table.c.callback_url == url, table.c.status.in_(_LIVE))
            .values(
                status=models.SubscriptionStatus.DELETED.value,
                status_changed_at=at,
                stop_reason=None,
            )
        )
        async with self._db.write() as connection:
            result = await connection.execute(statement)
            return int(result.rowcount)

    async def set_partner_connected(
        self, partner_id: str, company_id: str, connected: bool, at: datetime
    ) -> list[models.Subscription]:
        """On disconnect, Stop the partner's clients' Active records for the company (reason
        `disconnected`); on reconnect, make the records so stopped Active again. The records
        changed, as they are now."""
        partner_clients = select(schema.clients.c.id).where(
            schema.clients.c.partner_id == partner_id
        )
        scope = and_(table.c.company_id == company_id, table.c.client_id.in_(partner_clients))
        if connected:
            match = and_(
                table.c.status == models.SubscriptionStatus.STOPPED.value,
                table.c.stop_reason == DISCONNECTED,
            )
            values: dict[str, Any] = {"status": models.SubscriptionStatus.ACTIVE.value}
            values["stop_reason"] = None
        else:
            match = table.c.status == models.SubscriptionStatus.ACTIVE.value
            values = {"status": models.SubscriptionStatus.STOPPED.value}
            values["stop_reason"] = DISCONNECTED
        async with self._db.write() as connection:
            found = await connection.execute(select(table.c.id).where(scope, match))
            changed = list(found.scalars())
            if not changed:
                return []
            statement = update(table).where(table.c.id.in_(changed), match)
            await connection.execute(statement.values(**values, status_changed_at=at))
            rows = await connection.execute(select(table).where(table.c.id.in_(changed)))
            return [_subscription(row, self._sealer) for row in rows.mappings()]


def _update_by_id() -> Any:
    names = (
        "status",
        "status_changed_at",
        "stop_reason",
        "secret_key",
        "previous_secret_key",
        "previous_secret_until",
    )
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in names})
    )


def _by_id(record: models.Subscription, sealer: Sealer) -> dict[str, Any]:
    values = {f"b_{name}": value for name, value in _changeable(record, sealer).items()}
    return {"b_id": record.id, **values}


async def _count_live(connection: AsyncConnection, client_id: str) -> int:
    statement = (
        select(func.count())
        .select_from(table)
        .where(table.c.client_id == client_id, table.c.status.in_(_LIVE))
    )
    return int((await connection.execute(statement)).scalar_one())


async def _check_limit(
    connection: AsyncConnection, records: Sequence[models.Subscription], limit: int
) -> None:
    for client_id in {record.client_id for record in records}:
        count = await _count_live(connection, client_id)
        if count > limit:
            raise errors.InvalidInput.field(
                "eventTypes",
                f"this would give the client {count} subscription records, and at most {limit} "
                "are allowed; delete some first (DELETE ?url=) or name fewer event types or jobs",
            )
