"""Write the command reference of docs/reference/cli.md from the Typer app (`make cli-docs`).

Everything between the `<!-- generated:start -->` and `<!-- generated:end -->` markers is the
app's commands, arguments and options as `--help` knows them; the prose around them is kept.
A test fails when the committed file differs from what this script writes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from hookyard.cli.main import app

DEFAULT_TARGET = Path(__file__).resolve().parent.parent / "docs" / "reference" / "cli.md"
START = "<!-- generated:start -->"
END = "<!-- generated:end -->"


# Typer vendors its own copy of click, so commands and parameters are told apart by what they
# have, not by click's classes.
Command = Any


def _is_option(param: Any) -> bool:
    return bool(param.param_type_name == "option")


def _shown(params: list[Any]) -> list[Any]:
    """The parameters `--help` shows (not a hidden option, such as `api --fd`)."""
    return [param for param in params if not getattr(param, "hidden", False)]


def commands(group: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command under `group`, in the order `--help` lists them."""
    for name, command in group.commands.items():
        if command.hidden:
            continue
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def _option(param: Any) -> str:
    names = ", ".join(f"`{name}`" for name in [*param.opts, *param.secondary_opts])
    if not param.is_flag:
        names += f" {param.metavar or param.name.upper() if param.name else 'VALUE'}".replace(
            "<str>", "TEXT"
        )
    extras = []
    if param.required:
        extras.append("required")
    elif param.show_default and param.default not in (None, False, ""):
        extras.append(f"default: `{param.default}`")
    if param.envvar:
        extras.append(f"env: `{param.envvar}`")
    help_text = " ".join((param.help or "").split())
    suffix = f" ({'; '.join(extras)})" if extras else ""
    return f"- {names}: {help_text}{suffix}"


def _usage(path: tuple[str, ...], command: Command) -> str:
    parts = ["hookyard", *path]
    for param in _shown(command.params):
        if not _is_option(param):
            shown = (param.name or "ARG").upper()
            parts.append(shown if param.required else f"[{shown}]")
    if any(_is_option(p) for p in _shown(command.params)):
        parts.append("[OPTIONS]")
    return " ".join(parts)


def section(path: tuple[str, ...], command: Command) -> str:
    """The Markdown of one command."""
    lines = [f"### `hookyard {' '.join(path)}`", "", " ".join((command.help or "").split()), ""]
    lines += ["```sh", _usage(path, command), "```", ""]
    arguments = [p for p in command.params if not _is_option(p)]
    options = [p for p in _shown(command.params) if _is_option(p)]
    for argument in arguments:
        text = " ".join((getattr(argument, "help", None) or "").split())
        lines.append(f"- `{(argument.name or '').upper()}`: {text}".rstrip(": "))
    lines += [_option(option) for option in options]
    return "\n".join(lines).rstrip() + "\n"


def generated() -> str:
    group = typer.main.get_command(app)
    top = [p for p in group.params if _is_option(p)]
    head = ["Options of `hookyard` itself, before the command:", ""]
    head += [_option(option) for option in top]
    parts = ["\n".join(head) + "\n"]
    parts += [section(path, command) for path, command in commands(group)]
    return "\n".join(parts)


def render(current: str) -> str:
    """`current` with the generated part replaced."""
    before, rest = current.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n\n{generated()}\n{END}{after}"


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else DEFAULT_TARGET
    target.write_text(render(target.read_text()))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
