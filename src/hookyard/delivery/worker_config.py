"""How much a worker takes on at once and how it waits, and its retry policy, from settings."""

from __future__ import annotations

from dataclasses import dataclass

from hookyard import retry
from hookyard.config import Settings


@dataclass(frozen=True)
class WorkerConfig:
    """How much a worker takes on at once, and how it waits."""

    claim_batch: int = 100
    lease_seconds: float = 60.0
    per_host_concurrency: int = 8
    global_concurrency: int = 256
    poll_interval_seconds: float = 1.0
    shutdown_grace_seconds: float = 15.0
    heartbeat_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            claim_batch=settings.claim_batch,
            lease_seconds=settings.lease_seconds,
            per_host_concurrency=settings.per_host_concurrency,
            global_concurrency=settings.global_concurrency,
            poll_interval_seconds=settings.poll_interval_seconds,
            shutdown_grace_seconds=settings.shutdown_grace_seconds,
            heartbeat_seconds=settings.heartbeat_seconds,
        )

    @property
    def host_backlog(self) -> int:
        """Deliveries of one host in hand at which the host is left out of claims."""
        return 2 * self.per_host_concurrency

    @property
    def refill_at(self) -> int:
        """Deliveries of a full host in hand at which the claimer is woken to refill it."""
        return self.host_backlog - max(1, self.per_host_concurrency // 2)

    @property
    def claim_threshold(self) -> int:
        """Free capacity worth a claim."""
        return max(1, min(self.claim_batch, self.global_concurrency) // 4)


def policy_from_settings(settings: Settings) -> retry.Policy:
    return retry.Policy(
        max_attempts=settings.max_attempts,
        base_seconds=settings.retry_base_seconds,
        factor=settings.retry_factor,
        jitter=settings.retry_jitter,
        retry_after_cap_seconds=settings.retry_after_cap_seconds,
    )
