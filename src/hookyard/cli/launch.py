"""The `hookyard` script's entry point. `pip install hookyard` is the receiver toolkit alone, so
the command first checks that the server's packages (`hookyard[server]`) are installed."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the `hookyard` command, or say in one line how to install what it needs."""
    try:
        from hookyard.cli.main import main as run
    except ModuleNotFoundError as exc:
        sys.stderr.write(
            f"error: the hookyard command needs the server's packages ({exc.name} is not "
            "installed); install them with: pip install 'hookyard[server]'\n"
        )
        sys.exit(1)
    run()
