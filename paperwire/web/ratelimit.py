"""Rate limits (login, sign-up, reset, votes, submits, subscribe) that hold across workers.

The counters live in the deployment's database (``store.ratelimits``: a sliding-window
counter updated by one atomic upsert per hit), so three ``paperwire serve`` workers, or
several hosts, share one limit per key instead of each counting alone.
"""

from __future__ import annotations

import math

from fastapi import HTTPException, Request

from paperwire.store.ratelimits import RateLimitStore


def client_ip(request: Request) -> str:
    """The peer address (behind a reverse proxy run uvicorn with ``--proxy-headers``)."""
    return request.client.host if request.client else "unknown"


def enforce(
    request: Request, limiter: RateLimitStore, key: str, limit: int, window: int, what: str
) -> None:
    """Raise 429 (with ``Retry-After``) when ``key`` is over its limit."""
    wait = limiter.hit(key, limit, window)
    if wait is None:
        return
    seconds = max(1, math.ceil(wait))
    minutes = math.ceil(seconds / 60)
    when = f"{seconds} seconds" if seconds < 120 else f"{minutes} minutes"
    raise HTTPException(
        status_code=429,
        detail=f"Too many {what}. Please wait {when} and try again.",
        headers={"Retry-After": str(seconds)},
    )
