"""`hookyard approvals list|approve|reject`: callback hosts that need the operator's approval."""

from __future__ import annotations

from typing import Any

import typer

from hookyard import clock, models
from hookyard.cli import options, tables
from hookyard.cli.tenancy import run, shell

approvals = typer.Typer(
    help="Callback hosts awaiting approval (HOOKYARD_APPROVAL_HOSTS).", no_args_is_help=True
)
JSON = options.JSON
COLUMNS = ["id", "status", "host", "client_id", "company_id", "requested_at", "decided_by"]


def view(approval: models.Approval) -> dict[str, Any]:
    """An approval request as the CLI prints it."""
    return {
        "id": approval.id,
        "status": approval.status.value,
        "host": approval.host,
        "callback_url": approval.callback_url,
        "client_id": approval.client_id,
        "company_id": approval.company_id,
        "product": approval.product,
        "requested_at": clock.isoformat(approval.requested_at),
        "last_requested_at": clock.isoformat(approval.last_requested_at),
        "decided_at": clock.isoformat(approval.decided_at) if approval.decided_at else None,
        "decided_by": approval.decided_by,
        "reason": approval.reason,
    }


@approvals.command("list")
def list_approvals(
    status: str = typer.Option("pending", "--status", help="pending, approved, rejected, or all."),
    as_json: bool = JSON,
) -> None:
    """List approval requests, oldest first (the pending ones unless --status)."""
    data = [view(a) for a in run(lambda rt: rt.approvals.listed(shell(), status))]
    if as_json:
        options.emit(data, as_json=True, text="")
        return
    tables.show(COLUMNS, data, empty=f"no {status} approval requests")


def _decided(approval: models.Approval, as_json: bool) -> None:
    text = f"{approval.status.value} {approval.id}: {approval.client_id} on {approval.host}"
    options.emit(view(approval), as_json=as_json, text=text)


@approvals.command("approve")
def approve(
    approval_id: str = typer.Argument(..., help="The request's id (apr_...)."),
    by: str = typer.Option("", "--by", help="Who approves (default: your user name)."),
    reason: str | None = typer.Option(None, "--reason", help="A note kept with the decision."),
    as_json: bool = JSON,
) -> None:
    """Approve a request: the client's next subscribe to the host runs the challenge."""
    decided = run(lambda rt: rt.approvals.approve(shell(by), approval_id, reason=reason))
    _decided(decided, as_json)


@approvals.command("reject")
def reject(
    approval_id: str = typer.Argument(..., help="The request's id (apr_...)."),
    reason: str = typer.Option(..., "--reason", help="Why; the client reads it in the 403."),
    by: str = typer.Option("", "--by", help="Who rejects (default: your user name)."),
    as_json: bool = JSON,
) -> None:
    """Reject a request: subscribes to the host keep answering 403 with the reason."""
    decided = run(lambda rt: rt.approvals.reject(shell(by), approval_id, reason=reason))
    _decided(decided, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(approvals, name="approvals")
