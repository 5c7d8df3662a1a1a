"""Logging: structlog for Hookyard's own loggers and the stdlib's, on stderr.

Human-readable lines on a terminal, JSON lines elsewhere (or as `HOOKYARD_LOG_FORMAT` says).
Fields passed as `extra=` become keys of the line (one line per delivery attempt carries
`delivery_id`, `attempt`, `status`, `duration_ms`, `outcome`)."""

from __future__ import annotations

import logging
import sys

import orjson
import structlog

# A library whose INFO lines say nothing an operator acts on ("Context impl", "Will assume
# transactional DDL"); uvicorn's start and stop lines stay (tests and operators read them).
QUIET = ("alembic",)
# A library whose DEBUG lines print the values it is handed: aiosqlite logs every call with its
# arguments (each statement's parameters: session hashes, CSRF tokens, sealed secrets). At
# HOOKYARD_LOG_LEVEL=DEBUG it stays at INFO. (SQLAlchemy's own logger stays at the WARNING it
# sets itself, and its engines hide parameters: `hookyard.store.database`.)
NO_DEBUG = ("aiosqlite",)


def _dumps(data: object, **_options: object) -> str:
    return orjson.dumps(data, default=str).decode()


def wants_json(log_format: str) -> bool:
    """Whether lines should be JSON: asked for, or `auto` with stderr not a terminal."""
    if log_format == "auto":
        return not sys.stderr.isatty()
    return log_format == "json"


def _renderer(as_json: bool) -> list[structlog.types.Processor]:
    if as_json:
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ]
    return [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]


def configure(level: str = "INFO", log_format: str = "auto") -> None:
    """Lines with a timestamp, the level and the logger's name, as `log_format` says."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(wants_json(log_format)),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in NO_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
