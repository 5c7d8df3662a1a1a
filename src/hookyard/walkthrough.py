"""The walk-through: one text, kept in `walkthrough.md` beside this module.

README.md holds it word for word between its `walkthrough:start/end` markers (a test checks),
`hookyard demo` prints it and `GET /walkthrough` serves it, each with this installation's base
URL, demo file and `hookyard` program put in place of the README's.
"""

from __future__ import annotations

import re
from importlib import resources

README_BASE_URL = "http://127.0.0.1:8000"
README_DEMO_FILE = ".hookyard/demo.json"
README_PROGRAM = ".venv/bin/hookyard"
FENCE = re.compile(r"^```[a-z]*$")


def markdown() -> str:
    """The walk-through exactly as README.md shows it."""
    return resources.files(__package__).joinpath("walkthrough.md").read_text("utf-8")


def render(*, base_url: str, demo_file: str, program: str) -> str:
    """The walk-through as Markdown for this installation."""
    return (
        markdown()
        .replace(README_BASE_URL, base_url.rstrip("/"))
        .replace(README_DEMO_FILE, demo_file)
        .replace(README_PROGRAM, program)
    )


def for_terminal(text: str) -> str:
    """Markdown made plain for a terminal: code fences dropped, commands indented."""
    lines: list[str] = []
    in_code = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        lines.append(f"    {line}" if in_code and line else line)
    return "\n".join(lines).strip("\n") + "\n"
