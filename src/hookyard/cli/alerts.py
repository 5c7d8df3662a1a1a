"""`hookyard alerts list|add|remove`: the operator's alert urls, which receive every operational
event (subscription.stopped, delivery.exhausted, ...) as signed webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from hookyard import clock
from hookyard.cli import options, tables
from hookyard.cli.tenancy import run, shell

if TYPE_CHECKING:
    from hookyard.services.alerts import AlertTarget

alerts = typer.Typer(help="The operator's alert urls for operational events.", no_args_is_help=True)
JSON = options.JSON


def view(target: AlertTarget, *, with_secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": target.url,
        "event_types": list(target.event_types),
        "status": target.status,
        "stop_reason": target.stop_reason,
        "date_created": clock.isoformat(target.date_created),
    }
    if with_secret:
        data["secret_key"] = target.secret_key
    return data


@alerts.command("list")
def list_alerts(as_json: bool = JSON) -> None:
    """List the operator's alert urls (never their keys; `add` prints a url's key)."""
    data = [view(target) for target in run(lambda rt: rt.alerts.targets(shell()))]
    if as_json:
        options.emit(data, as_json=True, text="")
        return
    tables.show(["url", "event_types", "status", "stop_reason"], data, empty="no alert urls")


@alerts.command("add")
def add(
    url: str = typer.Argument(..., help="The alert url; it must answer the challenge."),
    event_types: str = typer.Option(
        "all",
        "--event-types",
        help="all, or some of: subscription.stopped, subscription.reactivated, "
        "delivery.exhausted, delivery.recovered, subscription.approval_requested (commas).",
    ),
    secret_key: str | None = typer.Option(
        None, "--secret-key", help="Base64 of 16 to 64 bytes; omitted: keep or generate one."
    ),
    as_json: bool = JSON,
) -> None:
    """Add an alert url (or replace its event types) and print the key that signs its events."""
    names = None if event_types.strip() == "all" else _split(event_types)
    target = run(lambda rt: rt.alerts.add(shell(), url, names, secret_key=secret_key))
    data = view(target, with_secret=True)
    text = f"alert url {target.url} receives: {', '.join(target.event_types)}\n"
    text += f"secret_key: {target.secret_key}"
    options.emit(data, as_json=as_json, text=text)


@alerts.command("remove")
def remove(url: str = typer.Argument(..., help="The alert url."), as_json: bool = JSON) -> None:
    """Stop sending operational events to an alert url."""
    count = run(lambda rt: rt.alerts.remove(shell(), url))
    options.emit({"url": url, "removed": count}, as_json=as_json, text=f"removed {url}")


def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def register(app: typer.Typer) -> None:
    app.add_typer(alerts, name="alerts")
