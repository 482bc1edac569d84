"""A small in-process sliding-window rate limiter (login, sign-up, reset, votes, submits).

It lives in one process's memory: with several workers (``uvicorn --workers N`` or
several hosts) each keeps its own counts, so the effective limit is N times higher.
Such deployments need a shared limiter (e.g. Redis, or the reverse proxy's) instead.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from fastapi import HTTPException, Request


class RateLimiter:
    """At most ``limit`` hits per key within any ``window`` seconds."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> float | None:
        """Count a hit; None when allowed, else the seconds until one is allowed again
        (a refused hit is not counted)."""
        t = time.monotonic() if now is None else now
        with self._lock:
            self._calls += 1
            if self._calls % 1000 == 0:
                self._prune(t, window)
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= t - window:
                q.popleft()
            if len(q) >= limit:
                return max(0.0, q[0] + window - t)
            q.append(t)
            return None

    def _prune(self, now: float, window: float) -> None:
        stale = [k for k, q in self._hits.items() if not q or q[-1] <= now - window]
        for k in stale:
            del self._hits[k]

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def client_ip(request: Request) -> str:
    """The peer address (behind a reverse proxy run uvicorn with ``--proxy-headers``)."""
    return request.client.host if request.client else "unknown"


def enforce(
    request: Request, limiter: RateLimiter, key: str, limit: int, window: float, what: str
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
