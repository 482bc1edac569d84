"""``HEAD`` for every page that answers ``GET``.

FastAPI routes declared for ``GET`` answer ``HEAD`` with 405, so uptime monitors, link
checkers and ``curl -I`` reported a working site as broken. ``HeadAsGet`` (pure ASGI,
outermost) runs a ``HEAD`` request as the ``GET`` it stands for and sends the status
and headers of that answer (``Content-Length`` included, as HTTP asks) without its
body. Views never see ``HEAD``: one definition per page, and ``GET`` views are safe.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet"]


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def without_body(message: Message) -> None:
            nonlocal finished
            if message["type"] != "http.response.body":
                await send(message)
            elif not finished and not message.get("more_body", False):
                finished = True
                await send({"type": "http.response.body", "body": b""})

        await self.app({**scope, "method": "GET"}, receive, without_body)
