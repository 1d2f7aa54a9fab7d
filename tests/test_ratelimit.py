"""Rate limits per connection, driven by a clock the test moves by hand."""

from __future__ import annotations

from signaling.ratelimit import ConnectionLimits, Rate, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(Rate(per_second=20, burst=50), clock)
    assert sum(bucket.take() for _ in range(80)) == 50
    clock.now += 1.0
    assert sum(bucket.take() for _ in range(80)) == 20


def test_an_idle_bucket_refills_only_up_to_its_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(Rate(per_second=20, burst=50), clock)
    clock.now += 3600
    assert sum(bucket.take() for _ in range(80)) == 50


def test_publish_offers_are_limited_to_five_a_minute() -> None:
    clock = Clock()
    limits = ConnectionLimits(clock)
    assert [limits.allow("publish") for _ in range(6)] == [True] * 5 + [False]
    assert limits.allow("mute")  # other messages still flow
    clock.now += 12.0  # one more offer a twelfth of a minute later
    assert limits.allow("publish")
    assert not limits.allow("publish")


def test_a_connection_that_keeps_sending_too_fast_becomes_abusive() -> None:
    clock = Clock()
    limits = ConnectionLimits(clock)
    for _ in range(50 + 50):  # the message burst, then the refusal allowance
        limits.allow("mute")
    assert not limits.abusive
    limits.allow("mute")
    assert limits.abusive


def test_an_occasional_burst_over_the_rate_is_forgiven() -> None:
    clock = Clock()
    limits = ConnectionLimits(clock)
    for _ in range(10):  # ten bursts of 60 a minute apart: 10 refused each time
        for _ in range(60):
            limits.allow("mute")
        clock.now += 60
    assert not limits.abusive
