"""docs/reference/config.md lists every setting with its HOOKYARD_* variable and default."""

from __future__ import annotations

import re
from pathlib import Path

from hookyard.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "config.md"
NOT_SETTINGS = {"HOOKYARD_TEST_POSTGRES_URL"}


def _rows() -> dict[str, str]:
    rows = re.findall(r"^\| `(HOOKYARD_[A-Z_]+)` \| ([^|]+) \|", DOC.read_text(), re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def _shown(value: object) -> str | None:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{value}`"
    return None


def test_every_setting_is_documented_with_its_default() -> None:
    rows = _rows()
    for name, field in Settings.model_fields.items():
        variable = f"HOOKYARD_{name.upper()}"
        assert variable in rows, f"{variable} is missing from docs/reference/config.md"
        expected = _shown(field.default)
        if expected is not None:
            assert rows[variable] == expected, f"{variable}: the doc says {rows[variable]}"


def test_the_doc_names_no_setting_that_does_not_exist() -> None:
    known = {f"HOOKYARD_{name.upper()}" for name in Settings.model_fields}
    assert set(_rows()) - known - NOT_SETTINGS == set()
