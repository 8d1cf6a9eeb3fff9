"""A vendor write at most once per key, with several writers at once.

Why: two jobs for one key (two tickets from one unknown sender, a new ticket
and its first reply, a double click in the widget) used to find the key
`started` and write a second time. Now the second waits for the first and
takes its result; a writer that died is taken over only after its claim has
lapsed, and the vendor is asked before writing again. Threads stand for
workers here (each has its own database connection, as processes do); the
process-level proof is in tests/inbox/test_faults_workers.py. Time passing is
a time-machine shift, never a sleep.
"""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from integration.core.leases import lease_kept
from integration.core.side_effects import (
    EFFECT_LEASE,
    SideEffectBusy,
    side_effect_once,
)
from integration.models import SideEffect, SideEffectState


@pytest.fixture
def shop(transactional_db, make_agency, make_shop):
    return make_shop(make_agency("Agency"))


def _in_thread(fn):
    """Run `fn` as another worker would: its own thread and connection."""
    outcome = {}

    def run():
        try:
            outcome["value"] = fn()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_second_writer_waits_for_the_first_and_takes_its_result(shop):
    writing, release = threading.Event(), threading.Event()
    calls = []

    def slow_write():
        calls.append("first write")
        writing.set()
        assert release.wait(20)
        return 42

    first, first_outcome = _in_thread(
        lambda: side_effect_once(shop=shop, key="sender:x", perform=slow_write))
    assert writing.wait(20)
    second, second_outcome = _in_thread(lambda: side_effect_once(
        shop=shop, key="sender:x", perform=lambda: calls.append("second write") or 43,
        find_existing=lambda: calls.append("second looked") or None))
    second.join(0.5)
    assert second.is_alive()  # waiting on the live claim, not writing
    release.set()
    first.join(20)
    second.join(20)
    assert first_outcome == {"value": "42"} and second_outcome == {"value": "42"}
    assert calls == ["first write"]
    effect = SideEffect.objects.get(shop=shop, key="sender:x")
    assert (effect.state, effect.result, effect.claimed_until) == (SideEffectState.DONE, "42",
                                                                   None)


def test_a_killed_writer_s_claim_lapses_and_the_vendor_is_asked_first(shop):
    """The writer died after its call reached the vendor: nobody renews its
    claim. A waiting caller takes over once it has lapsed, finds the result
    at the vendor and does not write again."""
    calls = []
    with time_machine.travel(timezone.now(), tick=True) as clock:
        SideEffect.objects.create(shop=shop, key="sender:y",
                                  claimed_until=timezone.now() + EFFECT_LEASE)
        waiter, outcome = _in_thread(lambda: side_effect_once(
            shop=shop, key="sender:y", perform=lambda: calls.append("write") or 2,
            find_existing=lambda: calls.append("looked") or 1))
        waiter.join(0.5)
        assert waiter.is_alive() and calls == []  # the claim is still live
        clock.shift(EFFECT_LEASE + timedelta(seconds=1))
        waiter.join(20)
    assert outcome == {"value": "1"} and calls == ["looked"]


def test_a_failed_write_releases_its_claim_so_the_retry_looks_then_writes(shop):
    def failing():
        raise TimeoutError("the answer never came")

    with pytest.raises(TimeoutError):
        side_effect_once(shop=shop, key="ticket:1:rcrm_note", perform=failing)
    effect = SideEffect.objects.get(shop=shop, key="ticket:1:rcrm_note")
    assert effect.state == SideEffectState.STARTED and effect.claimed_until is None
    calls = []
    result = side_effect_once(shop=shop, key="ticket:1:rcrm_note",
                              perform=lambda: calls.append("write") or 7,
                              find_existing=lambda: calls.append("looked") or None)
    assert result == "7" and calls == ["looked", "write"]


def test_waiting_too_long_is_a_retryable_error(shop):
    SideEffect.objects.create(shop=shop, key="sender:z",
                              claimed_until=timezone.now() + EFFECT_LEASE)
    with pytest.raises(SideEffectBusy) as raised:
        side_effect_once(shop=shop, key="sender:z", perform=lambda: 1, wait_limit=0.2)
    assert raised.value.retryable and 0 < raised.value.retry_after <= 21
    assert "Another worker" in str(raised.value)


def test_a_stale_result_is_looked_up_again_when_asked(shop):
    calls = []
    side_effect_once(shop=shop, key="sender:w", perform=lambda: 5)
    SideEffect.objects.filter(key="sender:w").update(
        done_at=timezone.now() - timedelta(minutes=11))

    def again(found):
        return side_effect_once(shop=shop, key="sender:w", fresh_for=timedelta(minutes=10),
                                perform=lambda: calls.append("write") or 6,
                                find_existing=lambda: calls.append("looked") or found)

    assert again(None) == "6" and calls == ["looked", "write"]
    assert again(None) == "6" and calls == ["looked", "write"]  # fresh again: stored id
    assert side_effect_once(shop=shop, key="sender:w", perform=lambda: 9) == "6"


def _heartbeat_threads(name):
    return [t for t in threading.enumerate() if t.name == f"{name}-heartbeat"]


def test_a_lease_is_renewed_while_the_work_runs_and_no_longer():
    beats, renewed_thrice = [], threading.Event()

    def renew():
        beats.append(1)
        if len(beats) >= 3:
            renewed_thrice.set()
        return True

    with lease_kept(renew, every=0.01, name="busy"):
        assert renewed_thrice.wait(10)
    assert _heartbeat_threads("busy") == []  # stopped with the work


@pytest.mark.parametrize("why", ["lost", "limit"])
def test_renewing_stops_when_the_lease_is_lost_or_at_the_time_limit(why):
    beats = []

    def renew():
        beats.append(1)
        return why != "lost"

    with lease_kept(renew, every=0.01, limit=0.05 if why == "limit" else None, name=why):
        # On a busy machine the heartbeat may have stopped before we look:
        # wait for whichever are still alive, then none may be left.
        for thread in _heartbeat_threads(why):
            thread.join(10)
        assert _heartbeat_threads(why) == []  # the work goes on; the heartbeat has stopped
    assert len(beats) == 1 if why == "lost" else len(beats) <= 10
