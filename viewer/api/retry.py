"""When and how long to wait before trying a GET again.

A pure policy object: it decides, the client sleeps (through an injectable ``sleep`` so tests never
wait). Exponential backoff with "full jitter" on the upper half, capped; a server's ``Retry-After``
wins when it is present and not absurdly long.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable

#: HTTP statuses worth retrying for an idempotent GET.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4  # first try included
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: longest Retry-After we are willing to sit through; longer means give up and tell the user
    max_retry_after: float = 30.0
    #: once a request has used up its retries on a transient failure, requests failing the same
    #: way within this many seconds fail at once: when the server is gone, every caller learns it
    #: now instead of each sitting through its own backoff (a success ends this at once)
    fail_fast_s: float = 15.0
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Delay before try number ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + self.random() * ceiling / 2

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try, or None when we should stop trying."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(0.0, retry_after)
        return self.backoff(attempt)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())
