"""`hookyard subscriptions list|show`: every tenant's subscription records, with the reason a
record was Stopped."""

from __future__ import annotations

from typing import Any

import typer

from hookyard import clock, models
from hookyard.cli import options, tables
from hookyard.cli.tenancy import run, shell

subscriptions = typer.Typer(
    help="Subscription records of every tenant, with the Stop reason.", no_args_is_help=True
)
JSON = options.JSON
COLUMNS = ["id", "status", "product", "event_type", "callback_url", "client_id", "stop_reason"]


def view(record: models.Subscription) -> dict[str, Any]:
    """A record as the CLI prints it: never its secret key."""
    return {
        "id": record.id,
        "status": record.status.value,
        "product": record.product,
        "company_id": record.company_id,
        "client_id": record.client_id,
        "partition_value": record.partition_value,
        "filter_value": record.filter_value,
        "event_type": record.event_type,
        "callback_url": record.callback_url,
        "date_created": clock.isoformat(record.date_created),
        "status_changed_at": clock.isoformat(record.status_changed_at),
        "stop_reason": record.stop_reason,
    }


@subscriptions.command("list")
def list_subscriptions(
    status: str | None = typer.Option(
        None, "--status", help="Active, Stopped or Deleted (default: Active and Stopped)."
    ),
    client: str | None = typer.Option(None, "--client", help="Only this client's."),
    company: str | None = typer.Option(None, "--company", help="Only this company's."),
    product: str | None = typer.Option(None, "--product", help="Only this product's (key)."),
    after: str | None = typer.Option(None, "--after", help="The last id of the previous page."),
    limit: int = typer.Option(100, "--limit", help="At most this many (1 to 1000)."),
    as_json: bool = JSON,
) -> None:
    """List subscription records in id order (page with --after)."""
    from hookyard.services.subscription_search import SubscriptionSearch

    found = run(
        lambda rt: SubscriptionSearch(rt.store).search(
            shell(),
            client_id=client,
            company_id=company,
            product=product,
            status=status,
            after=after,
            limit=limit,
        )
    )
    data = [view(record) for record in found]
    if as_json:
        options.emit(data, as_json=True, text="")
        return
    tables.show(COLUMNS, data, empty="no subscription records match")


@subscriptions.command("show")
def show(
    subscription_id: str = typer.Argument(..., help="The record's id."), as_json: bool = JSON
) -> None:
    """Show one record, with the reason it was Stopped."""
    from hookyard.services.subscription_search import SubscriptionSearch

    record = run(lambda rt: SubscriptionSearch(rt.store).show(shell(), subscription_id))
    data = view(record)
    text = "\n".join(f"{name + ':':<19}{tables.cell(value)}" for name, value in data.items())
    options.emit(data, as_json=as_json, text=text)


def register(app: typer.Typer) -> None:
    app.add_typer(subscriptions, name="subscriptions")
