"""docs/reference/cli.md's command reference is what the Typer app defines (`make cli-docs`)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reference" / "cli.md"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_docs", ROOT / "scripts" / "cli_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_reference_is_the_generated_one() -> None:
    current = DOC.read_text()
    assert _script().render(current) == current, (
        "docs/reference/cli.md differs from the Typer app; run `make cli-docs` and commit it"
    )


def test_every_command_is_in_the_reference() -> None:
    import typer

    from hookyard.cli.main import app

    documented = set(re.findall(r"^### `hookyard ([a-z -]+)`$", DOC.read_text(), re.MULTILINE))
    group = typer.main.get_command(app)
    listed = {" ".join(path) for path, _ in _script().commands(group)}
    assert listed == documented
    assert {"api", "worker", "events publish", "keys rotate-jwt"} <= documented


def test_flags_are_shown_without_a_value() -> None:
    text = DOC.read_text()
    assert "- `--json`: Print JSON for scripts." in text
    assert "<bool>" not in text
