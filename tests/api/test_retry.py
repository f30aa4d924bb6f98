from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from viewer.api.retry import RetryPolicy, parse_retry_after


def test_backoff_grows_is_capped_and_jittered():
    low = RetryPolicy(random=lambda: 0.0, base_delay=1, max_delay=4)
    high = RetryPolicy(random=lambda: 1.0, base_delay=1, max_delay=4)
    assert [low.backoff(a) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 2.0]
    assert [high.backoff(a) for a in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 4.0]


def test_delay_stops_after_max_attempts_and_honours_retry_after():
    policy = RetryPolicy(max_attempts=3, random=lambda: 0.5, max_retry_after=10)
    assert policy.delay(1, None) is not None and policy.delay(2, 7.0) == 7.0
    assert policy.delay(3, None) is None
    assert policy.delay(1, 11.0) is None  # too long to sit through: tell the user instead


def test_parse_retry_after_seconds_and_http_date():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=20), usegmt=True), now) == 20.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
