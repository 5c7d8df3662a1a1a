"""Properties of the subscription rules, the challenge url and judgement, and the POST/PUT plan."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import catalog, errors, ids, models
from hookyard.delivery import prober
from hookyard.services import subscription_rules as rules
from hookyard.services.subscriptions import plan
from hookyard.store.subscriptions import Owner

CATALOG = catalog.load()
PRECON = CATALOG.products["precon"]
HEAVYJOB = CATALOG.products["heavyjob"]
NOW = datetime(2026, 11, 29, tzinfo=UTC)
DAY = timedelta(hours=24)

hosts = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
paths = st.from_regex(r"(/[A-Za-z0-9._~%-]{0,12}){0,4}", fullmatch=True)
queries = st.from_regex(
    r"(\?[a-z]{1,5}=[A-Za-z0-9]{0,8}(&[a-z]{1,5}=[A-Za-z0-9]{0,8}){0,3})?", fullmatch=True
)
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}"))
urls = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}{query}",
    st.sampled_from(["http", "https"]),
    hosts,
    ports,
    paths,
    queries,
)


@given(urls)
def test_absolute_http_urls_pass_unchanged(url: str) -> None:
    assert rules.callback_url(url, require_https=False) == url


@given(urls, st.from_regex(r"[a-z0-9]{1,8}(:[a-z0-9]{0,8})?", fullmatch=True))
def test_user_info_is_always_refused(url: str, user: str) -> None:
    scheme, rest = url.split("://", 1)
    with pytest.raises(errors.InvalidInput) as caught:
        rules.callback_url(f"{scheme}://{user}@{rest}", require_https=False)
    assert "user" in caught.value.errors["url"][0]


@given(urls)
def test_https_only_refuses_http(url: str) -> None:
    if url.startswith("http://"):
        with pytest.raises(errors.InvalidInput):
            rules.callback_url(url, require_https=True)
    else:
        assert rules.callback_url(url, require_https=True) == url


@given(st.text(max_size=300))
def test_any_text_is_a_url_or_a_clear_error(text: str) -> None:
    try:
        checked = rules.callback_url(text, require_https=False)
    except errors.InvalidInput as exc:
        messages = exc.errors["url"]
        assert messages
    else:
        assert checked == text


@given(st.integers(2000, 5000))
def test_urls_longer_than_2048_characters_are_refused(length: int) -> None:
    url = "https://e.com/" + "a" * (length - len("https://e.com/"))
    if length <= 2048:
        assert rules.callback_url(url, require_https=False) == url
    else:
        with pytest.raises(errors.InvalidInput, match="2048"):
            rules.callback_url(url, require_https=False)


@given(st.binary(min_size=16, max_size=64), st.booleans())
def test_keys_of_16_to_64_bytes_are_taken_without_the_prefix(key: bytes, prefixed: bool) -> None:
    text = base64.b64encode(key).decode()
    assert rules.secret_key(("whsec_" if prefixed else "") + text) == text


@given(st.one_of(st.binary(min_size=1, max_size=15), st.binary(min_size=65, max_size=200)))
def test_keys_of_other_lengths_are_refused(key: bytes) -> None:
    with pytest.raises(errors.InvalidInput, match=f"not {len(key)}"):
        rules.secret_key(base64.b64encode(key).decode())


@given(st.text(max_size=120))
def test_any_text_is_a_key_or_a_clear_error(text: str) -> None:
    try:
        value = rules.secret_key(text)
    except errors.InvalidInput as exc:
        message = exc.errors["secretKey"][0]
        assert "base64" in message or "empty" in message
    else:
        assert 16 <= len(base64.b64decode(value, validate=True)) <= 64


@given(st.permutations(list(PRECON.event_types)), st.integers(1, 4))
def test_any_set_of_the_products_types_passes(names: list[str], size: int) -> None:
    assert rules.event_types(PRECON, names[:size], limit=64) == tuple(names[:size])


@given(st.lists(st.sampled_from(list(PRECON.event_types)), min_size=2, max_size=8))
def test_a_repeated_type_is_named(names: list[str]) -> None:
    repeated = {name for name in names if names.count(name) > 1}
    if not repeated:
        return
    with pytest.raises(errors.InvalidInput) as caught:
        rules.event_types(PRECON, names, limit=64)
    assert all(name in caught.value.detail for name in repeated)


@given(st.lists(st.uuids().map(str), min_size=1, max_size=10, unique=True))
def test_job_ids_are_normalised_guids(jobs: list[str]) -> None:
    assert rules.filter_values(HEAVYJOB, [j.upper() for j in jobs], limit=10) == tuple(jobs)
    assert rules.filter_values(HEAVYJOB, None, limit=10) == (None,)


@given(
    urls,
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
        min_size=32,
        max_size=64,
    ),
)
def test_the_challenge_is_merged_into_the_query(url: str, value: str) -> None:
    merged = prober.challenge_url(url, value)
    original = parse_qsl(urlsplit(url).query)
    assert parse_qsl(urlsplit(merged).query) == [*original, ("challenge", value)]
    assert merged.startswith(url.split("?")[0])


def test_challenge_values_are_long_url_safe_and_new() -> None:
    values = {prober.new_challenge() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value) >= 32
        assert set(value) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@given(st.text(alphabet=" \t\r\n", max_size=4), st.text(alphabet=" \t\r\n", max_size=4))
def test_whitespace_around_the_echo_is_ignored(before: str, after: str) -> None:
    value = prober.new_challenge()
    outcome = prober._judge(200, f"{before}{value}{after}".encode(), value, None)
    assert outcome.passed


@given(st.integers(100, 599).filter(lambda status: status != 200))
def test_only_200_passes(status: int) -> None:
    value = prober.new_challenge()
    outcome = prober._judge(status, value.encode(), value, None)
    assert not outcome.passed
    assert f"status {status}" in outcome.detail


OWNER = Owner("hyc_1", "heavyjob", "c1")
TYPES = list(HEAVYJOB.event_types)
statuses = st.sampled_from(list(models.SubscriptionStatus))
keys = st.tuples(st.sampled_from(TYPES), st.sampled_from([None, "j1", "j2"]))


def _existing(
    found: list[tuple[tuple[str, str | None], models.SubscriptionStatus]],
) -> list[models.Subscription]:
    unique = dict(found)
    return [
        models.Subscription(
            id=ids.guid(),
            product="heavyjob",
            company_id="c1",
            client_id="hyc_1",
            partition_value=None,
            filter_value=key[1],
            event_type=key[0],
            callback_url="https://e.com/",
            secret_key="old",
            status=status,
            date_created=NOW - DAY,
            status_changed_at=NOW - DAY,
            stop_reason=None,
        )
        for key, status in unique.items()
    ]


@given(
    st.lists(st.tuples(keys, statuses), max_size=9),
    st.lists(keys, min_size=1, max_size=9, unique=True),
    st.sampled_from([None, "old", "new"]),
    st.booleans(),
)
def test_the_plan_makes_the_wanted_records_active_with_one_key(
    found: list[tuple[tuple[str, str | None], models.SubscriptionStatus]],
    wanted: list[tuple[str, str | None]],
    supplied: str | None,
    replace: bool,
) -> None:
    existing = _existing(found)
    result = plan(
        OWNER,
        "https://e.com/",
        existing,
        wanted,
        supplied_secret=supplied,
        replace=replace,
        now=NOW,
        overlap=DAY,
    )
    changed = {record.id: record for record in result.changed}
    after = [changed.get(record.id, record) for record in existing] + result.added
    by_key = {(r.event_type, r.filter_value): r for r in after}
    assert len(by_key) == len(after)
    for key in wanted:
        assert by_key[key].status is models.SubscriptionStatus.ACTIVE
    for key, record in by_key.items():
        if key not in wanted:
            before = next(r for r in existing if (r.event_type, r.filter_value) == key)
            expected = before.status
            if replace:
                expected = models.SubscriptionStatus.DELETED
            elif before.status is models.SubscriptionStatus.STOPPED:
                expected = models.SubscriptionStatus.ACTIVE
            assert record.status is expected
    assert {r.secret_key for r in after} == {result.secret_key}
    if not existing:
        assert result.secret_key == (supplied or result.secret_key)
    elif supplied in (None, "old"):
        assert result.secret_key == "old"
        assert all(r.previous_secret_key is None for r in after)
    else:
        assert result.secret_key == "new"
        assert {(r.previous_secret_key, r.previous_secret_until) for r in after} == {
            ("old", NOW + DAY)
        }
