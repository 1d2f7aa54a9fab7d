"""The client's rules for calling one of its own legs dead, and its pauses between attempts,
on a fake clock (the watch over real legs is in tests/faults/test_heal_client.py)."""

from __future__ import annotations

import pytest

from media._aiortc_hooks import Heard
from signaling.client_watch import LegWatch, WatchRules, verdict

RULES = WatchRules(media_silence=4.0, quiet_silence=12.0, first_retry=2.0, longest_retry=8.0)


def heard(at: float | None, media_at: float | None = None) -> Heard:
    h = Heard()
    h.at, h.media_at = at, media_at
    return h


def test_a_failed_or_closed_connection_is_dead_at_once() -> None:
    assert verdict("failed", 0.0, heard(1.0, 1.0), 0.0, 1.0, RULES) == "failed"
    assert verdict("closed", 0.0, heard(None), None, 0.0, RULES) == "closed"


def test_a_leg_that_carried_media_is_dead_after_the_media_silence() -> None:
    assert verdict("connected", 0.0, heard(9.0, 5.0), 1.0, 8.9, RULES) is None
    assert verdict("connected", 0.0, heard(9.0, 5.0), 1.0, 9.1, RULES) == "silent"


def test_consent_checks_alone_do_not_keep_a_leg_that_should_carry_media_alive() -> None:
    assert verdict("connected", 0.0, heard(20.0, 5.0), 1.0, 20.0, RULES) == "silent"


def test_a_leg_with_nothing_to_carry_lives_on_consent_checks() -> None:
    assert verdict("connected", 0.0, heard(20.0, 5.0), None, 31.0, RULES) is None
    assert verdict("connected", 0.0, heard(20.0, 5.0), None, 32.5, RULES) == "silent"


def test_a_leg_that_only_now_has_something_to_carry_gets_the_media_silence_from_then() -> None:
    assert verdict("connected", 0.0, heard(20.0, 5.0), 19.0, 22.0, RULES) is None
    assert verdict("connected", 0.0, heard(20.0, 5.0), 19.0, 23.5, RULES) == "silent"


def test_a_leg_that_never_connects_is_dead_after_the_quiet_silence() -> None:
    assert verdict("connecting", 10.0, heard(None), 10.0, 21.0, RULES) is None
    assert verdict("connecting", 10.0, heard(None), 10.0, 22.5, RULES) == "silent"


def test_media_heard_before_the_leg_was_judged_afresh_does_not_count() -> None:
    assert verdict("connected", 10.0, heard(10.5, 9.0), 0.0, 15.0, RULES) is None
    assert verdict("connected", 10.0, heard(10.5, 9.0), 0.0, 23.0, RULES) == "silent"


class FakePc:
    def __init__(self, state: str) -> None:
        self.connectionState = state

    def getTransceivers(self) -> list[object]:
        return []


async def never(_leg: str, _reason: str) -> None:
    raise AssertionError("due() decides; run() rebuilds")


def test_attempts_on_a_dead_leg_are_paused_longer_each_time_up_to_the_longest() -> None:
    now = [0.0]
    watch = LegWatch(RULES, never, clock=lambda: now[0])
    watch.watch("publish", FakePc("failed"))  # type: ignore[arg-type]
    attempts = []
    while now[0] < 40.0:
        if watch.due(now[0]):
            attempts.append(now[0])
        now[0] += 0.5
    assert attempts == [0.0, 2.0, 6.0, 14.0, 22.0, 30.0, 38.0]


def test_a_lost_leg_is_rebuilt_once_within_a_pause() -> None:
    now = [0.0]
    watch = LegWatch(RULES, never, clock=lambda: now[0])
    assert watch.lost("subscribe") is True
    assert watch.lost("subscribe") is False
    now[0] = 2.5
    assert watch.lost("subscribe") is True
    assert watch.lost("nonsense") is False


def test_a_leg_given_up_on_purpose_is_not_rebuilt() -> None:
    watch = LegWatch(RULES, never, clock=lambda: 0.0)
    watch.watch("publish", FakePc("closed"))  # type: ignore[arg-type]
    watch.forget("publish")
    assert watch.due(0.0) == []


def test_the_rules_refuse_times_that_make_no_sense() -> None:
    with pytest.raises(ValueError):
        WatchRules(media_silence=0.0)
    with pytest.raises(ValueError):
        WatchRules(first_retry=10.0, longest_retry=5.0)


def test_a_leg_the_client_replaces_itself_is_not_judged_until_its_successor_is_late() -> None:
    now = [0.0]
    watch = LegWatch(RULES, never, clock=lambda: now[0])
    watch.watch("subscribe", FakePc("connected"))  # type: ignore[arg-type]
    watch.replacing("subscribe")  # a restart: the old connection closes under the watch
    now[0] = 11.5
    assert watch.due(now[0]) == []
    watch.watch("subscribe", FakePc("connected"))  # type: ignore[arg-type]
    now[0] = 12.5
    assert watch.due(now[0]) == []  # the new one is judged afresh


def test_a_replacement_that_never_comes_is_asked_for_again() -> None:
    now = [0.0]
    watch = LegWatch(RULES, never, clock=lambda: now[0])
    watch.replacing("publish")
    now[0] = 12.5
    assert watch.due(now[0]) == [("publish", "not_replaced")]
