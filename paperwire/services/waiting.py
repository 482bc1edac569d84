"""Waiting on an outside service without holding one of the web server's request slots.

A web worker works on ``PAPERWIRE_WEB_THREADS`` requests at once (a few: the CPU is
one core's worth of Python; ``web.admission``). A request that waits seconds on the
network (a submission asking arXiv for the paper) would hold one of those few slots
doing nothing; two such while arXiv is slow would stall every page of that worker.
Around such a wait, ``waiting_elsewhere`` lends the worker one more slot, given back
after: one more request slot (``REQUEST_SLOTS``, set by the web app for the request) and
one more thread of the pool views run in.

Outside a request thread (the CLI, jobs, tests calling a service directly) it does
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import anyio.from_thread
import anyio.to_thread

__all__ = ["REQUEST_SLOTS", "waiting_elsewhere"]

REQUEST_SLOTS: ContextVar[anyio.CapacityLimiter | None] = ContextVar(
    "paperwire_request_slots", default=None
)
"""The request slots of the web app serving this request (``web.admission``); a thread
the request runs in sees it too (anyio copies the context into its worker threads)."""


def _widen(slots: anyio.CapacityLimiter | None, by: int) -> None:
    for limiter in (slots, anyio.to_thread.current_default_thread_limiter()):
        if limiter is not None:
            limiter.total_tokens = max(1, int(limiter.total_tokens) + by)


@contextmanager
def waiting_elsewhere() -> Iterator[None]:
    """Around a wait on the network in a request thread: one more request may run."""
    slots = REQUEST_SLOTS.get()
    try:
        anyio.from_thread.run_sync(_widen, slots, 1)
    except RuntimeError:  # not in a worker thread of an event loop: nothing to lend
        yield
        return
    try:
        yield
    finally:
        anyio.from_thread.run_sync(_widen, slots, -1)
