"""The banner `hookyard demo` prints: the demo tenant and client, whether a receiver on
127.0.0.1 may subscribe, then the walk-through (the README's, with this server's address)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hookyard import walkthrough


def program() -> str:
    """`hookyard` as this installation can run it from any directory."""
    beside = Path(sys.executable).with_name("hookyard")
    return "hookyard" if shutil.which("hookyard") == str(beside) else str(beside)


@dataclass(frozen=True)
class Demo:
    """What the banner names."""

    base_url: str
    company_id: str
    units: Sequence[tuple[str, str]]
    client_id: str
    client_secret: str
    scopes: Sequence[str]
    reused_company: bool
    reused_client: bool
    private_callbacks: bool
    saved_to: str


def _header(demo: Demo) -> list[str]:
    if demo.reused_company:
        first = f"Reusing the demo tenant {demo.company_id} (found in the database)."
    else:
        first = f"Seeded a new demo tenant {demo.company_id}."
    client = (
        f"Reusing the demo client saved in {demo.saved_to}."
        if demo.reused_client
        else f"Created the demo client; its id and secret are saved in {demo.saved_to} (mode 0600)."
    )
    units = ", ".join(f"{code} {unit_id}" for unit_id, code in demo.units)
    return [
        f"Hookyard demo: serving on {demo.base_url} (Ctrl+C stops it)",
        "",
        first,
        client,
        "",
        f"  company:        {demo.company_id}",
        f"  business units: {units}",
        f"  client_id:      {demo.client_id}",
        f"  client_secret:  {demo.client_secret}",
        f"  scopes:         {' '.join(demo.scopes)}",
        "",
    ]


def _callbacks(demo: Demo) -> list[str]:
    if demo.private_callbacks:
        return [
            "Private callbacks are allowed for this demo (HOOKYARD_ALLOW_PRIVATE_CALLBACKS=true),",
            "so a receiver on 127.0.0.1 can subscribe. Never set this in production.",
            "",
        ]
    return [
        "Private callbacks are NOT allowed: a receiver on 127.0.0.1 will be refused.",
        "Start with HOOKYARD_ALLOW_PRIVATE_CALLBACKS=true (`make run` does) to subscribe one.",
        "",
    ]


def _links(demo: Demo) -> list[str]:
    return [
        f"Start here: {demo.base_url}/ (API reference at {demo.base_url}/docs)",
        "",
        "Walk-through (the README's; paste each command into a shell in this directory):",
        "",
    ]


def render(demo: Demo) -> str:
    """The whole banner."""
    steps = walkthrough.render(base_url=demo.base_url, demo_file=demo.saved_to, program=program())
    head = [*_header(demo), *_callbacks(demo), *_links(demo)]
    return "\n".join(head) + "\n" + walkthrough.for_terminal(steps)
