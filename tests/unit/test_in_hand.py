"""What a worker holds: each operation, then random sequences of them against a simple model."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hookyard.delivery.in_hand import InHand
from hookyard.store.queue import Claimed

A = "a.test:443"
B = "b.test:443"


def claimed(delivery_id: str, host: str = A, lease: str = "L1") -> Claimed:
    return Claimed(
        delivery_id, "sub_1", host, 0, f"https://{host}/hook", b"{}", "sealed", lease=lease
    )


def test_taking_opens_lanes_up_to_the_limit_then_queues_behind_them() -> None:
    hand = InHand(lanes_per_host=2)
    opened = [hand.take(claimed(f"d{i}")) for i in range(4)]
    assert opened == [True, True, False, False]
    assert hand.take(claimed("e1", B)) is True
    assert (hand.lanes(A), hand.waiting(A), hand.lanes(B), hand.waiting(B)) == (2, 4, 1, 1)
    assert hand.per_host() == {A: 4, B: 1}
    assert len(hand) == 5


def test_a_lane_takes_its_hosts_tries_in_claim_order_and_none_when_none_waits() -> None:
    hand = InHand(lanes_per_host=1)
    for i in range(3):
        hand.take(claimed(f"d{i}"))
    assert [job.id for job in iter(lambda: hand.next(A), None)] == ["d0", "d1", "d2"]
    assert hand.next(A) is None
    assert hand.next(B) is None
    assert len(hand) == 3, "a try taken by a lane is in hand until it is done"


def test_done_says_how_many_of_the_host_remain_and_forgets_a_host_at_zero() -> None:
    hand = InHand(lanes_per_host=4)
    first, second = claimed("d1"), claimed("d2")
    hand.take(first)
    hand.take(second)
    hand.take(claimed("e1", B))
    assert hand.done(first) == 1
    assert hand.done(second) == 0
    assert hand.per_host() == {B: 1}
    assert hand.busiest() == 1


def test_a_try_is_done_once_and_taken_once() -> None:
    hand = InHand(lanes_per_host=1)
    job = claimed("d1")
    hand.take(job)
    with pytest.raises(ValueError, match="already in hand"):
        hand.take(job)
    hand.done(job)
    with pytest.raises(KeyError, match="not in hand"):
        hand.done(job)
    assert hand.per_host() == {}
    assert len(hand) == 0


def test_a_delivery_claimed_again_under_a_new_lease_is_two_tries_and_leaves_no_count() -> None:
    """The phantom count: a try outlives its lease, the same worker claims the delivery again."""
    hand = InHand(lanes_per_host=1)
    old, new = claimed("d1", lease="L1"), claimed("d1", lease="L2")
    hand.take(old)
    assert hand.next(A) == old
    hand.take(new)
    assert hand.per_host() == {A: 2}
    assert hand.done(old) == 1
    assert hand.next(A) == new
    assert hand.done(new) == 0
    assert hand.per_host() == {}


def test_a_lease_is_renewed_until_its_own_try_is_recorded() -> None:
    hand = InHand(lanes_per_host=1)
    old, new = claimed("d1", lease="L1"), claimed("d1", lease="L2")
    hand.take(old)
    hand.take(claimed("d2", lease="L9"))
    assert hand.leases() == {"d1": "L1", "d2": "L9"}
    hand.take(new)
    assert hand.leases() == {"d1": "L2", "d2": "L9"}
    hand.done(old)
    hand.recorded("d1", "L1")
    assert hand.leases() == {"d1": "L2", "d2": "L9"}, "the new claim keeps its lease"
    hand.recorded("d1", "L2")
    assert hand.leases() == {"d2": "L9"}, "recorded before done: the lease still goes"


def test_a_try_cut_short_is_abandoned_and_still_done() -> None:
    hand = InHand(lanes_per_host=1)
    job = claimed("d1", lease="L1")
    hand.take(job)
    hand.abandon(hand.next(A) or job)
    assert hand.abandoned() == {"d1": "L1"}
    assert len(hand) == 1
    hand.done(job)
    hand.close_lane(A)
    assert (len(hand), hand.lanes(A)) == (0, 0)


def test_of_two_tries_of_one_delivery_cut_short_the_latest_claims_lease_is_returned() -> None:
    hand = InHand(lanes_per_host=2)
    old, new = claimed("d1", lease="L1"), claimed("d1", lease="L2")
    hand.take(old)
    hand.take(new)
    hand.abandon(new)
    hand.abandon(old)
    assert hand.abandoned() == {"d1": "L2"}, "L1 ran out and is no longer held"


def test_at_stop_the_tries_still_waiting_are_given_up_untried() -> None:
    hand = InHand(lanes_per_host=1)
    for i in range(3):
        hand.take(claimed(f"d{i}", lease=f"L{i}"))
    sending = hand.next(A)
    assert sending is not None
    hand.close_lane(A)  # the lane was cancelled
    assert hand.abandon_waiting() == 2
    assert hand.abandoned() == {"d1": "L1", "d2": "L2"}
    assert hand.per_host() == {A: 1}, "the try under way is done by its lane, not here"
    assert hand.waiting(A) == 0
    hand.done(sending)
    assert hand.per_host() == {}


def test_closing_lanes() -> None:
    hand = InHand(lanes_per_host=2)
    hand.take(claimed("d1"))
    hand.take(claimed("d2"))
    hand.close_lane(A)
    assert hand.lanes(A) == 1
    hand.close_lane(A)
    with pytest.raises(ValueError, match="no lane open"):
        hand.close_lane(A)
    assert hand.take(claimed("d3")) is True, "a host whose lanes closed gets one again"


def test_a_host_needs_a_lane() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InHand(lanes_per_host=0)


LANES = 2
HOSTS = ("a.test:443", "b.test:443", "c.test:80")
IDS = ("d1", "d2", "d3", "d4")
Key = tuple[str, str]


class InHandMachine(RuleBasedStateMachine):
    """Drives an `InHand` the way a worker could (and some ways it must not), beside a model
    made of plain sets and lists."""

    def __init__(self) -> None:
        super().__init__()
        self.hand = InHand(lanes_per_host=LANES)
        self.leases = (f"L{n}" for n in itertools.count())
        self.jobs: dict[Key, Claimed] = {}
        self.held: set[Key] = set()
        self.queued: dict[str, list[Key]] = {host: [] for host in HOSTS}
        self.sending: set[Key] = set()
        self.lanes: Counter[str] = Counter()
        self.leased: dict[str, str] = {}
        self.ended: set[Key] = set()
        self.abandoned: set[Key] = set()
        self.latest: dict[str, str] = {}

    def _forget(self, key: Key) -> None:
        self.held.discard(key)
        self.sending.discard(key)

    def _idle_lanes(self) -> list[str]:
        """Hosts with a lane open that is not sending (a lane sends one try at a time)."""
        busy = Counter(self.jobs[key].host for key in self.sending)
        return [host for host in HOSTS if self.lanes[host] > busy[host]]

    @rule(host=st.sampled_from(HOSTS), delivery_id=st.sampled_from(IDS))
    def take(self, host: str, delivery_id: str) -> None:
        job = claimed(delivery_id, host, next(self.leases))
        key = (job.id, job.lease)
        self.jobs[key] = job
        opens = self.lanes[host] < LANES
        assert self.hand.take(job) is opens
        self.held.add(key)
        self.queued[host].append(key)
        self.leased[job.id] = self.latest[job.id] = job.lease
        self.lanes[host] += opens

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def take_a_try_in_hand_again(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.held)))
        with pytest.raises(ValueError, match="already in hand"):
            self.hand.take(self.jobs[key])

    @precondition(lambda self: self._idle_lanes())
    @rule(data=st.data())
    def a_lane_takes_the_next(self, data: st.DataObject) -> None:
        host = data.draw(st.sampled_from(self._idle_lanes()))
        job = self.hand.next(host)
        if not self.queued[host]:
            assert job is None
            self.hand.close_lane(host)
            self.lanes[host] -= 1
            return
        key = self.queued[host].pop(0)
        assert job == self.jobs[key]
        self.sending.add(key)

    @precondition(lambda self: self.sending)
    @rule(data=st.data())
    def a_try_ends(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.sending)))
        job = self.jobs[key]
        self._forget(key)
        self.ended.add(key)
        assert self.hand.done(job) == sum(self.jobs[k].host == job.host for k in self.held)

    @precondition(lambda self: self.sending)
    @rule(data=st.data())
    def a_try_is_cancelled_with_its_lane(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.sending)))
        job = self.jobs[key]
        self.hand.abandon(job)
        self.hand.done(job)
        self.hand.close_lane(job.host)
        self._forget(key)
        self.abandoned.add(key)
        self.lanes[job.host] -= 1

    @precondition(lambda self: self.ended)
    @rule(data=st.data())
    def a_try_is_recorded(self, data: st.DataObject) -> None:
        delivery_id, lease = data.draw(st.sampled_from(sorted(self.ended)))
        self.hand.recorded(delivery_id, lease)
        if self.leased.get(delivery_id) == lease:
            del self.leased[delivery_id]

    @precondition(lambda self: set(self.jobs) - self.held)
    @rule(data=st.data())
    def a_try_not_in_hand_is_done_again(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(set(self.jobs) - self.held)))
        with pytest.raises(KeyError):
            self.hand.done(self.jobs[key])

    @rule(host=st.sampled_from(HOSTS))
    def a_lane_not_open_is_closed(self, host: str) -> None:
        if self.lanes[host]:
            return
        with pytest.raises(ValueError, match="no lane open"):
            self.hand.close_lane(host)

    @rule()
    def stop(self) -> None:
        waiting = [key for host in HOSTS for key in self.queued[host]]
        assert self.hand.abandon_waiting() == len(waiting)
        for key in waiting:
            self._forget(key)
            self.abandoned.add(key)
        self.queued = {host: [] for host in HOSTS}

    @invariant()
    def counts_per_host_are_what_is_held(self) -> None:
        expected = Counter(self.jobs[key].host for key in self.held)
        assert self.hand.per_host() == dict(expected)
        assert 0 not in self.hand.per_host().values()
        assert len(self.hand) == len(self.held) == sum(self.hand.per_host().values())
        assert self.hand.busiest() == max(expected.values(), default=0)

    @invariant()
    def a_try_waits_or_is_sent_only_while_held(self) -> None:
        queued = [key for host in HOSTS for key in self.queued[host]]
        assert len(queued) == len(set(queued))
        assert set(queued) | self.sending <= self.held
        assert not set(queued) & self.sending
        for host in HOSTS:
            assert self.hand.waiting(host) == len(self.queued[host])

    @invariant()
    def lanes_stay_within_the_limit(self) -> None:
        for host in HOSTS:
            assert self.hand.lanes(host) == self.lanes[host]
            assert 0 <= self.lanes[host] <= LANES

    @invariant()
    def leases_to_renew_are_those_not_recorded(self) -> None:
        assert self.hand.leases() == self.leased

    @invariant()
    def a_lease_given_up_is_returned_and_the_one_held_wins(self) -> None:
        """At most one lease per delivery is returned, and the database's (the delivery's latest
        claim) when its try was given up; an older one has run out, and the database ignores it.
        """
        returned = self.hand.abandoned()
        assert set(returned.items()) <= self.abandoned
        for delivery_id, lease in self.latest.items():
            if (delivery_id, lease) in self.abandoned:
                assert returned[delivery_id] == lease


InHandMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
test_in_hand_keeps_its_counts_through_any_sequence = InHandMachine.TestCase
