"""The retry policy: 5 tries, exponential backoff with jitter, Retry-After honoured and capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from hookyard import retry

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DEFAULT = retry.Policy()
units = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
statuses = st.one_of(
    st.none(), st.integers(min_value=100, max_value=599).filter(lambda s: s != 410)
)


def test_the_default_schedule_is_30s_2min_8min_32min_then_give_up() -> None:
    middle = lambda: 0.5  # noqa: E731 - no jitter at the middle of the band
    waits = []
    for attempt in range(1, 5):
        decision = retry.decide(
            DEFAULT, attempt, succeeded=False, status=500, now=NOW, random=middle
        )
        assert decision.retry_at is not None
        waits.append((decision.retry_at - NOW).total_seconds())
    assert waits == [30.0, 120.0, 480.0, 1920.0]
    last = retry.decide(DEFAULT, 5, succeeded=False, status=500, now=NOW, random=middle)
    assert last.give_up


@given(attempt=st.integers(min_value=1, max_value=4), rand=units, status=statuses)
def test_every_retry_lies_in_the_jitter_band(attempt: int, rand: float, status: int | None) -> None:
    decision = retry.decide(
        DEFAULT, attempt, succeeded=False, status=status, now=NOW, random=lambda: rand
    )
    assert decision.retry_at is not None
    wait = (decision.retry_at - NOW).total_seconds()
    nominal = 30.0 * 4 ** (attempt - 1)
    assert nominal * 0.8 - 1e-9 <= wait <= nominal * 1.2 + 1e-9


@given(attempt=st.integers(min_value=1, max_value=50), rand=units, status=statuses)
def test_a_success_never_retries(attempt: int, rand: float, status: int | None) -> None:
    decision = retry.decide(
        DEFAULT, attempt, succeeded=True, status=status, now=NOW, random=lambda: rand
    )
    assert decision.give_up


@given(
    max_attempts=st.integers(min_value=1, max_value=20),
    attempt=st.integers(min_value=1, max_value=40),
    rand=units,
)
def test_it_gives_up_exactly_at_max_attempts(max_attempts: int, attempt: int, rand: float) -> None:
    policy = retry.Policy(max_attempts=max_attempts)
    decision = retry.decide(policy, attempt, succeeded=False, now=NOW, random=lambda: rand)
    assert decision.give_up == (attempt >= max_attempts)


@given(
    status=st.sampled_from([429, 503]),
    seconds=st.integers(min_value=0, max_value=10_000),
    rand=units,
)
def test_retry_after_is_honoured_up_to_the_cap(status: int, seconds: int, rand: float) -> None:
    decision = retry.decide(
        DEFAULT,
        1,
        succeeded=False,
        status=status,
        retry_after=str(seconds),
        now=NOW,
        random=lambda: rand,
    )
    assert decision.retry_at == NOW + timedelta(seconds=min(seconds, 3600))


@given(seconds=st.integers(min_value=0, max_value=7200))
def test_retry_after_as_an_http_date(seconds: int) -> None:
    header = format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    decision = retry.decide(
        DEFAULT, 2, succeeded=False, status=503, retry_after=header, now=NOW, random=lambda: 0.0
    )
    assert decision.retry_at == NOW + timedelta(seconds=min(seconds, 3600))


@given(header=st.text(max_size=40), status=st.sampled_from([429, 503, 500]), rand=units)
def test_any_retry_after_header_gives_a_time_in_bounds(
    header: str, status: int, rand: float
) -> None:
    decision = retry.decide(
        DEFAULT, 1, succeeded=False, status=status, retry_after=header, now=NOW, random=lambda: rand
    )
    assert decision.retry_at is not None
    assert NOW <= decision.retry_at <= NOW + timedelta(seconds=3600)


def test_retry_after_is_ignored_on_other_statuses() -> None:
    decision = retry.decide(
        DEFAULT, 1, succeeded=False, status=500, retry_after="3000", now=NOW, random=lambda: 0.5
    )
    assert decision.retry_at == NOW + timedelta(seconds=30)


def test_an_unusable_retry_after_falls_back_to_the_backoff() -> None:
    for header in ("soon", "", "-5", "Mon, 99 Foo 2026"):
        decision = retry.decide(
            DEFAULT, 1, succeeded=False, status=429, retry_after=header, now=NOW, random=lambda: 0.5
        )
        assert decision.retry_at == NOW + timedelta(seconds=30), header


@given(attempt=st.integers(min_value=1, max_value=40), rand=units)
def test_410_gone_gives_up_at_once_and_stops_the_record(attempt: int, rand: float) -> None:
    decision = retry.decide(
        DEFAULT, attempt, succeeded=False, status=410, now=NOW, random=lambda: rand
    )
    assert decision.give_up
    assert decision.stop_reason == "410 Gone"


@given(attempt=st.integers(min_value=1, max_value=40), status=statuses, rand=units)
def test_no_other_answer_stops_a_record_by_itself(
    attempt: int, status: int | None, rand: float
) -> None:
    for succeeded in (True, False):
        decision = retry.decide(
            DEFAULT, attempt, succeeded=succeeded, status=status, now=NOW, random=lambda: rand
        )
        assert decision.stop_reason is None
