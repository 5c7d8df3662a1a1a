"""Hookyard's settings: one frozen value, loaded once by the CLI from `HOOKYARD_*` variables.

Every setting is listed with its default in `docs/reference/config.md`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path("./.hookyard")
HOST_PATTERN = re.compile(r"[a-z0-9*][a-z0-9*.-]{0,252}")


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
    auth_cache_seconds: float = Field(1.0, ge=0, le=60)

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

    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_header_bytes: int = Field(16 * 1024, ge=1024)
    max_json_depth: int = Field(32, ge=2)
    max_event_types: int = Field(64, ge=1)
    max_job_ids: int = Field(1000, ge=1)
    max_subscriptions_per_client: int = Field(10_000, ge=1)
    max_batch_events: int = Field(1000, ge=1)
    secret_overlap_hours: float = Field(24.0, ge=0)
    secret_key: str = ""
    catalog_file: Path | None = None

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

    def model_post_init(self, context: Any, /) -> None:
        if not self.database_url:
            url = f"sqlite+aiosqlite:///{self.data_dir / 'hookyard.db'}"
            object.__setattr__(self, "database_url", url)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
