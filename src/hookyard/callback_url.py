"""The shape a callback URL must have before Hookyard sends anything to it (pure, no I/O).

Where it may point is the network guard's business (`hookyard.delivery.netguard`), checked when the
challenge or a delivery connects; this module only checks the text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from yarl import URL

from hookyard import errors

MAX_LENGTH = 2048
FIELD = "url"


def validate_callback_url(url: object, require_https: bool) -> str:
    """`url` unchanged when it is a usable callback URL, else InvalidInput saying what to fix.

    It must be an absolute http(s) URL of at most 2048 characters, with a host, without user-info,
    and https when `require_https` is set (HOOKYARD_REQUIRE_HTTPS).
    """
    if not isinstance(url, str) or not url:
        raise _invalid("must be an absolute https:// URL")
    if len(url) > MAX_LENGTH:
        raise _invalid(f"must be at most {MAX_LENGTH} characters (it has {len(url)})")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise _invalid("must not contain spaces or control characters; percent-encode them")
    parsed = _parse(url)
    _check_scheme(parsed, require_https)
    if "@" in urlsplit(url).netloc or parsed.raw_user is not None:
        raise _invalid("must not contain a user name or password (user-info); remove the 'user@'")
    if not parsed.raw_host:
        raise _invalid("must name a host, as in https://hooks.example.com/path")
    return url


def _parse(url: str) -> URL:
    try:
        parsed = URL(url)
        _ = parsed.port  # an invalid port only fails when read
    except (ValueError, TypeError) as exc:
        raise _invalid(f"is not a valid URL ({exc})") from exc
    return parsed


def _check_scheme(parsed: URL, require_https: bool) -> None:
    scheme = parsed.scheme.lower()
    if not parsed.absolute or scheme not in ("http", "https"):
        raise _invalid("must be an absolute http:// or https:// URL")
    if require_https and scheme != "https":
        raise _invalid("must use https:// (this server requires HTTPS callbacks)")


def _invalid(message: str) -> errors.InvalidInput:
    return errors.InvalidInput.field(FIELD, message)
