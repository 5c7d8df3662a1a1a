"""Tables on the terminal that never cut a value: Rich folds a long cell onto more lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def cell(value: Any) -> str:
    """A value as a table shows it: nothing for None, lists joined by spaces."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return str(value)


def show(columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *, empty: str = "") -> None:
    """Print `rows` under `columns`; every cell folds instead of being cut with an ellipsis."""
    console = Console()
    if not rows and empty:
        console.print(empty)
        return
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell(row.get(column)) for column in columns))
    console.print(table)
