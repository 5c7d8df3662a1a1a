"""What a subscription request must look like (pure, no I/O): the callback url, the event types,
the filter values (HeavyJob `jobIds`), the secret key and the partition (a business unit id).

Each check returns the value to store or raises InvalidInput naming the field and what to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from hookyard import errors, ids, signing
from hookyard.callback_url import validate_callback_url
from hookyard.catalog import Product

URL = "url"
EVENT_TYPES = "eventTypes"
KEY_FIELD = "secretKey"


def _invalid(name: str, message: str) -> errors.InvalidInput:
    return errors.InvalidInput.field(name, message)


def callback_url(url: str, *, require_https: bool) -> str:
    """`url` unchanged when it is a usable callback url: absolute http(s) (https only when
    `require_https`), at most 2048 characters, a host, no user-info, no spaces."""
    return validate_callback_url(url, require_https)


def secret_key(value: str) -> str:
    """The key to store: standard base64 of 16 to 64 bytes, without any `whsec_` prefix."""
    if not value:
        raise _invalid(
            KEY_FIELD, "must not be empty; omit it (or send null) to keep or generate a key"
        )
    try:
        return signing.normalise_secret(value)
    except signing.InvalidSecret as exc:
        raise _invalid(
            KEY_FIELD,
            f"{exc}: give standard base64 of {signing.MIN_KEY_BYTES} to "
            f"{signing.MAX_KEY_BYTES} random bytes (an optional 'whsec_' prefix is accepted), "
            "or omit it to have one generated",
        ) from exc


def _repeated(values: Sequence[str]) -> list[str]:
    return [value for value, count in Counter(values).items() if count > 1]


def event_types(product: Product, names: Sequence[str], *, limit: int) -> tuple[str, ...]:
    """The event types, each one of `product`'s, named once, at least one and at most `limit`."""
    valid = ", ".join(product.event_types)
    if not names:
        raise _invalid(EVENT_TYPES, f"name at least one event type: {valid}")
    if len(names) > limit:
        raise _invalid(EVENT_TYPES, f"name at most {limit} event types (it has {len(names)})")
    foreign = [name for name in names if name not in product.event_types]
    if foreign:
        listed = ", ".join(repr(name) for name in dict.fromkeys(foreign))
        raise _invalid(
            EVENT_TYPES, f"not {product.name} event types: {listed}; use any of: {valid}"
        )
    repeated = _repeated(names)
    if repeated:
        raise _invalid(
            EVENT_TYPES, f"named more than once: {', '.join(repeated)}; name each event type once"
        )
    return tuple(names)


def filter_values(
    product: Product, values: Sequence[str] | None, *, limit: int
) -> tuple[str | None, ...]:
    """The filter values (such as HeavyJob's `jobIds`) as lower-case GUIDs, or `(None,)` for
    "all" when they are absent; InvalidInput for an empty list, non-GUIDs or repeats."""
    if product.filter is None:
        if values is not None:
            raise _invalid("body", f"{product.name} subscriptions take no filter values")
        return (None,)
    if values is None:
        return (None,)
    name = product.filter.body_field
    if not values:
        raise _invalid(name, "give at least one id, or omit it (or send null) for all")
    if len(values) > limit:
        raise _invalid(name, f"give at most {limit} ids (it has {len(values)})")
    bad = [value for value in values if not ids.is_guid(value)]
    if bad:
        listed = ", ".join(repr(value) for value in bad[:5])
        raise _invalid(name, f"not GUIDs: {listed}; each id must be a GUID")
    normalised = [ids.normalise_guid(value) for value in values]
    repeated = _repeated(normalised)
    if repeated:
        raise _invalid(name, f"named more than once: {', '.join(repeated)}; name each id once")
    return tuple(normalised)


def guid(name: str, value: str) -> str:
    """A GUID path or query value in its lower-case form."""
    if not ids.is_guid(value):
        raise _invalid(name, f"{value[:64]!r} is not a GUID")
    return ids.normalise_guid(value)
