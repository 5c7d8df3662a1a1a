"""Hookyard: a self-hosted, HCSS-compatible webhook platform.

`await hookyard.publish(product, event_type, company_id=..., fields={...})` publishes an event from
product code in the same process; it is `hookyard.publishing.publish`, loaded on first use, so
importing `hookyard` (as every layer does for `__version__`) loads nothing of the server.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "publish"]


def __getattr__(name: str) -> Any:
    if name == "publish":
        # Loaded by name at first use: the package root sits below every layer (they import
        # `__version__` from it), so it must not import the composition in `publishing`.
        return importlib.import_module("hookyard.publishing").publish
    raise AttributeError(f"module 'hookyard' has no attribute {name!r}")
