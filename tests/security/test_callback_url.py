"""Callback URL validation: the text of the URL, before anything is sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors
from hookyard.callback_url import MAX_LENGTH, validate_callback_url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "must be an absolute https:// URL"),
        (None, "must be an absolute https:// URL"),
        (42, "must be an absolute https:// URL"),
        ("/relative/path", "must be an absolute http:// or https:// URL"),
        ("hooks.example.com/path", "must be an absolute http:// or https:// URL"),
        ("ftp://hooks.example.com/", "must be an absolute http:// or https:// URL"),
        ("file:///etc/passwd", "must be an absolute http:// or https:// URL"),
        ("gopher://hooks.example.com/", "must be an absolute http:// or https:// URL"),
        ("https:///path", "must be an absolute http:// or https:// URL"),
        ("https://user:pass@hooks.example.com/", "must not contain a user name or password"),
        ("https://user@hooks.example.com/", "must not contain a user name or password"),
        ("https://@hooks.example.com/", "must not contain a user name or password"),
        ("https://hooks.example.com:99999/", "is not a valid URL"),
        ("https://hooks.example.com:port/", "is not a valid URL"),
        ("https://[::1/", "is not a valid URL"),
        ("https://hooks example.com/", "must not contain spaces or control characters"),
        ("https://hooks.example.com/\r\nX-Injected: 1", "must not contain spaces or control"),
        ("https://hooks.example.com/" + "a" * MAX_LENGTH, "must be at most 2048 characters"),
    ],
)
def test_bad_urls_are_refused_with_what_to_fix(url: object, message: str) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        validate_callback_url(url, require_https=False)
    assert message in caught.value.detail
    assert caught.value.detail.startswith("url: ")
    assert list(caught.value.errors) == ["url"]


def test_http_is_refused_when_https_is_required() -> None:
    with pytest.raises(errors.InvalidInput, match=r"must use https:// \(this server requires"):
        validate_callback_url("http://hooks.example.com/hook", require_https=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/hook",
        "https://hooks.example.com:8443/hook?tenant=1&x=%20",
        "HTTPS://Hooks.Example.com/hook",
        "https://[2606:4700::1111]/hook",
        "https://hooks.example.com/" + "a" * (MAX_LENGTH - len("https://hooks.example.com/")),
    ],
)
def test_good_urls_come_back_unchanged(url: str) -> None:
    assert validate_callback_url(url, require_https=True) == url


def test_plain_http_is_accepted_unless_https_is_required() -> None:
    url = "http://127.0.0.1:8080/hook"
    assert validate_callback_url(url, require_https=False) == url


@given(text=st.text(max_size=300))
def test_any_text_is_either_accepted_unchanged_or_an_invalid_input(text: str) -> None:
    try:
        result: str | None = validate_callback_url(text, require_https=False)
        problems: list[str] = []
    except errors.InvalidInput as exc:
        result, problems = None, exc.errors["url"]
    if result is None:
        assert problems
    else:
        assert result == text
        assert text.lower().startswith(("http://", "https://"))
