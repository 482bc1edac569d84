"""Requests take their turn once, in the order they came (``PAPERWIRE_WEB_THREADS``).

A worker answers a few requests at once (``web_threads``, default 2): its Python runs on
one core's worth of CPU (the GIL), so more at once only stretch every answer. The limit
used to be the size of the thread pool FastAPI runs views in. But a request takes
several turns in that pool (a plain-function dependency, the view, the check of its
JSON answer), and each turn queued again behind every request that had arrived since:
under load a search waited in line three or four times while a cached page did not at
all, so the slowest answers were the ones that needed the most turns (issue 16).

``Admission`` (pure ASGI, just inside the page cache, so a kept page is answered without
waiting) lets ``slots`` requests into the app at a time, first come first served, and a
request keeps its slot until its answer starts; once in, its turns in the thread pool
(no longer the limit) do not queue. A download that streams gives its slot back when
its headers go out.

A request that waits on the network (a submission asking arXiv) lends its slot meanwhile
(``services.waiting.waiting_elsewhere``, through ``REQUEST_SLOTS``).
"""

from __future__ import annotations

import asyncio

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperwire.services.waiting import REQUEST_SLOTS

__all__ = ["Admission"]


class Admission:
    """At most ``slots`` requests inside ``app`` at once; the others wait in order."""

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = slots
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    def limiter(self) -> anyio.CapacityLimiter:
        """The slots of the running event loop (a test client starts a loop per use)."""
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._loop is not loop:
            self._loop, self._limiter = loop, anyio.CapacityLimiter(self.slots)
        return self._limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limiter = self.limiter()
        holder = object()
        await limiter.acquire_on_behalf_of(holder)
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                limiter.release_on_behalf_of(holder)

        async def send_then_give_back(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.start":
                give_back()  # the rest is the body going out (a download: a long while)

        lent = REQUEST_SLOTS.set(limiter)
        try:
            await self.app(scope, receive, send_then_give_back)
        finally:
            REQUEST_SLOTS.reset(lent)
            give_back()
