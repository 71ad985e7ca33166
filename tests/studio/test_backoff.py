"""The backoff of job-state transactions: exponential from first_s, capped, jittered, and finite after any outage."""

from __future__ import annotations

from studio.tasks import backoff_s


def test_backoff_grows_from_the_first_delay_to_the_cap_with_jitter() -> None:
    for retry, full in ((0, 0.25), (1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (9, 5.0)):
        delays = [backoff_s(retry) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in delays), (retry, min(delays), max(delays))
        assert max(delays) - min(delays) > full * 0.2  # jittered: retries of many workers do not march together


def test_backoff_stays_capped_after_thousands_of_retries() -> None:
    # About 12 hours of outage at the cap: 2.0**retry alone would overflow a float here.
    assert all(2.5 <= backoff_s(retry) <= 5.0 for retry in (1023, 1024, 5000, 10**6))
