"""Callback hosts that need the operator's approval (`HOOKYARD_APPROVAL_HOSTS`).

A subscribe to a url whose host matches one of the patterns (such as `*.azurewebsites.net`) is
decided on the url's text alone, before any DNS lookup or challenge: with no approval it records a
request (one per client and host) and answers `ApprovalRequired` saying who to ask; once the
operator approves the request, the client's next POST runs the challenge as usual; a rejected
request keeps answering `ApprovalRequired` with the operator's reason.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Awaitable, Callable, Sequence

from yarl import URL

from hookyard import clock, errors, ids, models
from hookyard.services.access import Access, Actor
from hookyard.store import Store
from hookyard.store.subscriptions import Owner

log = logging.getLogger("hookyard.approvals")
PENDING = models.ApprovalStatus.PENDING
APPROVED = models.ApprovalStatus.APPROVED
REJECTED = models.ApprovalStatus.REJECTED
Listener = Callable[[models.Approval], Awaitable[None]]
MAX_REASON = 500
MAX_DECIDER = 200


def host_of(url: str) -> str:
    """The url's host as the patterns see it: lower-case, IDNA-encoded, no trailing dot."""
    return (URL(url).raw_host or "").lower().rstrip(".")


def matches(host: str, patterns: Sequence[str]) -> bool:
    """Whether `host` matches one of the `*`-wildcard patterns."""
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in patterns)


class Approvals:
    """The approval queue: the gate subscribe passes through, and the operator's decisions."""

    def __init__(
        self,
        store: Store,
        patterns: Sequence[str],
        *,
        contact: str = "the operator of this Hookyard server",
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._patterns = tuple(patterns)
        self._contact = contact
        self._now = now
        self._listeners: list[Listener] = []

    def on_requested(self, listener: Listener) -> None:
        """Call `listener` with each new request (once per client and host)."""
        self._listeners.append(listener)

    def needs_approval(self, url: str) -> bool:
        return bool(self._patterns) and matches(host_of(url), self._patterns)

    async def gate(self, owner: Owner, url: str) -> None:
        """Pass when the url's host needs no approval or the owner's client has it; otherwise
        record the request and raise ApprovalRequired saying what to do."""
        if not self.needs_approval(url):
            return
        host = host_of(url)
        found = await self._store.approvals.of_host(owner.client_id, host)
        if found is not None and found.status == APPROVED:
            return
        if found is not None and found.status == REJECTED:
            raise errors.ApprovalRequired(self._rejected(found))
        approval, new = await self._record(owner, host, url)
        if new:
            await self._announce(approval)
        raise errors.ApprovalRequired(self._pending(approval))

    async def _record(self, owner: Owner, host: str, url: str) -> tuple[models.Approval, bool]:
        now = self._now()
        request = models.Approval(
            id=ids.prefixed(ids.APPROVAL),
            client_id=owner.client_id,
            company_id=owner.company_id,
            product=owner.product,
            host=host,
            callback_url=url,
            status=PENDING,
            requested_at=now,
            last_requested_at=now,
        )
        return await self._store.approvals.request(request)

    async def _announce(self, approval: models.Approval) -> None:
        log.info(
            "callback host approval requested: %s asks for %s (%s); approve with "
            "`hookyard approvals approve %s`",
            approval.client_id,
            approval.host,
            approval.id,
            approval.id,
            extra={"approval_id": approval.id, "client_id": approval.client_id},
        )
        for listener in self._listeners:
            await listener(approval)

    def _pending(self, approval: models.Approval) -> str:
        return (
            f"Callbacks on {approval.host} need the operator's approval before Hookyard sends "
            f"anything there; request {approval.id} is pending. Ask {self._contact} to approve "
            "it, then send this request again. Nothing was stored."
        )

    def _rejected(self, approval: models.Approval) -> str:
        why = f": {approval.reason}" if approval.reason else ""
        return (
            f"Callbacks on {approval.host} were not approved (request {approval.id}, rejected "
            f"by {approval.decided_by}{why}). Use another callback host, or ask {self._contact} "
            "to reconsider. Nothing was stored."
        )

    async def listed(self, actor: Actor, status: str | None = None) -> list[models.Approval]:
        """Every request (oldest first), or those of one status: pending, approved, rejected.
        For the operator only."""
        Access.operator(actor, "The list of approval requests")
        return await self._store.approvals.listed(_status(status))

    async def approve(
        self, actor: Actor, approval_id: str, *, reason: str | None = None
    ) -> models.Approval:
        """Approve a request: the client's next subscribe to the host runs the challenge."""
        return await self._decide(actor, approval_id, APPROVED, reason)

    async def reject(
        self, actor: Actor, approval_id: str, *, reason: str | None = None
    ) -> models.Approval:
        """Reject a request: subscribes to the host keep answering 403 with `reason`."""
        return await self._decide(actor, approval_id, REJECTED, reason)

    async def _decide(
        self, actor: Actor, approval_id: str, status: models.ApprovalStatus, reason: str | None
    ) -> models.Approval:
        Access.operator(actor, "Deciding an approval request")
        by, reason = _decider(actor.name), _reason(reason)
        decided = await self._store.approvals.decide(
            approval_id, status, by=by, reason=reason, at=self._now()
        )
        if decided is None:
            raise _not_found(approval_id)
        log.info(
            "callback host %s for %s %s by %s (%s)",
            decided.host,
            decided.client_id,
            status.value,
            by,
            decided.id,
            extra={"approval_id": decided.id, "status": status.value},
        )
        return decided


def _status(text: str | None) -> models.ApprovalStatus | None:
    if text is None or text == "all":
        return None
    try:
        return models.ApprovalStatus(text)
    except ValueError:
        valid = ", ".join(s.value for s in models.ApprovalStatus)
        raise errors.InvalidInput.field("status", f"must be all, {valid}; not {text!r}") from None


def _decider(by: str) -> str:
    by = by.strip()
    if not by or len(by) > MAX_DECIDER:
        raise errors.InvalidInput.field("by", f"name who decides, in 1 to {MAX_DECIDER} characters")
    return by


def _reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > MAX_REASON:
        raise errors.InvalidInput.field(
            "reason", f"must be at most {MAX_REASON} characters (it has {len(reason)})"
        )
    return reason.strip()


def _not_found(approval_id: str) -> errors.NotFound:
    return errors.NotFound(
        f"There is no approval request {approval_id!r}; `hookyard approvals list` shows them."
    )
