"""The retry policy: after a failed try, retry at a time or give up. Pure; nothing here sleeps.

Try 1 goes at once; try n+1 follows try n after `base * factor**(n-1)` seconds with `±jitter`
(30 s, 2 min, 8 min, 32 min by default), never more than `max_delay_seconds`. A `Retry-After` on
429 or 503 replaces the backoff, capped. After `max_attempts` tries the policy gives up; a 410
Gone gives up at once and Stops the record. The clock's value and the random source are passed
in, so tests decide both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

RETRY_AFTER_STATUSES = frozenset({429, 503})
GONE = 410
GONE_REASON = "410 Gone"

Random = Callable[[], float]
"""Returns a float in [0, 1), like `random.random`."""


@dataclass(frozen=True)
class Policy:
    """How many tries, and how far apart."""

    max_attempts: int = 5
    base_seconds: float = 30.0
    factor: float = 4.0
    jitter: float = 0.2
    retry_after_cap_seconds: float = 3600.0
    max_delay_seconds: float = 7 * 24 * 3600.0

    def backoff(self, attempt: int) -> float:
        """Seconds between try `attempt` and the next one, before jitter."""
        exponent = min(attempt - 1, 64)
        return float(min(self.base_seconds * self.factor**exponent, self.max_delay_seconds))


@dataclass(frozen=True)
class Decision:
    """What to do after a try: `retry_at` a time, or give up when it is None.

    `stop_reason` is set when the record must be Stopped at once for this answer (410 Gone),
    whatever tries are left."""

    retry_at: datetime | None
    stop_reason: str | None = None

    @property
    def give_up(self) -> bool:
        return self.retry_at is None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks for (delta seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


def delay(
    policy: Policy,
    attempt: int,
    *,
    status: int | None,
    retry_after: str | None,
    now: datetime,
    random: Random,
) -> float:
    """Seconds to wait after failed try `attempt` (1-based) before the next one."""
    if status in RETRY_AFTER_STATUSES:
        asked = retry_after_seconds(retry_after, now)
        if asked is not None:
            return min(asked, policy.retry_after_cap_seconds)
    spread = policy.jitter * (2.0 * random() - 1.0)
    return policy.backoff(attempt) * (1.0 + spread)


def decide(
    policy: Policy,
    attempt: int,
    *,
    succeeded: bool,
    status: int | None = None,
    retry_after: str | None = None,
    now: datetime,
    random: Random,
) -> Decision:
    """After try `attempt` (1-based): done (success or out of tries) or retry at a time.

    A 410 Gone gives up at once and Stops the record (Standard Webhooks: the receiver says the
    endpoint is gone for good)."""
    if not succeeded and status == GONE:
        return Decision(None, GONE_REASON)
    if succeeded or attempt >= policy.max_attempts:
        return Decision(None)
    wait = delay(policy, attempt, status=status, retry_after=retry_after, now=now, random=random)
    return Decision(now + timedelta(seconds=wait))
