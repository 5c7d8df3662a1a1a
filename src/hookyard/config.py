"""Hookyard's settings: one frozen value, loaded once by the CLI from `HOOKYARD_*` variables.

Every setting is listed with its default in `docs/reference/config.md`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("./.hookyard")
HOST_PATTERN = re.compile(r"[a-z0-9*][a-z0-9*.-]{0,252}")
# A CSP source that names an origin: scheme, host (or `*.` and a domain, or an IPv6 literal)
# and an optional port, nothing after it (no path, no `;` or `,` that would end the directive).
ORIGIN = re.compile(
    r"https?://(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", re.IGNORECASE
)
FRAME_KEYWORDS = ("'self'", "'none'")


class Settings(BaseSettings):
    """All of Hookyard's configuration."""

    model_config = SettingsConfigDict(env_prefix="HOOKYARD_", frozen=True, extra="forbid")

    data_dir: Path = DEFAULT_DATA_DIR
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "console", "json"] = "auto"
    database_url: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    token_ttl_seconds: int = Field(3600, ge=60, le=86400)
    token_failures_per_client: int = Field(10, ge=1)
    token_failures_per_address: int = Field(30, ge=1)
    token_failure_window_seconds: float = Field(300.0, gt=0)
    token_failure_wait_seconds: float = Field(1.0, gt=0)
    auth_cache_seconds: float = Field(1.0, ge=0, le=60)
    console_session_minutes: int = Field(60, ge=1, le=24 * 60)
    console_frame_ancestors: str = "'none'"

    allow_private_callbacks: bool = False
    allowed_callback_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    require_https: bool = False
    approval_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    approval_contact: str = "the operator of this Hookyard server"

    challenge_timeout_seconds: float = Field(10.0, gt=0, le=60)
    delivery_timeout_seconds: float = Field(10.0, gt=0, le=60)
    max_attempts: int = Field(5, ge=1, le=20)
    retry_base_seconds: float = Field(30.0, ge=0)
    retry_factor: float = Field(4.0, ge=1)
    retry_jitter: float = Field(0.2, ge=0, lt=1)
    retry_after_cap_seconds: float = Field(3600.0, ge=0)
    lease_seconds: float = Field(60.0, gt=0)
    per_host_concurrency: int = Field(8, ge=1)
    global_concurrency: int = Field(256, ge=1)
    claim_batch: int = Field(100, ge=1, le=1000)
    poll_interval_seconds: float = Field(1.0, gt=0)
    shutdown_grace_seconds: float = Field(15.0, ge=0)
    probe_interval_seconds: float = Field(3600.0, ge=1)
    probe_window_hours: float = Field(72.0, ge=0)
    held_cap_per_record: int = Field(10_000, ge=0)
    held_retention_hours: float = Field(72.0, ge=0)

    retention_days: float = Field(30.0, gt=0)
    retention_failed_days: float = Field(90.0, gt=0)
    prune_interval_seconds: float = Field(60.0, ge=0)
    prune_batch: int = Field(500, ge=1, le=10_000)

    metrics_token: str = ""
    metrics_top_hosts: int = Field(10, ge=1, le=1000)
    ready_worker_seconds: float = Field(30.0, gt=0)
    heartbeat_seconds: float = Field(5.0, gt=0)

    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_header_bytes: int = Field(16 * 1024, ge=1024)
    max_json_depth: int = Field(32, ge=2)
    max_event_types: int = Field(64, ge=1)
    max_job_ids: int = Field(1000, ge=1)
    max_subscriptions_per_client: int = Field(10_000, ge=1)
    max_batch_events: int = Field(1000, ge=1)
    secret_overlap_hours: float = Field(24.0, ge=0)
    secret_key: str = ""
    secret_key_file: Path | None = None
    jwt_keys: str = ""
    jwt_keys_file: Path | None = None
    catalog_file: Path | None = None

    proxy_headers: bool = True
    forwarded_allow_ips: str = "127.0.0.1"
    api_processes: int = Field(1, ge=1, le=64)

    @field_validator("allowed_callback_networks", "approval_hosts", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        """Take a JSON list, or values separated by commas or spaces."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in re.split(r"[,\s]+", text) if part]
        return value

    @field_validator("console_frame_ancestors", mode="after")
    @classmethod
    def _check_frame_ancestors(cls, value: str) -> str:
        """The console's CSP `frame-ancestors` sources: origins and `'self'`, or `'none'` alone,
        separated by spaces; kept as one space-separated line."""
        sources = value.split()
        for source in sources:
            if source not in FRAME_KEYWORDS and not ORIGIN.fullmatch(source):
                raise ValueError(
                    f"{source!r} is not a frame ancestor; use origins such as "
                    "https://app.example.com, 'self', or 'none' (quotes included), "
                    "separated by spaces"
                )
        if not sources or ("'none'" in sources and len(sources) > 1):
            raise ValueError("use 'none' alone, or origins and 'self' separated by spaces")
        return " ".join(sources)

    @model_validator(mode="after")
    def _failed_kept_at_least_as_long(self) -> Settings:
        if self.retention_failed_days < self.retention_days:
            raise ValueError(
                "HOOKYARD_RETENTION_FAILED_DAYS must be at least HOOKYARD_RETENTION_DAYS"
                f" ({self.retention_failed_days} < {self.retention_days}): failed and held"
                " deliveries are kept at least as long as succeeded ones"
            )
        return self

    @field_validator("approval_hosts", mode="after")
    @classmethod
    def _check_host_patterns(cls, value: list[str]) -> list[str]:
        """Host names with `*` wildcards, such as `*.azurewebsites.net`, kept lower-case."""
        patterns = [pattern.strip().lower() for pattern in value]
        for pattern in patterns:
            if not HOST_PATTERN.fullmatch(pattern):
                raise ValueError(
                    f"{pattern!r} is not a host pattern; use names such as *.azurewebsites.net"
                )
        return patterns

    @model_validator(mode="after")
    def _one_source_per_key_kind(self) -> Settings:
        """A key ring comes from the variable or from the file, never both."""
        if self.secret_key.strip() and self.secret_key_file is not None:
            raise ValueError("set HOOKYARD_SECRET_KEY or HOOKYARD_SECRET_KEY_FILE, not both")
        if self.jwt_keys.strip() and self.jwt_keys_file is not None:
            raise ValueError("set HOOKYARD_JWT_KEYS or HOOKYARD_JWT_KEYS_FILE, not both")
        return self

    def model_post_init(self, context: Any, /) -> None:
        if not self.database_url:
            url = f"sqlite+aiosqlite:///{self.data_dir / 'hookyard.db'}"
            object.__setattr__(self, "database_url", url)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
