"""`hookyard events publish` and `hookyard deliveries ...`: the engine from the command line.

Commands act as the operator (every client's deliveries) unless `--client` narrows them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from hookyard import clock, errors
from hookyard.cli import options
from hookyard.cli.tenancy import run, shell

if TYPE_CHECKING:
    from hookyard.cli.runtime import Runtime
    from hookyard.services.deliveries import DeliveryService
    from hookyard.services.events import EventService
    from hookyard.store.history import DeliveryRecord

events = typer.Typer(help="Publish product events.", no_args_is_help=True)
deliveries = typer.Typer(help="Inspect, redeliver and recover deliveries.", no_args_is_help=True)

JSON = options.JSON
CLIENT = typer.Option(None, "--client", help="Only this client's deliveries (default: all).")
PUBLISHER = "cli"


def parse_fields(pairs: list[str]) -> dict[str, str]:
    """`k=v` pairs as a dict; exits with a message naming a pair without `=`."""
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            options.fail(f"--field {pair!r}: write it as NAME=VALUE, e.g. --field projectId=42")
        fields[name] = value
    return fields


def _event_service(rt: Runtime) -> EventService:
    from hookyard.services.events import EventService

    return EventService(
        rt.store,
        rt.catalog,
        public_base_url=rt.settings.public_base_url,
        max_batch_events=rt.settings.max_batch_events,
    )


@events.command("publish")
def publish(
    product: str = typer.Argument(..., help="The product's route segment: precon, setups, ..."),
    event_type: str = typer.Argument(..., help="The event type, e.g. ProjectCreated."),
    company: str = typer.Option(..., "--company", help="The company's id."),
    business_unit: str = typer.Option(None, "--business-unit", help="businessUnitId"),
    job: str = typer.Option(None, "--job", help="jobId (HeavyJob)"),
    field: list[str] = typer.Option([], "--field", help="Another field as NAME=VALUE."),
    idempotency_key: str = typer.Option(None, "--idempotency-key", help="Publish at most once."),
    as_json: bool = JSON,
) -> None:
    """Publish one event and print its id once it and its deliveries are stored."""
    event: dict[str, Any] = {"eventType": event_type, "companyId": company}
    if business_unit is not None:
        event["businessUnitId"] = business_unit
    if job is not None:
        event["jobId"] = job
    event.update(parse_fields(field))
    published = run(
        lambda rt: _event_service(rt).publish(
            product, event, publisher_id=PUBLISHER, idempotency_key=idempotency_key
        )
    )
    view = {
        "eventId": published.event_id,
        "deliveries": published.deliveries,
        "duplicate": published.duplicate,
    }
    options.emit(
        view, as_json=as_json, text=f"{published.event_id} ({published.deliveries} deliveries)"
    )


def _deliveries(rt: Runtime) -> DeliveryService:

    return rt.deliveries()


def _view(record: DeliveryRecord) -> dict[str, Any]:
    delivery = record.delivery
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": record.event_type,
        "callback_url": record.callback_url,
        "state": delivery.state.value,
        "tries": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": clock.isoformat(delivery.created_at),
    }


def _detail(record: DeliveryRecord) -> dict[str, Any]:
    view = _view(record)
    view["attempts"] = [
        {
            "number": a.number,
            "started_at": clock.isoformat(a.started_at),
            "outcome": a.outcome.value,
            "status": a.status_code,
            "latency_ms": round(a.duration_ms, 3),
            "error": a.error,
            "response_body": a.response_body,
        }
        for a in record.attempts
    ]
    return view


def _line(view: dict[str, Any]) -> str:
    status = view["last_status"] if view["last_status"] is not None else "-"
    return (
        f"{view['id']}  {view['state']:<9}  tries={view['tries']}  status={status}  "
        f"{view['event_type']}  {view['callback_url']}"
    )


@deliveries.command("list")
def list_deliveries(
    client: str = CLIENT,
    state: str = typer.Option(None, "--state", help="pending, in_flight, succeeded, failed, held"),
    url: str = typer.Option(None, "--url", help="Only this callback url."),
    event: str = typer.Option(None, "--event", help="Only this event's deliveries."),
    limit: int = typer.Option(100, "--limit", help="At most this many (1-1000)."),
    as_json: bool = JSON,
) -> None:
    """List deliveries, newest first."""
    records = run(
        lambda rt: _deliveries(rt).list(
            shell(), client_id=client, state=state, callback_url=url, event_id=event, limit=limit
        )
    )
    views = [_view(r) for r in records]
    options.emit(views, as_json=as_json, text="\n".join(_line(v) for v in views) or "no deliveries")


@deliveries.command("show")
def show(
    delivery_id: str = typer.Argument(..., help="The delivery's id (dlv_...)."),
    client: str = CLIENT,
    as_json: bool = JSON,
) -> None:
    """One delivery with every attempt."""
    record = run(lambda rt: _deliveries(rt).get(shell(), delivery_id, client_id=client))
    view = _detail(record)
    lines = [_line(view)]
    for a in view["attempts"]:
        lines.append(
            f"  try {a['number']} at {a['started_at']}: {a['outcome']} status={a['status']} "
            f"{a['latency_ms']} ms {a['error'] or ''}".rstrip()
        )
    options.emit(view, as_json=as_json, text="\n".join(lines))


@deliveries.command("redeliver")
def redeliver(
    delivery_id: str = typer.Argument(..., help="The delivery's id (dlv_...)."),
    client: str = CLIENT,
    as_json: bool = JSON,
) -> None:
    """Queue one delivery again for a new round of tries."""
    record = run(lambda rt: _deliveries(rt).redeliver(shell(), delivery_id, client_id=client))
    options.emit(_view(record), as_json=as_json, text=f"{delivery_id} queued again")


@deliveries.command("recover")
def recover(
    url: str = typer.Option(..., "--url", help="The callback url, Active again."),
    since: str = typer.Option(
        ..., "--since", help="ISO 8601 time with a zone, e.g. 2026-11-29T06:00:00Z"
    ),
    client: str = CLIENT,
    as_json: bool = JSON,
) -> None:
    """Queue again the held and failed deliveries of a reactivated url made since a time."""
    moment = _time(since)
    count = run(lambda rt: _deliveries(rt).recover(shell(), url, moment, client_id=client))
    options.emit({"recovered": count}, as_json=as_json, text=f"{count} deliveries queued again")


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        options.report(
            errors.InvalidInput.field(
                "--since", "write an ISO 8601 time, e.g. 2026-11-29T06:00:00Z"
            )
        )
    if moment.tzinfo is None:
        options.report(
            errors.InvalidInput.field("--since", "give a zone, e.g. a trailing Z for UTC")
        )
    return moment


def register(app: typer.Typer) -> None:
    app.add_typer(events, name="events")
    app.add_typer(deliveries, name="deliveries")
