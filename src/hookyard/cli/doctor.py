"""`hookyard check`: is this host ready to run Hookyard? Settings, the database (reachable,
migrated), the keys (the ones the database has seen), the clock (against the database's) and the
callback guard. Prints one line per check; exits 1 with every problem and its fix, else 0.

It changes nothing: it makes no key and records no fingerprint."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from hookyard import clock, errors
from hookyard.cli import options
from hookyard.config import Settings

if TYPE_CHECKING:
    from hookyard.store import Store

CONNECT_SECONDS = 10.0
CLOCK_SKEW_SECONDS = 2.0


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warning" or "problem"
    text: str


def ok(text: str) -> Finding:
    return Finding("ok", text)


def problem(text: str) -> Finding:
    return Finding("problem", text)


def check() -> None:
    """Check settings, database, migrations, keys, clock and callback guard; exit 1 on problems."""
    findings = list(_settings_then_rest())
    for finding in findings:
        typer.echo(f"{finding.level}: {finding.text}")
    problems = [finding for finding in findings if finding.level == "problem"]
    if problems:
        options.fail(f"{len(problems)} problem(s) found; fix each as its line says", code=1)


def _settings_then_rest() -> Iterator[Finding]:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "HOOKYARD_" + "_".join(str(part) for part in error["loc"]).upper()
            where = name if error["loc"] else "settings"
            yield problem(f"{where}: {error['msg']}; correct the variable")
        return
    yield ok("settings: the HOOKYARD_* variables are valid")
    yield from _guard(settings)
    yield from asyncio.run(_database(settings))


def _guard(settings: Settings) -> Iterator[Finding]:
    from hookyard.delivery import netguard

    guard = netguard.Guard.from_settings(settings)
    loosened = guard.warnings()
    for warning in loosened:
        yield Finding("warning", warning)
    if not loosened:
        yield ok("callback guard: callbacks may reach public addresses only")
    if not settings.require_https:
        yield Finding("warning", "plain http:// callbacks are accepted (HOOKYARD_REQUIRE_HTTPS)")
    if settings.proxy_headers and settings.forwarded_allow_ips.strip() == "*":
        yield Finding(
            "warning",
            "HOOKYARD_FORWARDED_ALLOW_IPS is *: any client can choose the address the token "
            "throttle counts it by; name your proxy's address instead",
        )


def _missing_sqlite_file(settings: Settings) -> Finding | None:
    """A SQLite file that does not exist (opening it would create it: the check changes nothing)."""
    from sqlalchemy.engine import make_url

    from hookyard.store import dialect

    url = make_url(settings.database_url)
    if not dialect.of(url).local_file or not url.database or Path(url.database).exists():
        return None
    return problem(
        f"database: there is no SQLite file at {url.database}; run `hookyard migrate` to create "
        "it, or correct HOOKYARD_DATABASE_URL / HOOKYARD_DATA_DIR"
    )


async def _database(settings: Settings) -> list[Finding]:
    from sqlalchemy.exc import SQLAlchemyError

    from hookyard.store import Store

    missing = _missing_sqlite_file(settings)
    if missing is not None:
        return [missing]
    url = options.safe_url(settings.database_url)
    store = Store(settings.database_url, pool_size=1)
    try:
        try:
            now = await asyncio.wait_for(_database_now(store), CONNECT_SECONDS)
        except (TimeoutError, OSError, SQLAlchemyError, errors.Unavailable) as exc:
            cause = exc.__cause__ if isinstance(exc, errors.Unavailable) else exc
            reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
            fix = "start it, or correct HOOKYARD_DATABASE_URL"
            return [problem(f"database {url} cannot be reached ({reason[:200]}); {fix}")]
        findings = [ok(f"database {url} answers")]
        schema = await _schema(store)
        findings.append(schema)
        findings += _clock(now, store.db.dialect_rules.name)
        if schema.level == "ok":
            findings += await _keys(settings)
        return findings
    finally:
        await store.close()


async def _database_now(store: Store) -> datetime | None:
    from sqlalchemy import text

    async with store.db.read() as connection:
        if store.db.dialect_rules.local_file:  # this host's clock: nothing to compare
            await connection.execute(text("SELECT 1"))
            return None
        value: datetime = (await connection.execute(text("SELECT now()"))).scalar_one()
        return value


async def _schema(store: Store) -> Finding:
    from hookyard.store import migrate

    async with store.db.read() as connection:
        current = await connection.run_sync(migrate.current_revisions)
    wanted = migrate.head_revisions()
    if set(current) == set(wanted):
        return ok(f"schema: up to date ({', '.join(wanted)})")
    have = ", ".join(current) or "no schema"
    return problem(
        f"schema: the database has {have}, this Hookyard needs {', '.join(wanted)}; "
        "run `hookyard migrate`"
    )


def _clock(database_now: datetime | None, dialect: str) -> list[Finding]:
    if database_now is None:
        return [ok(f"clock: the {dialect} database is on this host")]
    skew = (clock.utcnow() - database_now).total_seconds()
    if abs(skew) <= CLOCK_SKEW_SECONDS:
        return [ok(f"clock: within {abs(skew):.2f} s of the database's")]
    return [
        problem(
            f"clock: {skew:+.1f} s off the database's (tokens, event dates and when new"
            " deliveries are due use this host's clock; leases use the database's); "
            "keep both in time with NTP (chrony or systemd-timesyncd)"
        )
    ]


async def _keys(settings: Settings) -> list[Finding]:
    from hookyard.cli import startup
    from hookyard.services import key_check

    try:
        found = await startup.key_problems(
            settings, (key_check.JWT, key_check.SECRET), record=False, make=False
        )
    except errors.HookyardError as exc:
        return [problem(exc.detail)]
    if found:
        return [problem(text) for text in found]
    sources = {key_check.JWT: startup.jwt_source, key_check.SECRET: startup.secret_source}
    return [_keys_ok(settings, kind, source(settings)) for kind, source in sources.items()]


def _keys_ok(settings: Settings, kind: str, source: str) -> Finding:
    from hookyard.cli import startup
    from hookyard.services import key_check

    name = key_check.NAMES[kind]
    if startup.directory_is_empty(settings, kind):
        where = startup.directory(settings, kind)
        return ok(f"keys: no {name} yet; the first `serve` or `api` makes one in {where}")
    return ok(f"keys: the {name}s from {source} match the ones the database has seen")
