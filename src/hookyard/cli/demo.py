"""`hookyard demo`: seed a demo tenant (once), print a walk-through, then serve.

Seeding is idempotent: the demo company is found by name and reused; the demo client's id and
secret are kept in `<data_dir>/demo.json` (mode 0600) so the walk-through can be printed again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hookyard import models
from hookyard.cli import logs, options, serve, walkthrough
from hookyard.cli.tenancy import run

if TYPE_CHECKING:
    from hookyard.cli.runtime import Runtime

DEMO_COMPANY = "Hookyard Demo"
DEMO_UNITS = (("DEMO-EAST", "Demo East"), ("DEMO-WEST", "Demo West"))
DEMO_SCOPES = (
    "precon:read",
    "dis:read",
    "heavyjob:read",
    "events:publish",
    "hookyard:admin",
    "hookyard:operator",
)
DEMO_CLIENT = "Hookyard demo client"
DEMO_FILE = "demo.json"


@dataclass(frozen=True)
class DemoClient:
    """What `demo.json` keeps: enough to print the walk-through again."""

    company_id: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class DemoTenant:
    company: models.Company
    units: list[models.BusinessUnit]
    client: DemoClient
    reused_company: bool
    reused_client: bool


def load_saved(path: Path) -> DemoClient | None:
    """The saved demo client, or None when the file is missing or not ours."""
    try:
        data: Any = json.loads(path.read_text())
        return DemoClient(
            company_id=str(data["company_id"]),
            client_id=str(data["client_id"]),
            client_secret=str(data["client_secret"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(path: Path, client: DemoClient) -> None:
    """Write `client` to `path`, readable by its owner only, replacing it atomically."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(asdict(client), handle, indent=2)
    os.replace(temporary, path)


async def _company(rt: Runtime) -> tuple[models.Company, bool]:
    company = await rt.store.tenants.company_by_name(DEMO_COMPANY)
    if company is not None:
        return company, True
    return await rt.credentials.create_company(DEMO_COMPANY), False


async def _units(rt: Runtime, company_id: str) -> list[models.BusinessUnit]:
    units = []
    for code, description in DEMO_UNITS:
        unit = await rt.store.tenants.business_unit_by_code(company_id, code)
        if unit is None:
            unit = await rt.credentials.create_business_unit(company_id, code, description)
        units.append(unit)
    return units


async def _usable(rt: Runtime, saved: DemoClient | None, company_id: str) -> bool:
    if saved is None or saved.company_id != company_id:
        return False
    client = await rt.store.tenants.client(saved.client_id)
    return (
        client is not None
        and client.revoked_at is None
        and client.company_id == company_id
        and set(DEMO_SCOPES) <= set(client.scopes)
    )


async def _client(rt: Runtime, company_id: str, path: Path) -> tuple[DemoClient, bool]:
    saved = load_saved(path)
    if saved is not None and await _usable(rt, saved, company_id):
        return saved, True
    issued = await rt.credentials.create_client(
        scopes=DEMO_SCOPES, company_id=company_id, name=DEMO_CLIENT
    )
    client = DemoClient(company_id, issued.client.id, issued.secret)
    save(path, client)
    return client, False


async def seed(rt: Runtime) -> DemoTenant:
    """Find or create the demo company, its two business units and its all-scopes client."""
    company, reused_company = await _company(rt)
    units = await _units(rt, company.id)
    client, reused_client = await _client(rt, company.id, rt.settings.data_dir / DEMO_FILE)
    return DemoTenant(company, units, client, reused_company, reused_client)


def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Seed a demo tenant (or reuse it), print a walk-through, then serve like `serve`."""
    base = serve.base_url(host, port)
    os.environ.setdefault("HOOKYARD_PUBLIC_BASE_URL", base)
    settings = options.settings()
    logs.configure(settings.log_level, settings.log_format)
    tenant = run(seed)
    banner = walkthrough.render(
        walkthrough.Demo(
            base_url=base,
            company_id=tenant.company.id,
            units=[(unit.id, unit.code) for unit in tenant.units],
            client_id=tenant.client.client_id,
            client_secret=tenant.client.client_secret,
            scopes=DEMO_SCOPES,
            reused_company=tenant.reused_company,
            reused_client=tenant.reused_client,
            private_callbacks=settings.allow_private_callbacks,
            saved_to=_shown_path(settings.data_dir / DEMO_FILE),
        )
    )
    # Seeding migrated the database a moment ago.
    serve.start(host, port, deliver=True, banner=banner, migrated=True)


def _shown_path(path: Path) -> str:
    """`path` relative to the working directory when it is inside it (shorter to paste)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())
