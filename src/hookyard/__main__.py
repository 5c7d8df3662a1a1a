"""`python -m hookyard`: the `hookyard` command (how `hookyard api --processes N` starts its API
processes, with the interpreter that runs it)."""

from __future__ import annotations

from hookyard.cli.launch import main

if __name__ == "__main__":
    main()
