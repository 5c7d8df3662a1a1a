"""The SSRF matrix, run by `probe.py` inside a private network namespace with only `lo` up.

Every case goes through the real guarded aiohttp session twice, as the challenge (GET) and as a
delivery (a POST by the real `delivery.sender.Sender`), against real listeners: `lo` in the
namespace carries 10.0.0.5, 169.254.169.254, 192.168.1.1, 100.64.0.1 and fd00::5, a receiver
listens on all of them, and a real DNS server answers for the `.test` names. The controls prove
the listeners answer when the operator allows them, so a refusal here is the guard's doing and a
broken guard would show up as a hit.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.security import netns
from tests.security.ssrf_cases import CASES, FLIP_ANSWERS, Case

pytestmark = [pytest.mark.netns, pytest.mark.xdist_group("netns")]


def test_the_matrix_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_refused_at_challenge_subscribe_and_delivery_with_the_reason(
    ssrf_results: dict[str, Any], case: Case
) -> None:
    result = ssrf_results["cases"][case.id]
    assert result["validated"] is True, "the URL's shape is fine: the address is what is refused"
    for stage in ("challenge", "subscribe", "delivery"):
        refused = result[stage].get("refused", "")
        assert refused.startswith("address not allowed: "), f"{stage}: {result[stage]}"
        assert case.reason in refused, f"{stage}: {refused}"


def test_no_case_reached_a_listener(ssrf_results: dict[str, Any]) -> None:
    assert ssrf_results["case_hits"] == 0


def test_the_listeners_answer_when_the_operator_allows_them(ssrf_results: dict[str, Any]) -> None:
    controls = ssrf_results["controls"]
    for name in ("v4", "dns", "v6"):
        assert controls[name] == {"status": 200}
        assert controls[f"{name}_hits"] == 1


def test_a_public_address_passes_the_guard_and_goes_nowhere(ssrf_results: dict[str, Any]) -> None:
    public = ssrf_results["controls"]["public"]
    assert "refused" not in public
    assert "Network is unreachable" in public["error"]


def test_a_dns_answer_that_flips_after_the_check_cannot_redirect(
    ssrf_results: dict[str, Any],
) -> None:
    flip = ssrf_results["flip"]
    assert flip["guarded"] == {"status": 200}
    assert flip["lookups"] == 1
    assert flip["first_hits"] == 1
    assert flip["second_hits"] == 0
    assert flip["later_answer"] == FLIP_ANSWERS[1], "the DNS server did flip"


def test_the_flip_does_redirect_a_naive_check_then_connect(ssrf_results: dict[str, Any]) -> None:
    flip = ssrf_results["flip"]
    assert flip["naive"] == {"status": 200}
    assert flip["naive_second_hits"] == 1


@pytest.mark.parametrize("path", ["/redirect/private", "/redirect/metadata", "/redirect/dns"])
def test_a_redirect_to_a_private_address_is_not_followed(
    ssrf_results: dict[str, Any], path: str
) -> None:
    result = ssrf_results["redirects"][path]
    assert result["request"] == {"status": 302}
    assert "redirects are never followed" in result["session_get"]["refused"]
    assert result["sender"]["outcome"] == "http_error"
    assert result["sender"]["status"] == 302
    assert "not followed" in result["sender"]["error"]


def test_nothing_landed_behind_a_redirect(ssrf_results: dict[str, Any]) -> None:
    redirects = ssrf_results["redirects"]
    assert redirects["landed_guarded"] == 0
    assert redirects["unguarded_follows"] == {"status": 200}
    assert redirects["landed_private"] == 1, "only the unguarded control session got there"


def test_the_namespace_has_only_lo(namespace: netns.Namespace) -> None:
    assert namespace.links() == ["lo"]


def test_a_namespace_is_gone_after_remove(namespace: netns.Namespace) -> None:
    extra = netns.create([], [])
    netns.remove(extra)
    assert extra.name not in netns.listed()
    assert namespace.name in netns.listed()
    assert not (netns.NETNS_ETC / extra.name).exists()
