"""The challenge: Hookyard checks a callback URL with `GET <url>?challenge=<value>` before it
accepts a subscription; the callback proves itself by answering 200 with exactly that value."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

PARAMETER = "challenge"
CONTENT_TYPE = "text/plain; charset=utf-8"


def challenge_response(query: Mapping[str, str] | str) -> str | None:
    """The body to answer a challenge GET with, or None when `query` holds no challenge.

    `query` is the request's query parameters as a mapping, or the raw query string.
    Answer with status 200, `text/plain`, and exactly the returned value as the body.
    """
    if isinstance(query, str):
        values = parse_qs(query, keep_blank_values=True).get(PARAMETER)
        value = values[0] if values else None
    else:
        value = query.get(PARAMETER)
    return value or None
